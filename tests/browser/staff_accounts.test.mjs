// Staff accounts in Debian's chromium: the city's administrator opens Staff accounts, adds an
// account (first with a field missing, which the form names) with a temporary password, and
// issues an API token (first without roles and scopes), whose secret is shown once; the
// new member of staff signs in, is held on Change your password until they choose their own, then
// reaches their home page. Every page is checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/staff_accounts.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('an administrator adds a member of staff, who then chooses their own password', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-staff-accounts-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 4);
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
  const main = () => page.locator('main');

  async function signIn(username, password, purpose) {
    await page.goto('/login');
    await field('Username').fill(username);
    await field('Password').fill(password);
    await page.locator('#purpose').selectOption(purpose);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
  }

  try {
    await signIn('admin.city', 'demo-password-1', 'administration');
    await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Staff accounts' }).click();
    await page.getByRole('heading', { level: 1, name: 'Staff accounts' }).waitFor();
    await page.getByTestId('account-caseworker.city').waitFor();
    await checkA11y(page, 'staff accounts');
    await shot('list');

    await main().getByRole('button', { name: 'Add a staff account' }).click();
    await page.getByRole('heading', { level: 1, name: 'New staff account' }).waitFor();
    await checkA11y(page, 'new staff account');
    await field('Full name').fill('Rosa Counter');
    await field('Username').fill('rosa.counter');
    await field('Temporary password').fill('ten green bottles');
    await main().getByRole('button', { name: 'Create the account' }).click();
    await page.locator('.govuk-error-summary').getByText('A staff account needs at least one role').waitFor();
    await checkA11y(page, 'new staff account with an error');
    assert.equal(await field('Full name').inputValue(), 'Rosa Counter');
    await page.getByLabel('Front desk', { exact: true }).check();
    await field('Temporary password').fill('ten green bottles');
    await main().getByRole('button', { name: 'Create the account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Rosa Counter' }).waitFor();
    await page.getByText(/Account created/).waitFor();
    assert.match(await page.getByTestId('account-state').textContent(), /Temporary password/);
    await checkA11y(page, 'a staff account');
    await shot('account');

    // An API token for one of the agency's systems: its secret shown once.
    await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'API tokens' }).click();
    await page.getByRole('heading', { level: 1, name: 'API tokens' }).waitFor();
    await checkA11y(page, 'API tokens');
    await main().getByRole('button', { name: 'Issue a token' }).click();
    await field('Name').fill('Case system');
    await main().getByRole('button', { name: 'Issue the token' }).click();
    await page.locator('.govuk-error-summary').getByText('A token needs at least one role').waitFor();
    await checkA11y(page, 'issue a token with errors');
    await page.getByLabel('Caseworker', { exact: true }).check();
    await page.getByLabel('persons:read', { exact: true }).check();
    await main().getByRole('button', { name: 'Issue the token' }).click();
    await page.getByRole('heading', { level: 1, name: 'Token issued' }).waitFor();
    assert.match(await page.getByTestId('secret').textContent(), /^od_/);
    await checkA11y(page, 'token issued');
    await shot('token');
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();

    // Rosa's first sign-in: nothing but choosing her own password.
    await signIn('rosa.counter', 'ten green bottles', 'front_desk');
    await page.getByRole('heading', { level: 1, name: 'Change your password' }).waitFor();
    await page.getByTestId('password-required').waitFor();
    await checkA11y(page, 'password to choose');
    await page.goto('/clients');
    assert.match(page.url(), /\/account\/password\?required=1$/);
    await field('Current password').fill('ten green bottles');
    await field('New password').fill('my own quiet garden');
    await field('The new password again').fill('my own quiet garden');
    await main().getByRole('button', { name: 'Change the password' }).click();
    await page.getByText('Your password is changed. Sign in with the new one.').waitFor();
    await signIn('rosa.counter', 'my own quiet garden', 'front_desk');
    await page.getByRole('heading', { level: 1, name: 'Home' }).or(page.getByRole('heading', { level: 1 })).first().waitFor();
    assert.doesNotMatch(page.url(), /account\/password/);
    await shot('home');
  } catch (error) {
    await shot('failure').catch(() => {});
    t.diagnostic(`failed at ${page.url()}; server log: ${server.logPath}`);
    throw error;
  }
});
