// Sharing agreements in Debian's chromium: anyone reads the public register without signing
// in; a governance user tries to refuse a pending proposal without a reason (the page asks for
// one), approves it, proposes another (with a mistake first), and the register then shows the
// approved agreement to someone who is not signed in. Every page is checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/agreements.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('a governance user approves a pending agreement and the public register shows it', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-agreements-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 6);
  const pending = (await execFileAsync('sqlite3', [env.ONEDOOR_DB,
    "SELECT id FROM sharing_agreements WHERE state = 'proposed' AND category = 'household'"])).stdout.trim();
  assert.match(pending, /^\d+$/, 'the demo data has a pending household agreement');

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
  const registerRows = () => page.locator('[data-testid="register"] tbody tr');

  // The register, not signed in: the demo's fourteen agreements in force, not the pending one.
  await page.goto('/agreements');
  await page.getByRole('heading', { level: 1, name: 'Register of sharing agreements' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
  assert.equal(await registerRows().count(), 14);
  assert.equal(await page.locator(`#agreement-${pending}`).count(), 0);
  assert.match(await registerRows().nth(1).textContent(), /State Benefits Agency[\s\S]*Income[\s\S]*Grey/);
  await shot('register-before');
  await checkA11y(page, 'public register');

  // A governance user signs in and opens the governance page from the navigation.
  await page.goto('/login');
  await field('Username').fill('governance.city');
  await field('Password').fill('demo-password-1');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
  await page.getByRole('link', { name: 'Sharing agreements', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Sharing agreements' }).waitFor();
  const card = page.getByTestId(`pending-${pending}`);
  assert.match(await card.locator('h3').textContent(), /Regional Health Authority to receive Household/);
  assert.match(await card.textContent(), /Health and Care Act s\.82/);
  assert.match(await card.textContent(), /0 of 1/);
  await shot('governance');
  await checkA11y(page, 'governance page');

  // Refusing needs a reason: the page says so at the agreement's reason box.
  await card.getByRole('button', { name: `Refuse agreement ${pending}` }).click();
  await page.locator('.govuk-error-summary').waitFor();
  assert.match(await page.locator('.govuk-error-summary').textContent(),
    new RegExp(`Enter the reason for refusing agreement ${pending}`));
  await shot('refuse-without-reason');
  await checkA11y(page, 'governance page with an error');
  await page.locator('.govuk-error-summary a').click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), `reason-${pending}`);

  // Approve: one approval is enough for white-class data.
  await page.locator(`#reason-${pending}`).fill('Discharge planning is covered by the regional protocol.');
  await page.getByTestId(`pending-${pending}`).getByRole('button', { name: `Approve agreement ${pending}` }).click();
  await page.locator('.govuk-notification-banner').waitFor();
  assert.match(await page.locator('.govuk-notification-banner').textContent(),
    new RegExp(`Agreement ${pending} approved`));
  assert.equal(await page.getByTestId(`pending-${pending}`).count(), 0);
  const approvedCard = page.getByTestId(`approved-${pending}`);
  assert.match(await approvedCard.textContent(), /In force/);
  assert.match(await approvedCard.textContent(), /governance\.city/);
  await shot('approved');
  await checkA11y(page, 'governance page after approval');

  // Propose another: a missing legal basis first, then complete.
  await page.getByRole('button', { name: 'Propose an agreement' }).click();
  await page.getByRole('heading', { level: 1, name: 'Propose a sharing agreement' }).waitFor();
  await checkA11y(page, 'proposal form');
  assert.match(await page.locator('.govuk-inset-text').textContent(), /Justice, Child protection and Case notes data is black-class/);
  await page.locator('#receiving_agency_id').selectOption({ label: 'Harbour Community Trust' });
  await page.getByLabel('Housing', { exact: true }).check();
  await page.getByLabel('Case work', { exact: true }).check();
  await field('What the receiving agency will use the data for').fill('To support tenancy sustainment with shared clients.');
  await page.getByRole('button', { name: 'Propose the agreement' }).click();
  await page.locator('.govuk-error-summary').waitFor();
  assert.match(await page.locator('.govuk-error-summary').textContent(), /Enter the legal basis, or consent/);
  await shot('proposal-error');
  await checkA11y(page, 'proposal form with an error');
  assert.equal(await page.getByLabel('Housing', { exact: true }).isChecked(), true, 'the form keeps the answers');
  await field('Legal basis').fill('consent');
  await page.getByRole('button', { name: 'Propose the agreement' }).click();
  await page.locator('.govuk-notification-banner').waitFor();
  assert.match(await page.locator('.govuk-notification-banner').textContent(), /proposed/);
  assert.match(await page.locator('[data-testid^="pending-"]').last().textContent(),
    /Harbour Community Trust to receive Housing[\s\S]*Shared only for people who consented/);
  await shot('proposed');

  // Signed out, the register shows the approved agreement and not the new proposal.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await page.getByRole('link', { name: 'Register of sharing agreements' }).click();
  await page.getByRole('heading', { level: 1, name: 'Register of sharing agreements' }).waitFor();
  assert.equal(await registerRows().count(), 15);
  const row = page.locator(`#agreement-${pending}`);
  assert.match(await row.textContent(), /Regional Health Authority[\s\S]*Household[\s\S]*Case work/);
  assert.ok(!(await registerRows().allTextContents()).some((text) => text.includes('Housing')));
  assert.doesNotMatch(await page.locator('main').textContent(), /governance\.(city|health)/);
  await shot('register-after');
  await checkA11y(page, 'public register after approval');
});
