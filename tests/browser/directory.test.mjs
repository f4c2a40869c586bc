// The service directory in Debian's chromium. Someone not signed in finds services in their own
// words ("I lost my job"), narrows them by topic and language, and reads one service's page;
// then a caseworker goes from a client's page to the directory, finds the food bank and refers
// the client to it, with the agency and the service filled in on the referral form. Every page
// is checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/directory.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('a service is found in plain words, and a client is referred to it from the directory', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-directory-');
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
  const results = () => page.getByTestId('directory-results').getByRole('heading').allTextContents();

  // Anyone: the whole directory, then in their own words.
  await page.goto('/directory');
  await page.getByTestId('directory-total').getByText('20 services').waitFor();
  await checkA11y(page, 'directory');
  await field('What do you need help with?').fill('I lost my job');
  await button('Search').click();
  await page.getByTestId('directory-total').waitFor();
  assert.deepEqual(await results(), ['Unemployment benefit']);  // "losing your job"
  await field('What do you need help with?').fill('work');
  await button('Search').click();
  await page.getByRole('link', { name: 'Job search and training support' }).waitFor();  // work = job
  // Words no service has all of: the services with some of them, said so.
  await field('What do you need help with?').fill('food spaceship');
  await button('Search').click();
  await page.getByTestId('any-word').waitFor();
  // Food, in Arabic.
  await field('What do you need help with?').fill('');
  await field('Topic').selectOption({ label: 'Food' });
  await field('Language').selectOption({ label: 'Arabic' });
  await button('Search').click();
  await page.getByTestId('directory-total').getByText('1 service').waitFor();
  assert.deepEqual(await results(), ['Drop-in advice and a hot meal']);
  await shot('search');

  // Or from what happened: the steps in order, each with its services.
  await page.goto('/directory');
  await page.getByTestId('directory-life-events').getByRole('link', { name: 'Someone has died' }).click();
  await page.getByRole('heading', { level: 1, name: 'Someone has died' }).waitFor();
  const steps = await page.getByTestId('life-event-steps').locator('h2').allTextContents();
  assert.equal(steps[0].replace(/\s+/g, ' ').trim(), 'Step 1: Register the death within 5 days');
  await page.getByTestId('life-event-steps').getByRole('link', { name: 'Registering a birth or a death' }).first().waitFor();
  await page.getByTestId('life-event-steps').getByRole('link', { name: 'Bereavement support' }).waitFor();
  await checkA11y(page, 'life event');
  await shot('life-event');

  // One service: what to bring, where, when.
  await page.goto('/directory?search=wallet');
  await page.getByRole('link', { name: 'Replacing lost identity documents' }).click();
  await page.getByRole('heading', { level: 1, name: 'Replacing lost identity documents' }).waitFor();
  await page.getByTestId('service-documents').getByText('A police report number, if stolen').waitFor();
  await page.getByText('Monday, Tuesday, Wednesday, Thursday, Friday: 09:00 to 17:00').waitFor();
  await checkA11y(page, 'service');
  await shot('service');
  assert.equal(await page.getByRole('button', { name: 'Refer the client to this service' }).count(), 0);

  // A caseworker, from the client's page, refers the client to the food bank.
  await page.goto('/login');
  await field('Username').fill('caseworker.city');
  await field('Password').fill('demo-password-1');
  await page.locator('#purpose').selectOption('case_work');
  await button('Sign in').click();
  await button('Sign out').waitFor();
  await page.goto(`/clients/${client}`);
  await shot('client');
  await page.getByRole('link', { name: 'Find a service in the directory' }).click();
  await field('What do you need help with?').fill('food bank');
  await button('Search').click();
  await page.getByRole('link', { name: 'Harbour food bank' }).click();
  await page.getByRole('heading', { level: 1, name: 'Harbour food bank' }).waitFor();
  await checkA11y(page, 'service, signed in');
  await page.getByRole('button', { name: 'Refer the client to this service' }).click();
  await page.getByRole('heading', { level: 1, name: /^Refer .* to another agency$/ }).waitFor();
  assert.equal(await page.locator('#to_agency_id option:checked').textContent(), 'Harbour Community Trust');
  assert.equal(await field('Service (optional)').inputValue(), 'Harbour food bank (Harbour Community Trust)');
  await checkA11y(page, 'referral form from the directory');
  await shot('referral');

  // From a life event, the steps that are referrals offer to refer the client.
  await page.goto(`/life-events/lost-job?person=${client}`);
  await page.getByRole('link', { name: 'Refer the client to Unemployment benefit' }).click();
  await page.getByRole('heading', { level: 1, name: /^Refer .* to another agency$/ }).waitFor();
  assert.equal(await page.locator('#to_agency_id option:checked').textContent(), 'State Benefits Agency');
});
