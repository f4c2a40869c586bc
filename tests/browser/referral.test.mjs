// A referral in Debian's chromium: a caseworker of the city records a client's consent on the
// client's page, refers the client to the state benefits agency (the form first sent empty, to
// see its errors), and the state's caseworker finds it among the agency's referrals, accepts
// it, starts work and completes it (asked for the outcome first). The city sees it completed on
// the client's page. Every page is checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/referral.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('a client is referred with consent, and the other agency accepts, works and completes it', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-referral-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 6);
  const client = (await execFileAsync('sqlite3', [env.ONEDOOR_DB,
    "SELECT min(id) FROM persons WHERE created_agency = (SELECT id FROM agencies WHERE code = 'city-social')"]))
    .stdout.trim();
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
  const button = (name) => page.getByRole('button', { name, exact: true });

  async function signIn(username, purpose) {
    await page.goto('/login');
    await field('Username').fill(username);
    await field('Password').fill('demo-password-1');
    await page.locator('#purpose').selectOption(purpose);
    await button('Sign in').click();
    await button('Sign out').waitFor();
  }

  // The city records the client's consent to share their identity and contact details.
  await signIn('caseworker.city', 'case_work');
  await page.goto(`/clients/${client}`);
  const name = (await page.locator('h1').textContent()).trim();
  await page.getByRole('button', { name: 'Record a consent' }).click();
  await page.getByRole('heading', { level: 1, name: `Record ${name}'s consent` }).waitFor();
  await checkA11y(page, 'consent form');
  await field('Who may receive it').selectOption({ label: 'State Benefits Agency' });
  await field('Identity').check();
  await field('Contact details').check();
  await field('Reference of the signed form').fill('SIGNED-2026-77');
  await button('Record the consent').click();
  await page.getByText('Consent recorded').waitFor();
  await checkA11y(page, 'consent receipt');
  await shot('consent');

  // Then refers them: the empty form first.
  await page.goto(`/clients/${client}`);
  await page.getByRole('button', { name: 'Refer to another agency' }).click();
  await page.getByRole('heading', { level: 1, name: `Refer ${name} to another agency` }).waitFor();
  await checkA11y(page, 'referral form');
  await button('Send the referral').click();
  await page.locator('.govuk-error-summary').waitFor({ state: 'visible' });
  const summary = await page.locator('.govuk-error-summary').textContent();
  assert.match(summary, /Choose the agency to refer the person to/);
  assert.match(summary, /Choose routine, soon or urgent/);
  await checkA11y(page, 'referral form with errors');
  await shot('referral-errors');
  await field('Agency to refer to').selectOption({ label: 'State Benefits Agency' });
  await field('Urgent: by the next working day').check();
  await field('What the client needs, and why').fill('Lost their job on Monday; no money for food this week.');
  await page.locator('input[name="consent_id"]').first().check();
  await button('Send the referral').click();
  await page.getByText('Referral sent').waitFor();
  assert.equal((await page.getByTestId('state').textContent()).trim(), 'Sent');
  await checkA11y(page, 'referral sent');
  await shot('sent');
  await button('Sign out').click();

  // The state finds it among its referrals and answers it.
  await signIn('caseworker.state', 'case_work');
  await page.getByRole('link', { name: 'Referrals', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Referrals' }).waitFor();
  await checkA11y(page, 'referrals received');
  await shot('inbox');
  await page.getByTestId('referrals').getByRole('link', { name }).click();
  assert.match(await page.getByTestId('message').textContent(), /no money for food/);
  for (const [action, state] of [['Accept', 'Accepted'], ['Start work', 'In progress']]) {
    await field(action).check();
    await button('Save').click();
    await page.getByTestId('state').filter({ hasText: state }).waitFor();
  }
  await checkA11y(page, 'referral in progress');
  await field('Complete').check();
  await button('Save').click();
  await page.locator('.govuk-error-summary').waitFor({ state: 'visible' });
  assert.match(await page.locator('.govuk-error-summary').textContent(), /Say what came of the referral/);
  await checkA11y(page, 'completing without an outcome');
  await field('Complete').check();
  await field('Reason, outcome or note').fill('Food voucher and an emergency payment the same day.');
  await button('Save').click();
  await page.getByTestId('state').filter({ hasText: 'Completed' }).waitFor();
  assert.match(await page.getByTestId('events').textContent(), /sent[\s\S]*received[\s\S]*accepted[\s\S]*started[\s\S]*completed/);
  await shot('completed');
  await button('Sign out').click();

  // The city sees the outcome from the client's page.
  await signIn('caseworker.city', 'case_work');
  await page.goto(`/clients/${client}`);
  assert.match(await page.getByTestId('client-referrals').textContent(), /State Benefits Agency[\s\S]*completed/);
});
