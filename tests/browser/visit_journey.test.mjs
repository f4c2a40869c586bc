// A visit to a one-stop shop in Debian's chromium: a visitor takes a ticket at the kiosk; the
// front desk signs in at a counter, calls them and serves them, identifies them by searching the
// registry, records the contact as resolved at the first contact and finishes the ticket; the
// visitor rates the service from the link they were given; the desk sees the day's count. Every
// page is checked with axe-core. The journey runs in English and again in Spanish (the visitor
// and the desk each choose it with the language switcher); every text it looks for is taken
// from the Spanish catalogue by its English message.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/visit_journey.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer, translator, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

const kLanguages = { en: 'English', es: 'Español' };

for (const lang of Object.keys(kLanguages)) {
test(`a visitor takes a ticket, is identified and helped at the first contact, and rates the service (${lang})`, {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 150_000,
}, async (t) => {
  const tr = translator(lang);
  const tmp = await makeTempDir('onedoor-visit-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 6);
  const sql = async (query) => (await execFileAsync('sqlite3', [env.ONEDOOR_DB, query])).stdout.trim();
  const office = await sql("SELECT min(o.id) FROM offices o JOIN agencies a ON a.id = o.agency_id WHERE a.code = 'city-social'");
  const [client, clientName] = (await sql(
    "SELECT id || '|' || display_name FROM persons WHERE created_agency = (SELECT id FROM agencies WHERE code = 'city-social') ORDER BY id LIMIT 1"))
    .split('|');

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
  const choose = async (p, back) => {
    if (lang === 'en') return;
    await p.getByTestId('language-switcher').getByRole('link', { name: kLanguages[lang] }).click();
    await p.waitForURL(`**${back}`);
    assert.equal(await p.locator('html').getAttribute('lang'), lang);
  };
  let step = 0;
  const shot = (p, name) => p.screenshot({ path: path.join(tmp, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });

  // The visitor, at the kiosk.
  const visitor = await open();
  await visitor.goto(`/offices/${office}/kiosk`);
  await choose(visitor, `/offices/${office}/kiosk`);
  await checkA11y(visitor, 'kiosk');
  await visitor.getByLabel('Benefits and money').check();
  await visitor.getByRole('button', { name: tr('Take a ticket') }).click();
  assert.equal(await visitor.getByTestId('ticket-label').textContent(), 'A001');
  await visitor.getByText(tr('You are next.')).waitFor();
  await checkA11y(visitor, 'ticket');
  await shot(visitor, 'ticket');

  // The front desk signs in at a counter and calls them.
  const desk = await open();
  await desk.goto('/login');
  await choose(desk, '/login');
  await desk.getByLabel(tr('Username'), { exact: true }).fill('frontdesk.city');
  await desk.getByLabel(tr('Password'), { exact: true }).fill('demo-password-1');
  await desk.locator('#purpose').selectOption('front_desk');
  await desk.getByRole('button', { name: tr('Sign in'), exact: true }).click();
  await desk.getByRole('link', { name: tr('Desk'), exact: true }).click();
  await desk.getByRole('heading', { level: 1, name: tr('Choose your counter') }).waitFor();
  await checkA11y(desk, 'desk, choosing a counter');
  await desk.getByRole('button', { name: tr('Sign in at {name}', { name: 'Riverside One-Stop Centre, Counter 1' }) }).click();
  await desk.getByRole('button', { name: tr('Call next') }).click();
  await desk.getByText(tr('Calling {label}', { label: 'A001' })).waitFor();
  await desk.getByRole('button', { name: tr('Serve') }).click();
  await desk.getByText(tr('Serving: {label}', { label: 'A001' })).waitFor();
  await checkA11y(desk, 'desk, serving');
  await shot(desk, 'desk');

  // They say who they are: the desk finds them in the registry.
  await desk.getByRole('link', { name: tr('Clients'), exact: true }).click();
  await desk.locator('#q').fill(clientName);
  await desk.locator('#q').press('Enter');
  await desk.getByRole('link', { name: clientName }).first().click();
  await desk.waitForURL(`**/clients/${client}`);
  await checkA11y(desk, 'client page');

  // Resolved at the first contact.
  await desk.getByText(tr('Record a contact'), { exact: true }).click();
  await desk.getByLabel(tr('At the desk')).check();
  await desk.getByLabel(tr('What was it about?')).fill('Help with a benefit letter');
  await desk.getByLabel(tr('Resolved at the first contact')).check();
  await desk.getByRole('button', { name: tr('Record the contact'), exact: true }).click();
  await desk.getByRole('heading', { level: 1, name: tr('Contact recorded') }).waitFor();
  await checkA11y(desk, 'contact recorded');
  const link = (await desk.getByTestId('feedback-link').textContent()).trim();
  assert.match(link, /^\/feedback\//);
  await shot(desk, 'recorded');
  await desk.getByRole('link', { name: tr('Desk'), exact: true }).click();
  await desk.getByRole('button', { name: tr('Finish') }).click();
  await desk.getByText(tr('Finished: {label}', { label: 'A001' })).waitFor();

  // The visitor rates the service, in the language they chose at the kiosk.
  await visitor.goto(link);
  await checkA11y(visitor, 'feedback');
  await visitor.getByRole('button', { name: tr('Send') }).click();
  await visitor.locator('.govuk-error-summary').getByText(tr('Choose how satisfied you are, from 1 to 5')).waitFor();
  await checkA11y(visitor, 'feedback with an error');
  await visitor.getByLabel(tr('5 — very satisfied')).check();
  await visitor.getByRole('button', { name: tr('Send') }).click();
  await visitor.getByRole('heading', { level: 1, name: tr('Thank you') }).waitFor();
  await checkA11y(visitor, 'thanks');
  await shot(visitor, 'thanks');

  // The desk sees the day's contacts.
  await desk.getByRole('link', { name: tr('Contacts'), exact: true }).first().click();
  await desk.getByText(tr('{resolved} of {count} resolved at the first contact ({percent}%)', { resolved: '1', count: '1', percent: '100.0' })).waitFor();
  await checkA11y(desk, 'contacts today');
  await shot(desk, 'contacts');
});
}
