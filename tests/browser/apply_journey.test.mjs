// A citizen is screened once and applies to three programs of two agencies, in Debian's
// chromium: from their portal account (linked at a desk beforehand) they answer only the
// questions the rules still need, see what they could get, apply once for food assistance
// (State Benefits Agency) and two health programs (Health Authority), answer the state's request
// for payslips (and send one), follow each decision, book an appointment, and let their daughter
// act for them, who then follows the application from her own account. Every page is checked with axe-core. The journey runs
// in English and again in Spanish, chosen with the language switcher; every text it looks for
// is taken from the Spanish catalogue by its English message.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/apply_journey.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { linkedCitizen, login, signedInCitizen } from '../http/helpers.mjs';
import { checkA11y, launch, makeTempDir, repoRoot, startServer, translator, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

const kLanguages = { en: 'English', es: 'Español' };
// What this household answers; any other question is answered no or 0.
const kAnswers = { earned_income: '1,100', unearned_income: '0', shelter_costs: '850', countable_assets: '300', age: '34' };

for (const lang of Object.keys(kLanguages)) {
test(`a citizen is screened once and applies to three programs of two agencies (${lang})`, {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 150_000,
}, async (t) => {
  const tr = translator(lang);
  const tmp = await makeTempDir('onedoor-apply-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 12);
  const sql = async (query) => (await execFileAsync('sqlite3', [env.ONEDOOR_DB, query])).stdout.trim();
  const server = await startServer({ binary, args: ['serve'], env, logDir: tmp });
  t.after(() => server.stop());

  // A client who lives with someone, with a portal account linked at the desk.
  const person = Number(await sql('SELECT m.person_id FROM household_members m WHERE m.end_date IS NULL AND '
    + '(SELECT count(*) FROM household_members o WHERE o.household_id = m.household_id AND o.end_date IS NULL) >= 2 ORDER BY m.id LIMIT 1'));
  const citizen = await linkedCitizen(server.url, env.ONEDOOR_DB, person, { name: 'Mere Apply', email: 'mere@example.org' });

  const browser = await launch();
  t.after(() => browser.close());
  const context = await browser.newContext({ baseURL: server.url, bypassCSP: true });
  context.setDefaultTimeout(kActionTimeoutMs);
  context.setDefaultNavigationTimeout(kActionTimeoutMs);
  const host = new URL(server.url).hostname;
  await context.addCookies([...citizen.cookies].map(([name, value]) => ({ name, value, domain: host, path: '/' })));
  const page = await context.newPage();
  let step = 0;
  const shot = (name) => page.screenshot({ path: path.join(tmp, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });

  await page.goto('/portal');
  if (lang !== 'en') {
    await page.getByTestId('language-switcher').getByRole('link', { name: kLanguages[lang] }).click();
    await page.waitForURL('**/portal');
  }
  assert.equal(await page.locator('html').getAttribute('lang'), lang);
  await page.getByRole('link', { name: tr('Check what you could get and apply') }).click();
  await page.getByRole('heading', { level: 1, name: tr('Check what you could get') }).waitFor();
  await checkA11y(page, 'questionnaire, first step');
  await shot('questions');

  // Only what is still needed, step by step, until the results.
  for (let n = 0; n < 6 && !page.url().includes('/portal/screenings/'); ++n) {
    for (const input of await page.locator('input.govuk-input').all()) {
      const name = await input.getAttribute('name');
      const answer = kAnswers[name.slice(name.indexOf('.') + 1)] ?? '0';
      await input.fill(answer);
    }
    for (const no of await page.locator('input.govuk-radios__input[value="false"]').all()) await no.check();
    const more = page.getByRole('button', { name: tr('Continue'), exact: true });
    const button = await more.count() > 0 ? more : page.getByRole('button', { name: tr('See the results'), exact: true });
    await Promise.all([page.waitForNavigation(), button.click()]);
    if (!page.url().includes('/portal/screenings/')) await checkA11y(page, `questionnaire, step ${n + 2}`);
  }
  await page.getByRole('heading', { level: 1, name: tr('What you could get') }).waitFor();
  await checkA11y(page, 'results');
  await shot('results');
  // On a phone's width the results fit: no sideways scrolling.
  await page.setViewportSize({ width: 375, height: 800 });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    `the results are ${await page.evaluate(() => document.documentElement.scrollWidth)} px wide at 375 px`);
  await page.setViewportSize({ width: 1280, height: 800 });
  for (const program of ['snap', 'medicaid_adult', 'wic']) {
    assert.equal(await page.locator(`tr[data-program="${program}"]`).count(), 1, program);
  }

  // One application, three programs, two agencies.
  for (const box of await page.locator('input[name="programs"]').all()) await box.uncheck();
  for (const program of ['snap', 'medicaid_adult', 'wic']) await page.locator(`#program-${program}`).check();
  await page.getByRole('button', { name: tr('Send the application') }).click();
  await page.getByText(tr('Your application is sent to each agency')).waitFor();
  await checkA11y(page, 'application sent');
  await shot('application');
  assert.equal(await page.getByTestId('state').filter({ hasText: tr('Being decided') }).count(), 3);
  const id = Number(/\/portal\/applications\/(\d+)/.exec(page.url())[1]);
  assert.equal(await sql(`SELECT count(DISTINCT agency_id) || '/' || count(*) FROM application_parts WHERE application_id = ${id}`), '2/3');

  // The state asks for payslips; the person answers from the portal.
  const state = await login(server.url, 'caseworker.state', { purpose: 'eligibility' });
  const snap = (await state.get(`/api/v1/applications/${id}`)).body.parts[0];
  assert.equal(snap.program, 'snap');
  const asked = await state.post(`/api/v1/application-parts/${snap.id}/decision`,
    { decision: 'request_information', version: snap.version, note: 'Payslips for the last 30 days' });
  assert.equal(asked.status, 200, asked.text);
  await page.reload();
  await page.getByTestId('request').getByText('Payslips for the last 30 days').waitFor();
  await checkA11y(page, 'information asked for');
  await page.getByRole('button', { name: tr('Send my answer') }).click();
  await page.locator('.govuk-error-summary').waitFor();
  await checkA11y(page, 'answer missing');
  await page.getByLabel(tr('Your answer')).fill('I left copies at the Main Street office.');
  await page.getByRole('button', { name: tr('Send my answer') }).click();
  await page.getByText(tr('Your answer is sent to the agency')).waitFor();
  assert.equal((await state.get(`/api/v1/applications/${id}`)).body.parts[0].answer, 'I left copies at the Main Street office.');
  // And sends the payslip itself.
  await page.getByLabel(tr('What the document is')).selectOption('payslip');
  await page.getByLabel(tr('The file')).setInputFiles({ name: 'payslip-november.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% payslip\n') });
  await page.getByRole('button', { name: tr('Send the document') }).click();
  await page.getByText(tr('Your document is sent')).waitFor();
  await page.getByTestId('documents').getByText('payslip-november.pdf').waitFor();
  await checkA11y(page, 'document sent');

  // Each agency decides its own part; the person follows both.
  const approved = await state.post(`/api/v1/application-parts/${snap.id}/decision`, { decision: 'approve', version: snap.version + 2 });
  assert.equal(approved.status, 200, approved.text);
  const health = await login(server.url, 'caseworker.health', { purpose: 'eligibility' });
  const wic = (await health.get(`/api/v1/applications/${id}`)).body.parts.find((p) => p.program === 'wic');
  const denied = await health.post(`/api/v1/application-parts/${wic.id}/decision`,
    { decision: 'deny', version: wic.version, note: 'No one in the household is pregnant, postpartum or under 5.' });
  assert.equal(denied.status, 200, denied.text);
  await page.getByRole('link', { name: tr('Back to your applications') }).click();
  await page.getByRole('heading', { level: 1, name: tr('Your applications') }).waitFor();
  await checkA11y(page, 'applications');
  const row = page.getByTestId('applications').getByRole('row').filter({ hasText: String(id) });
  await row.getByText(tr('Approved'), { exact: true }).waitFor();
  await row.getByText(tr('Not approved'), { exact: true }).waitFor();
  await row.getByText(tr('Being decided'), { exact: true }).waitFor();
  await row.getByRole('link').click();
  await page.getByText('No one in the household is pregnant, postpartum or under 5.').waitFor();
  await checkA11y(page, 'decisions');
  await shot('decisions');

  // An appointment to bring the rest of the papers, booked from the account.
  await page.goto('/portal');
  await page.setViewportSize({ width: 375, height: 800 });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    `the account page is ${await page.evaluate(() => document.documentElement.scrollWidth)} px wide at 375 px`);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByRole('link', { name: tr('Your appointments') }).click();
  await page.getByRole('heading', { level: 1, name: tr('Your appointments') }).waitFor();
  await checkA11y(page, 'appointments');
  await page.getByRole('button', { name: tr('Show the free times') }).click();
  await page.locator('input[name="slot"]').first().check();
  await checkA11y(page, 'free times');
  await page.getByRole('button', { name: tr('Book this time') }).click();
  await page.getByText(tr('Your appointment is booked')).waitFor();
  assert.equal(await page.getByTestId('coming').locator('tbody tr').count(), 1);
  await checkA11y(page, 'appointment booked');
  await shot('appointment');

  // Their daughter follows it for them from now on: the person lets her act for them.
  const daughter = await signedInCitizen(server.url, env.ONEDOOR_DB, { name: 'Aroha Apply', email: 'aroha@example.org' });
  await page.goto('/portal');
  await page.getByRole('button', { name: tr('Let them act for me') }).click();
  await page.locator('.govuk-error-summary').waitFor();
  await checkA11y(page, 'representative form with errors');
  await page.getByLabel(tr('Their e-mail address')).fill('aroha@example.org');
  await page.getByLabel(tr('Who they are to you')).fill('my daughter');
  await page.getByLabel(tr('Check what you could get, apply, answer the agencies and send documents')).check();
  await page.getByRole('button', { name: tr('Let them act for me') }).click();
  await page.getByText(tr('Your representative may now act for you')).waitFor();
  await page.getByTestId('representatives').getByText('Aroha Apply (my daughter)').waitFor();
  await checkA11y(page, 'representative granted');
  const her = await browser.newContext({ baseURL: server.url, bypassCSP: true });
  her.setDefaultTimeout(kActionTimeoutMs);
  await her.addCookies([...daughter.cookies].map(([name, value]) => ({ name, value, domain: host, path: '/' })));
  const hers = await her.newPage();
  await hers.goto('/portal');
  if (lang !== 'en') {
    await hers.getByTestId('language-switcher').getByRole('link', { name: kLanguages[lang] }).click();
    await hers.waitForURL('**/portal');
  }
  await hers.getByTestId('acting-for').getByRole('button').click();
  await hers.getByTestId('representing').waitFor();
  await checkA11y(hers, 'acting for the person');
  await hers.getByRole('link', { name: tr('Your applications') }).click();
  await hers.getByRole('link', { name: tr('Application {number, number, ::group-off}').replace('{number, number, ::group-off}', String(id)) }).waitFor();
  await checkA11y(hers, 'the person\'s applications, by their representative');
});
}
