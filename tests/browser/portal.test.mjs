// The citizen portal on screen in Debian's chromium: a person creates an account (a mistake
// first), confirms the address from the queued message, signs in, gets a code; front-desk staff
// link the account on the client's page; a caseworker opens the record for case work; the person
// sees in their access log that the city's caseworker looked at it, and why. Then they move:
// they tell the portal once, the two agencies that know them are told and acknowledge, and the
// person sees "Updated" for both. Every page is checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/portal.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { login } from '../http/helpers.mjs';
import { checkA11y, launch, makeTempDir, repoRoot, startServer } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('a person links their portal account at the desk and sees who looked at their record', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-portal-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  for (const args of [['migrate'], ['demo-data', '--people', '2']]) {
    await execFileAsync(binary, args, { env: { ...process.env, ...env }, timeout: 60_000 });
  }
  const sql = async (query) => (await execFileAsync('sqlite3', [env.ONEDOOR_DB, query])).stdout.trim();
  const server = await startServer({ binary, args: ['serve'], env, logDir: tmp });
  t.after(() => server.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const open = async () => {
    const context = await browser.newContext({ baseURL: server.url, bypassCSP: true });
    context.setDefaultTimeout(kActionTimeoutMs);
    context.setDefaultNavigationTimeout(kActionTimeoutMs);
    return context.newPage();
  };
  const page = await open();
  let step = 0;
  const shot = (p, name) => p.screenshot({ path: path.join(tmp, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });

  // The account, a mistake first.
  await page.goto('/portal/sign-up');
  await checkA11y(page, 'sign up');
  await page.getByLabel('Your name').fill('Rua Tane');
  await page.getByLabel('E-mail address').fill('rua@example.org');
  await page.getByLabel('Password').fill('too short');
  await page.getByRole('button', { name: 'Create the account' }).click();
  await page.locator('.govuk-error-summary').getByText('Choose a password of at least 12 characters').waitFor();
  await checkA11y(page, 'sign up with a mistake');
  assert.equal(await page.getByLabel('E-mail address').inputValue(), 'rua@example.org');
  await page.getByLabel('Password').fill('kowhai tree by the river');
  await page.getByRole('button', { name: 'Create the account' }).click();
  await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
  await checkA11y(page, 'check your e-mail');
  const mail = await sql("SELECT body FROM outgoing_messages WHERE address = 'rua@example.org' ORDER BY id DESC LIMIT 1");
  const link = /(\/portal\/verify\?token=[A-Za-z0-9_-]+)/.exec(mail)[1];
  await page.goto(link);
  await page.getByRole('heading', { name: 'Your e-mail address is confirmed' }).waitFor();
  await page.getByRole('link', { name: 'sign in to your account' }).click();
  await checkA11y(page, 'sign in');
  await page.getByLabel('E-mail address').fill('rua@example.org');
  await page.getByLabel('Password').fill('kowhai tree by the river');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
  await checkA11y(page, 'account, not linked');
  await page.getByRole('button', { name: 'Get a code to show at the desk' }).click();
  const code = (await page.getByTestId('link-code').locator('h2').textContent()).trim();
  assert.match(code, /^[2-9A-Z]{4}-[2-9A-Z]{4}$/);
  await checkA11y(page, 'account with a code');
  await shot(page, 'code');

  // At the desk: the front-desk worker finds the client and types the code.
  const person = Number(await sql('SELECT min(id) FROM persons'));
  const desk = await open();
  await desk.goto('/login');
  await desk.getByLabel('Username', { exact: true }).fill('frontdesk.city');
  await desk.getByLabel('Password', { exact: true }).fill('demo-password-1');
  await desk.locator('#purpose').selectOption('front_desk');
  await desk.getByRole('button', { name: 'Sign in', exact: true }).click();
  await desk.goto(`/clients/${person}`);
  await desk.getByLabel("Code from the person's portal account").fill(code);
  await desk.getByRole('button', { name: 'Link the portal account' }).click();
  await desk.getByText('Portal account linked').waitFor();
  await checkA11y(desk, 'client page after linking');

  // A caseworker opens the record for case work.
  const caseworker = await open();
  await caseworker.goto('/login');
  await caseworker.getByLabel('Username', { exact: true }).fill('caseworker.city');
  await caseworker.getByLabel('Password', { exact: true }).fill('demo-password-1');
  await caseworker.locator('#purpose').selectOption('case_work');
  await caseworker.getByRole('button', { name: 'Sign in', exact: true }).click();
  await caseworker.goto(`/clients/${person}`);
  await caseworker.getByRole('heading', { level: 2, name: 'Details' }).waitFor();

  // The person sees it.
  await page.goto('/portal');
  await page.getByRole('heading', { name: 'Who looked at your record' }).waitFor();
  const row = page.getByTestId('portal-access-log').getByRole('row')
    .filter({ hasText: 'City Social Services Department' }).filter({ hasText: 'Case work' })
    .filter({ hasText: 'Looked at your record' });
  assert.ok(await row.count() >= 1, 'the caseworker\'s look is in the log');
  assert.match(await row.first().textContent(), /caseworker/);
  await checkA11y(page, 'account, linked');
  await shot(page, 'access-log');

  // Tell us once: a mistake first, then the new address.
  await page.getByLabel('Address line 1').fill('');
  await page.getByLabel('Town or city').fill('Riverside');
  await page.getByRole('button', { name: 'Change my address' }).click();
  await page.locator('.govuk-error-summary').getByText('Enter the first line of your address').waitFor();
  await checkA11y(page, 'address with a mistake');
  await page.getByLabel('Address line 1').fill('12 Harbour View');
  await page.getByLabel('Postcode').fill('1009');
  await page.getByRole('button', { name: 'Change my address' }).click();
  await page.getByText('Your address is changed').waitFor();
  const changes = page.getByTestId('portal-changes');
  const told = (await sql(`SELECT n.id || ',' || a.code FROM change_notices n JOIN agencies a ON a.id = n.agency_id WHERE n.person_id = ${person} ORDER BY n.id`))
    .split('\n').filter(Boolean).map((l) => l.split(','));
  assert.deepEqual(told.map(([, code]) => code).sort(), ['city-social', 'health-authority']);
  assert.equal(await changes.getByText('Not yet').count(), 2);
  // Each agency acknowledges from its own system.
  const staffOf = { 'city-social': 'caseworker.city', 'health-authority': 'caseworker.health' };
  for (const [id, code] of told) {
    const worker = await login(server.url, staffOf[code], { purpose: 'case_work' });
    const applied = await worker.post(`/api/v1/changes/${id}/applied`, { note: 'Updated.' });
    assert.equal(applied.status, 200, applied.text);
  }
  await page.goto('/portal#changes');
  await changes.waitFor();
  assert.equal(await changes.getByText('Updated').count(), 2);
  assert.equal(await changes.getByText('Not yet').count(), 0);
  await checkA11y(page, 'changes applied');
  await shot(page, 'changes');
});
