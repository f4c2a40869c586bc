// Emergency access in Debian's chromium: a caseworker of the harbour trust, signed in for case
// work, opens a client the trust does not hold and no agreement lets it see; the page refuses,
// offers emergency access, asks for a reason when none is given, then opens the record with a
// banner. A governance user finds the access in the review queue, is asked to choose an
// outcome, and records it. Every page is checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/break_glass.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('a caseworker opens a record in an emergency and governance reviews it', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-break-glass-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 6);
  // A client the city registered and the harbour trust does not know.
  const client = (await execFileAsync('sqlite3', [env.ONEDOOR_DB,
    "SELECT min(p.id) FROM persons p WHERE p.created_agency = (SELECT id FROM agencies WHERE code = 'city-social') "
    + 'AND NOT EXISTS (SELECT 1 FROM source_records s WHERE s.person_id = p.id AND s.agency_id = '
    + "(SELECT id FROM agencies WHERE code = 'harbour-trust'))"])).stdout.trim();
  assert.match(client, /^\d+$/);

  const server = await startServer({ binary, args: ['serve'], env, logDir: tmp });
  t.after(() => server.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const context = await browser.newContext({ baseURL: server.url, bypassCSP: true });
  context.setDefaultTimeout(kActionTimeoutMs);
  context.setDefaultNavigationTimeout(kActionTimeoutMs);
  const page = await context.newPage();
  let step = 0;
  const shot = (name) =>
    page.screenshot({ path: path.join(tmp, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });
  const field = (label) => page.getByLabel(label, { exact: true });

  async function signIn(username, purpose) {
    await page.goto('/login');
    await field('Username').fill(username);
    await field('Password').fill('demo-password-1');
    await page.locator('#purpose').selectOption(purpose);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
  }

  await signIn('caseworker.ngo', 'case_work');
  const refused = await page.goto(`/clients/${client}`);
  assert.equal(refused.status(), 403);
  await page.getByRole('heading', { level: 1, name: 'You cannot see this client' }).waitFor();
  assert.match(await page.locator('main').textContent(), /does not hold this person/);
  await checkA11y(page, 'refused client page');
  await shot('refused');

  // No reason: asked for one.
  await page.getByRole('button', { name: 'Open the record in an emergency' }).click();
  await page.locator('.govuk-error-summary').waitFor({ state: 'visible' });
  assert.match(await page.locator('.govuk-error-summary').textContent(), /10 to 500 characters/);
  await checkA11y(page, 'emergency access without a reason');

  await field('Why do you need this record now?').fill('Came to the drop-in confused and unwell; need her contacts');
  await page.getByRole('button', { name: 'Open the record in an emergency' }).click();
  await page.getByRole('heading', { level: 2, name: 'Emergency access' }).waitFor();
  assert.match(await page.locator('main').textContent(), /recorded and will be reviewed/);
  assert.match(await page.locator('main').textContent(), /Case notes/);  // black: still withheld
  await checkA11y(page, 'client opened in an emergency');
  await shot('opened');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();

  await signIn('governance.city', 'service_delivery');
  await page.getByRole('link', { name: 'Emergency accesses', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Emergency accesses' }).waitFor();
  const card = page.locator('[data-testid^="access-"]');
  assert.equal(await card.count(), 1);
  assert.match(await card.textContent(), /caseworker\.ngo of Harbour Community Trust/);
  assert.match(await card.textContent(), /confused and unwell/);
  await checkA11y(page, 'review queue');
  await shot('queue');
  await page.getByRole('button', { name: 'Record the review' }).click();
  await page.locator('.govuk-error-summary').waitFor({ state: 'visible' });
  assert.match(await page.locator('.govuk-error-summary').textContent(), /Choose whether the access was justified/);
  await checkA11y(page, 'review without an outcome');
  await page.getByLabel('Justified', { exact: true }).check();
  await page.getByRole('button', { name: 'Record the review' }).click();
  await page.getByText('Review recorded').waitFor();
  await page.getByTestId('empty').waitFor();
  await checkA11y(page, 'review queue after the review');
  await shot('reviewed');
  const state = (await execFileAsync('sqlite3', [env.ONEDOOR_DB,
    'SELECT state || \' \' || reviewer FROM break_glass_accesses'])).stdout.trim();
  assert.equal(state, 'justified governance.city');
});
