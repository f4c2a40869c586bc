// The citizen portal on screen in Debian's chromium: a person creates an account (a mistake
// first), confirms the address from the queued message, signs in, gets a code; front-desk staff
// link the account on the client's page; a caseworker opens the record for case work; the person
// sees in their access log that the city's caseworker looked at it, and why. Then they move:
// they tell the portal once, the two agencies that know them are told and acknowledge, and the
// person sees "Updated" for both; they tell their new phone number and e-mail address once too, and last unlink
// the account from their record. Every page is
// checked with axe-core. The person's side runs in English and again in Spanish, chosen with the
// language switcher on the first page; every text the journey looks for is taken from the
// Spanish catalogue by its English message (a message missing from the catalogue fails the
// test). Last, the sign-in page in Arabic, right to left.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/portal.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { login } from '../http/helpers.mjs';
import { catalogue, checkA11y, launch, makeTempDir, repoRoot, startServer, translator, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

const kLanguages = { en: 'English', es: 'Español' };

for (const lang of Object.keys(kLanguages)) {
test(`a person links their portal account at the desk and sees who looked at their record (${lang})`, {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tr = translator(lang);
  const tmp = await makeTempDir('onedoor-portal-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 2);
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

  const email = 'rua@example.org';
  // The account, a mistake first; the language chosen first.
  await page.goto('/portal/sign-up');
  if (lang !== 'en') {
    await page.getByTestId('language-switcher').getByRole('link', { name: kLanguages[lang] }).click();
    await page.waitForURL('**/portal/sign-up');
  }
  assert.equal(await page.locator('html').getAttribute('lang'), lang);
  await checkA11y(page, 'sign up');
  await page.getByLabel(tr('Your name')).fill('Rua Tane');
  await page.getByLabel(tr('E-mail address')).fill(email);
  await page.getByLabel(tr('Password')).fill('too short');
  await page.getByRole('button', { name: tr('Create the account') }).click();
  await page.locator('.govuk-error-summary').getByText(tr('Choose a password of at least 12 characters')).waitFor();
  await checkA11y(page, 'sign up with a mistake');
  assert.equal(await page.getByLabel(tr('E-mail address')).inputValue(), email);
  await page.getByLabel(tr('Password')).fill('kowhai tree by the river');
  await page.getByRole('button', { name: tr('Create the account') }).click();
  await page.getByRole('heading', { name: tr('Check your e-mail') }).waitFor();
  await checkA11y(page, 'check your e-mail');
  const mail = await sql(`SELECT body FROM outgoing_messages WHERE address = '${email}' ORDER BY id DESC LIMIT 1`);
  const link = /(\/portal\/verify\?token=[A-Za-z0-9_-]+)/.exec(mail)[1];
  await page.goto(link);
  await page.getByRole('heading', { name: tr('Your e-mail address is confirmed') }).waitFor();
  await page.getByRole('link', { name: tr('sign in to your account') }).click();
  await checkA11y(page, 'sign in');
  await page.getByLabel(tr('E-mail address')).fill(email);
  await page.getByLabel(tr('Password')).fill('kowhai tree by the river');
  await page.getByRole('button', { name: tr('Sign in') }).click();
  await page.getByRole('heading', { level: 1, name: tr('Your account') }).waitFor();
  await checkA11y(page, 'account, not linked');
  await page.getByRole('button', { name: tr('Get a code to show at the desk') }).click();
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
  await page.getByRole('heading', { name: tr('Who looked at your record') }).waitFor();
  const row = page.getByTestId('portal-access-log').getByRole('row')
    .filter({ hasText: 'City Social Services Department' }).filter({ hasText: tr('Case work') })
    .filter({ hasText: tr('Looked at your record') });
  assert.ok(await row.count() >= 1, 'the caseworker\'s look is in the log');
  assert.ok((await row.first().textContent()).includes(tr('Caseworker')), 'their job in words, in the page\'s language');
  await checkA11y(page, 'account, linked');
  await shot(page, 'access-log');

  // Tell us once: a mistake first, then the new address.
  await page.getByLabel(tr('Address line 1')).fill('');
  await page.getByLabel(tr('Town or city')).fill('Riverside');
  await page.getByRole('button', { name: tr('Change my address') }).click();
  await page.locator('.govuk-error-summary').getByText(tr('Enter the first line of your address')).waitFor();
  await checkA11y(page, 'address with a mistake');
  await page.getByLabel(tr('Address line 1')).fill('12 Harbour View');
  await page.getByLabel(tr('Postcode')).fill('1009');
  await page.getByRole('button', { name: tr('Change my address') }).click();
  await page.getByText(tr('Your address is changed: the agencies that know you are told')).waitFor();
  const changes = page.getByTestId('portal-changes');
  const told = (await sql(`SELECT n.id || ',' || a.code FROM change_notices n JOIN agencies a ON a.id = n.agency_id WHERE n.person_id = ${person} ORDER BY n.id`))
    .split('\n').filter(Boolean).map((l) => l.split(','));
  assert.deepEqual(told.map(([, code]) => code).sort(), ['city-social', 'health-authority']);
  assert.equal(await changes.getByText(tr('Not yet')).count(), 2);
  // Each agency acknowledges from its own system.
  const staffOf = { 'city-social': 'caseworker.city', 'health-authority': 'caseworker.health' };
  for (const [id, code] of told) {
    const worker = await login(server.url, staffOf[code], { purpose: 'case_work' });
    const applied = await worker.post(`/api/v1/changes/${id}/applied`, { note: 'Updated.' });
    assert.equal(applied.status, 200, applied.text);
  }
  await page.goto('/portal#changes');
  await changes.waitFor();
  assert.equal(await changes.getByText(tr('Updated')).count(), 2);
  assert.equal(await changes.getByText(tr('Not yet')).count(), 0);
  await checkA11y(page, 'changes applied');
  await shot(page, 'changes');

  // The phone number, told once too: a mistake first.
  await page.getByLabel(tr('Phone number')).fill('call me');
  await page.getByRole('button', { name: tr('Change my phone number') }).click();
  await page.locator('.govuk-error-summary').getByText(tr('Enter a phone number of 6 to 30 digits, spaces and + ( ) -')).waitFor();
  await checkA11y(page, 'phone with a mistake');
  await page.getByLabel(tr('Phone number')).fill('+64 21 555 0199');
  await page.getByRole('button', { name: tr('Change my phone number') }).click();
  await page.getByText(tr('Your phone number is changed: the agencies that know you are told')).waitFor();
  await page.getByTestId('portal-details').getByText('+64 21 555 0199').waitFor();
  assert.equal(await changes.getByText(tr('Not yet')).count(), 2, 'both agencies are told of the new number');
  assert.equal(Number(await sql(`SELECT count(*) FROM change_notices WHERE person_id = ${person}`)), 4);
  // And the e-mail address agencies write to.
  const contactEmail = page.locator('#contact_email');
  await contactEmail.fill('rua at home');
  await page.getByRole('button', { name: tr('Change my e-mail address') }).click();
  await page.locator('.govuk-error-summary').getByText(tr('Enter an e-mail address like name@example.org')).waitFor();
  await checkA11y(page, 'e-mail with a mistake');
  await contactEmail.fill('rua.home@example.org');
  await page.getByRole('button', { name: tr('Change my e-mail address') }).click();
  await page.getByText(tr('Your e-mail address is changed: the agencies that know you are told')).waitFor();
  await page.getByTestId('portal-details').getByText('rua.home@example.org').waitFor();
  assert.equal(Number(await sql(`SELECT count(*) FROM change_notices WHERE person_id = ${person}`)), 6);

  // Last, the person unlinks the account: the record is no longer shown, and the act is audited.
  await page.getByRole('button', { name: tr('Unlink my account') }).click();
  await page.getByText(tr('Your account is no longer linked to your record')).waitFor();
  await page.getByRole('button', { name: tr('Get a code to show at the desk') }).waitFor();
  assert.equal(await page.getByTestId('portal-details').count(), 0);
  await checkA11y(page, 'account, unlinked');
  assert.equal(Number(await sql(`SELECT count(*) FROM audit_log WHERE action = 'portal.unlink' AND person_id = ${person}`)), 1);
});
}

test('the sign-in page in Arabic is laid out right to left', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 60_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-portal-ar-');
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await execFileAsync(binary, ['migrate'], { env: { ...process.env, ...env }, timeout: 60_000 });
  const server = await startServer({ binary, args: ['serve'], env, logDir: tmp });
  t.after(() => server.stop());
  const browser = await launch();
  t.after(() => browser.close());
  // A browser that asks for Arabic first gets it without choosing.
  const context = await browser.newContext({ baseURL: server.url, bypassCSP: true, locale: 'ar-EG' });
  context.setDefaultTimeout(kActionTimeoutMs);
  const page = await context.newPage();
  await page.goto('/portal/sign-in');
  const ar = catalogue('ar');
  assert.equal(await page.locator('html').getAttribute('lang'), 'ar');
  assert.equal(await page.locator('html').getAttribute('dir'), 'rtl');
  await page.getByRole('heading', { level: 1, name: ar['Sign in to your account'] }).waitFor();
  await page.getByRole('button', { name: ar['Sign in'] }).waitFor();
  // Laid out from the right: the heading's text starts at the right of the heading, and the
  // column is on the right of the page.
  const layout = await page.evaluate(() => {
    const h1 = document.querySelector('h1');
    const range = document.createRange();
    range.selectNodeContents(h1);
    const text = range.getBoundingClientRect();
    const box = h1.getBoundingClientRect();
    const column = document.querySelector('.govuk-grid-column-two-thirds').getBoundingClientRect();
    const row = document.querySelector('.govuk-grid-row').getBoundingClientRect();
    return { gapRight: box.right - text.right, gapLeft: text.left - box.left, columnRight: row.right - column.right, columnLeft: column.left - row.left };
  });
  assert.ok(layout.gapRight < 2 && layout.gapLeft > 20, `the text is set from the right: ${JSON.stringify(layout)}`);
  assert.ok(layout.columnRight < 2 && layout.columnLeft > 20, `the column is on the right: ${JSON.stringify(layout)}`);
  await checkA11y(page, 'sign in, Arabic');
  await page.screenshot({ path: path.join(tmp, 'sign-in-ar.png'), fullPage: true });
  // Back to English with the switcher.
  await page.getByTestId('language-switcher').getByRole('link', { name: 'English' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in to your account' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('dir'), 'ltr');
});
