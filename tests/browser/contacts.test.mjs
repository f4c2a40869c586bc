// Contacts in Debian's chromium: the city's front desk records a client's visit on the client's
// page (the form sent empty first, to see its errors), gives the person the feedback link, the
// person rates the visit without signing in, and the desk sees the rating on the client's page
// and the day's count on the Contacts page. Every page is checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/contacts.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('a visit is recorded at the desk and rated by the person through their link', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-contacts-');
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
  const shot = (p, name) => p.screenshot({ path: path.join(tmp, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });
  const field = (label) => page.getByLabel(label, { exact: true });
  const button = (name) => page.getByRole('button', { name, exact: true });

  await page.goto('/login');
  await field('Username').fill('frontdesk.city');
  await field('Password').fill('demo-password-1');
  await page.locator('#purpose').selectOption('front_desk');
  await button('Sign in').click();
  await button('Sign out').waitFor();

  await page.goto(`/clients/${client}`);
  await page.getByText('Record a contact', { exact: true }).click();
  await button('Record the contact').click();
  await page.getByRole('heading', { level: 1, name: 'Record a contact' }).waitFor();
  await page.locator('.govuk-error-summary').getByText('Choose how the contact was made').waitFor();
  await checkA11y(page, 'contact form with errors');
  await page.getByLabel('At the desk').check();
  await field('What was it about?').fill('Help with a benefit letter');
  await page.getByLabel('Resolved at the first contact').check();
  await field('How long it took, in minutes (optional)').fill('15');
  await field('Note (optional)').fill('Explained the decision letter.');
  await button('Record the contact').click();
  await page.getByRole('heading', { level: 1, name: 'Contact recorded' }).waitFor();
  await checkA11y(page, 'contact recorded');
  const link = (await page.getByTestId('feedback-link').textContent()).trim();
  assert.match(link, /^\/feedback\//);
  await shot(page, 'recorded');

  // The person, on their own phone: no sign-in.
  const phone = await (await browser.newContext({ baseURL: server.url, bypassCSP: true })).newPage();
  await phone.goto(link);
  await phone.getByRole('heading', { level: 1, name: /How satisfied are you/ }).waitFor();
  await checkA11y(phone, 'feedback');
  await phone.getByRole('button', { name: 'Send' }).click();
  await phone.locator('.govuk-error-summary').getByText('Choose how satisfied you are, from 1 to 5').waitFor();
  await phone.getByLabel('5 — very satisfied').check();
  await phone.getByLabel('Anything you would like to tell us? (optional)').fill('Clear and kind.');
  await phone.getByRole('button', { name: 'Send' }).click();
  await phone.getByRole('heading', { level: 1, name: 'Thank you' }).waitFor();
  await shot(phone, 'thanks');
  await phone.goto(link);
  await phone.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
  await phone.getByText('this link has been used, has expired or is not one of ours').waitFor();

  // The desk sees the rating, and the day's count.
  await page.goto(`/clients/${client}`);
  const row = page.getByTestId('client-contacts').getByRole('row', { name: /Help with a benefit letter/ });
  await row.getByText('Rated 5 of 5: “Clear and kind.”').waitFor();
  await row.getByText('Explained the decision letter.').waitFor();
  await checkA11y(page, 'client page with contacts');
  // The whole timeline, with contacts only, from the contact's entry.
  await page.getByTestId('person-timeline').getByRole('link', { name: /Help with a benefit letter/ }).click();
  await page.getByRole('heading', { level: 1, name: 'What has happened' }).waitFor();
  await page.getByTestId('timeline-kinds').getByRole('link', { name: 'Contacts' }).and(page.locator('[aria-current="page"]')).waitFor();
  await page.getByTestId('timeline-entries').getByRole('row', { name: /Help with a benefit letter/ }).waitFor();
  await checkA11y(page, 'timeline of contacts');
  await page.getByRole('link', { name: 'Contacts', exact: true }).first().click();
  await page.getByText('1 of 1 resolved at the first contact (100.0%)').waitFor();
  await checkA11y(page, 'contacts today');
  await shot(page, 'contacts');
});
