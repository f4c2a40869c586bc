// The portal's other doors on screen in Debian's chromium, in English and in Spanish, each page
// checked with axe-core: a person without a desk visit asks to be found by their details (a
// mistake first); front-desk staff review the likely records and link the account; the person,
// now linked, gives a consent (a mistake first) and sees it on their account page. Every text
// looked for comes from the catalogue of the language.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/portal_doors.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { signedInCitizen } from '../http/helpers.mjs';
import { checkA11y, launch, makeTempDir, repoRoot, startServer, translator, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

for (const lang of ['en', 'es']) {
test(`a person is found by their details, linked after review, and gives a consent (${lang})`, {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tr = translator(lang);
  const tmp = await makeTempDir('onedoor-doors-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 20);
  const sql = async (query) => (await execFileAsync('sqlite3', [env.ONEDOOR_DB, query])).stdout.trim();
  const server = await startServer({ binary, args: ['serve'], env, logDir: tmp });
  t.after(() => server.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const open = async (cookies = []) => {
    const context = await browser.newContext({ baseURL: server.url, bypassCSP: true });
    context.setDefaultTimeout(kActionTimeoutMs);
    context.setDefaultNavigationTimeout(kActionTimeoutMs);
    await context.addCookies([{ name: 'onedoor_lang', value: lang, url: server.url }, ...cookies]);
    return context.newPage();
  };
  let step = 0;
  const shot = (p, name) => p.screenshot({ path: path.join(tmp, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });

  // A registered person with a whole date of birth, and their portal account (made over HTTP).
  const [id, ...doc] = (await sql('SELECT id, doc FROM persons WHERE length(birth_date) = 10 ORDER BY id LIMIT 1')).split('|');
  const record = JSON.parse(doc.join('|'));
  const [year, month, day] = record.birth_date.split('-');
  const email = `found.${lang}@example.org`;
  const visitor = await signedInCitizen(server.url, env.ONEDOOR_DB, { name: record.names[0].given, email });
  const person = await open([...visitor.cookies].map(([name, value]) => ({ name, value, url: server.url })));
  const field = (p, label) => p.getByLabel(label, { exact: true });
  const button = (p, name) => p.getByRole('button', { name, exact: true });

  await person.goto('/portal');
  assert.equal(await person.locator('html').getAttribute('lang'), lang);
  await person.getByRole('link', { name: tr('Ask us to find your record') }).click();
  await person.getByRole('heading', { name: tr('Ask us to find your record') }).waitFor();
  await checkA11y(person, 'find my record');
  await button(person, tr('Send my details')).click();
  await person.locator('.govuk-error-summary').getByText(tr('Enter your given name')).waitFor();
  await checkA11y(person, 'find my record with mistakes');
  await shot(person, 'find-mistakes');
  await field(person, tr('Given name')).fill(record.names[0].given);
  await field(person, tr('Family name')).fill(record.names[0].family);
  await field(person, tr('Day')).fill(String(Number(day)));
  await field(person, tr('Month')).fill(String(Number(month)));
  await field(person, tr('Year')).fill(year);
  await button(person, tr('Send my details')).click();
  await person.getByTestId('link-waiting').waitFor();
  await person.getByText(tr('We have your details')).waitFor();
  await checkA11y(person, 'waiting to be found');

  // The front desk reviews the likely records and links the one that is theirs.
  const desk = await open();
  await desk.goto('/login');
  await field(desk, tr('Username')).fill('frontdesk.city');
  await field(desk, tr('Password')).fill('demo-password-1');
  await desk.locator('#purpose').selectOption('front_desk');
  await button(desk, tr('Sign in')).click();
  await button(desk, tr('Sign out')).waitFor();
  await desk.getByRole('link', { name: tr('Portal accounts to link') }).click();
  await desk.getByRole('heading', { name: tr('Portal accounts to link') }).waitFor();
  await checkA11y(desk, 'portal accounts to link');
  await desk.getByTestId('link-requests').getByRole('link').first().click();
  await desk.getByRole('heading', { name: tr('Link a portal account') }).waitFor();
  await checkA11y(desk, 'review a request');
  await button(desk, tr('Record the decision')).click();
  await desk.locator('.govuk-error-summary').getByText(tr("Choose the person's record, or none of these")).waitFor();
  await checkA11y(desk, 'review with a mistake');
  await desk.locator(`#choice-${id}`).check();
  await button(desk, tr('Record the decision')).click();
  await desk.getByText(tr('The account is linked')).waitFor();
  await shot(desk, 'linked');
  assert.equal(await sql(`SELECT person_id FROM users WHERE email = '${email}'`), id);

  // Linked now, the person gives a consent.
  await person.goto('/portal');
  await person.getByTestId('portal-details').waitFor();
  await person.getByRole('link', { name: tr('Give a consent') }).click();
  await person.getByRole('heading', { name: tr('Give a consent') }).waitFor();
  await checkA11y(person, 'give a consent');
  await button(person, tr('Give the consent')).click();
  await person.locator('.govuk-error-summary').getByText(tr('Choose who may receive your information')).waitFor();
  await checkA11y(person, 'give a consent with mistakes');
  await field(person, tr('Who may receive it')).selectOption({ label: 'State Benefits Agency' });
  await field(person, tr('Income')).check();
  await field(person, tr('Case work')).check();
  await button(person, tr('Give the consent')).click();
  await person.getByText(tr('Your consent is recorded')).waitFor();
  await person.getByTestId('portal-consents').getByRole('cell', { name: 'State Benefits Agency', exact: true }).waitFor();
  await checkA11y(person, 'consent given');
  await shot(person, 'consent-given');
  assert.equal(await sql(`SELECT evidence FROM consents WHERE person_id = ${id} ORDER BY id DESC LIMIT 1`), 'citizen_action');
});
}
