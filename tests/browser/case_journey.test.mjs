// A family's way through onedoor in Debian's chromium, from a referral to the closure of a
// multi-agency case: the city's caseworker records the client's consent and refers them to the
// state; the city's coordinator opens a case, adds the state on that consent, schedules a case
// conference, records it held and appoints the state lead, and agrees a goal and an action for
// the state; the state's caseworker accepts the referral and marks the action done; the
// coordinator reviews the case and closes it (asked for the outcome first). Every case page is
// checked with axe-core. The journey runs in English and again in Spanish, chosen with the
// language switcher on the sign-in page; every text it looks for is taken from the Spanish
// catalogue by its English message.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/case_journey.test.mjs

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
test(`a family goes from a referral with partial consent through a case conference and an action plan to closure (${lang})`, {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 180_000,
}, async (t) => {
  const tr = translator(lang);
  const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);
  const tmp = await makeTempDir('onedoor-case-journey-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 6);
  const client = (await execFileAsync('sqlite3', [env.ONEDOOR_DB,
    "SELECT max(id) FROM persons WHERE created_agency = (SELECT id FROM agencies WHERE code = 'city-social')"]))
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
  const flash = () => page.locator('.govuk-notification-banner').waitFor();

  async function signIn(username, purpose) {
    await page.goto('/login');
    if (lang !== 'en' && await page.locator('html').getAttribute('lang') !== lang) {
      await page.getByTestId('language-switcher').getByRole('link', { name: kLanguages[lang] }).click();
      await page.waitForURL('**/login');
    }
    assert.equal(await page.locator('html').getAttribute('lang'), lang);
    await field(tr('Username')).fill(username);
    await field(tr('Password')).fill('demo-password-1');
    await page.locator('#purpose').selectOption(purpose);
    await button(tr('Sign in')).click();
    await button(tr('Sign out')).waitFor();
  }

  // The caseworker: the family's consent, and a referral to the state.
  await signIn('caseworker.city', 'case_work');
  await page.goto(`/clients/${client}`);
  const name = (await page.locator('h1').textContent()).trim();
  await page.getByRole('button', { name: tr('Record a consent') }).click();
  await field(tr('Who may receive it')).selectOption({ label: 'State Benefits Agency' });
  await field('Identity').check();
  await field('Contact details').check();
  await field(tr('Case work')).check();
  await field(tr('Reference of the signed form')).fill('FAMILY-CONSENT-9');
  await button(tr('Record the consent')).click();
  await page.getByText(tr('Consent recorded')).waitFor();
  await page.goto(`/clients/${client}`);
  await page.getByRole('button', { name: tr('Refer to another agency') }).click();
  await field(tr('Agency to refer to')).selectOption({ label: 'State Benefits Agency' });
  await field(tr('Soon: within 3 working days')).check();
  await field(tr('What the client needs, and why')).fill('Family of four; the rent is in arrears and the father lost his job.');
  await page.locator('input[name="consent_id"]').first().check();
  await button(tr('Send the referral')).click();
  await page.getByText(tr('Referral sent')).waitFor();
  await button(tr('Sign out')).click();

  // The coordinator opens a case and runs the first conference.
  await signIn('coordinator.city', 'case_work');
  await page.goto(`/clients/${client}`);
  await page.getByRole('button', { name: tr('Open a case') }).click();
  await page.getByRole('heading', { level: 1, name: tr('Open a case for {person_name}', { person_name: name }) }).waitFor();
  await checkA11y(page, 'open a case');
  await field(tr('Title')).fill('Family support: housing and income');
  await field(tr('The referral criteria the client meets')).fill('Needs from three agencies; the family agreed to a case conference.');
  await button(tr('Open the case')).click();
  await flash();
  assert.ok((await page.locator('.govuk-notification-banner').textContent()).includes(tr('Case opened')));
  await checkA11y(page, 'new case');
  await shot('case-opened');
  await field(tr('Agency to add')).selectOption({ label: 'State Benefits Agency' });
  await field(tr("On the client's consent")).selectOption({ index: 1 });
  await button(tr('Add the agency')).click();
  await flash();
  assert.match(await page.getByTestId('participants').textContent(), new RegExp(`State Benefits Agency[\\s\\S]*${tr('Consent {consent_id, number, ::group-off}').split('{')[0].trim()} \\d+`));
  await page.getByText(tr('Schedule a case conference')).click();
  await field(tr('Date and time (UTC)')).fill('2026-12-01T10:00');  // held already: recorded below
  await field(tr('Where, or how to join')).fill('Riverside One-Stop Centre, room 2');
  await field(tr('Attendees, one per line, the family included')).fill(`${name} and family\ncoordinator.city\ncaseworker.state`);
  await button(tr('Schedule the conference')).click();
  await flash();
  await page.getByLabel(tr('Minutes (or why it was cancelled)')).fill('The family wants a secure home and a steady income.');
  await page.getByLabel(tr('Decisions, the lead agency among them')).fill('The State Benefits Agency leads; review in four weeks.');
  await button(tr('Record the conference')).click();
  await flash();
  await field(tr('Lead agency')).selectOption({ label: 'State Benefits Agency' });
  await button(tr('Appoint the lead agency')).click();
  await flash();
  assert.equal((await page.getByTestId('lead').textContent()).trim(), 'State Benefits Agency');
  await field(tr('A goal the family wants to reach')).fill('A steady income within three months');
  await button(tr('Add the goal')).click();
  await flash();
  await field(tr('An action')).fill('Assess the family for income support');
  await field(tr('Towards')).selectOption({ label: 'A steady income within three months' });
  await field(tr('Agency that does it')).selectOption({ label: 'State Benefits Agency' });
  await field(tr('Due (optional)')).fill('2026-12-18');
  await button(tr('Add the action')).click();
  await flash();
  await checkA11y(page, 'case with its plan');
  await shot('plan');
  await button(tr('Sign out')).click();

  // The state: accepts the referral and does its action.
  await signIn('caseworker.state', 'case_work');
  await page.getByRole('link', { name: tr('Referrals'), exact: true }).click();
  await page.getByTestId('referrals').getByRole('link', { name }).click();
  await field(tr('Accept')).check();
  await button(tr('Save')).click();
  await page.getByTestId('state').filter({ hasText: tr('Accepted') }).waitFor();
  await page.getByRole('link', { name: tr('Cases'), exact: true }).click();
  await checkA11y(page, 'cases of the state');
  await page.getByRole('link', { name: 'Family support: housing and income' }).click();
  assert.equal(await page.getByRole('button', { name: tr('Close the case') }).count(), 0);
  const action = page.getByTestId('plan').getByRole('row').filter({ hasText: 'Assess the family for income support' });
  await action.getByRole('combobox').selectOption('done');
  await action.getByRole('textbox').fill('Income support granted from 14 December.');
  await action.getByRole('button').click();
  await flash();
  assert.match(await page.getByTestId('plan').textContent(), new RegExp(`Assess the family for income support[\\s\\S]*${capitalised(tr('done'))}`));
  await button(tr('Sign out')).click();

  // The coordinator reviews and closes.
  await signIn('coordinator.city', 'case_work');
  await page.getByRole('link', { name: tr('Cases'), exact: true }).click();
  await page.getByRole('link', { name: 'Family support: housing and income' }).click();
  await field(tr('What the review found')).fill('Income support in place; the family is managing the rent.');
  await button(tr('Record the review')).click();
  await flash();
  await button(tr('Close the case')).click();
  await page.locator('.govuk-error-summary').waitFor({ state: 'visible' });
  assert.ok((await page.locator('.govuk-error-summary').textContent()).includes(tr('Say what came of the case, 1 to 2000 characters')), await page.locator('.govuk-error-summary').textContent());
  await checkA11y(page, 'closing without an outcome');
  await field(tr('Outcome for the family')).fill('A steady income; rent arrears cleared.');
  await field(tr('Why the case closes')).fill('Goals met');
  await button(tr('Close the case')).click();
  await flash();
  assert.equal((await page.getByTestId('case-state').textContent()).trim(), tr('Closed'));
  const timeline = await page.getByTestId('timeline').textContent();
  // The case's own history is written as it happened, in English.
  assert.match(timeline, /Case opened[\s\S]*joined the case[\s\S]*conference scheduled[\s\S]*held[\s\S]*lead agency[\s\S]*Goal[\s\S]*Action for[\s\S]*Action done[\s\S]*Reviewed[\s\S]*Case closed/);
  await checkA11y(page, 'closed case');
  await shot('closed');
});
}
