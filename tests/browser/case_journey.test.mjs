// A family's way through onedoor in Debian's chromium, from a referral to the closure of a
// multi-agency case: the city's caseworker records the client's consent and refers them to the
// state; the city's coordinator opens a case, adds the state on that consent, schedules a case
// conference, records it held and appoints the state lead, and agrees a goal and an action for
// the state; the state's caseworker accepts the referral and marks the action done; the
// coordinator reviews the case and closes it (asked for the outcome first). Every case page is
// checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/case_journey.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('a family goes from a referral through a case conference and an action plan to closure', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 180_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-case-journey-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  for (const args of [['migrate'], ['demo-data', '--people', '6']]) {
    await execFileAsync(binary, args, { env: { ...process.env, ...env }, timeout: 60_000 });
  }
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
    await field('Username').fill(username);
    await field('Password').fill('demo-password-1');
    await page.locator('#purpose').selectOption(purpose);
    await button('Sign in').click();
    await button('Sign out').waitFor();
  }

  // The caseworker: the family's consent, and a referral to the state.
  await signIn('caseworker.city', 'case_work');
  await page.goto(`/clients/${client}`);
  const name = (await page.locator('h1').textContent()).trim();
  await page.getByRole('button', { name: 'Record a consent' }).click();
  await field('Who may receive it').selectOption({ label: 'State Benefits Agency' });
  await field('Identity').check();
  await field('Contact details').check();
  await field('Case work').check();
  await field('Reference of the signed form').fill('FAMILY-CONSENT-9');
  await button('Record the consent').click();
  await page.getByText('Consent recorded').waitFor();
  await page.goto(`/clients/${client}`);
  await page.getByRole('button', { name: 'Refer to another agency' }).click();
  await field('Agency to refer to').selectOption({ label: 'State Benefits Agency' });
  await field('Soon: within 3 working days').check();
  await field('What the client needs, and why').fill('Family of four; the rent is in arrears and the father lost his job.');
  await page.locator('input[name="consent_id"]').first().check();
  await button('Send the referral').click();
  await page.getByText('Referral sent').waitFor();
  await button('Sign out').click();

  // The coordinator opens a case and runs the first conference.
  await signIn('coordinator.city', 'case_work');
  await page.goto(`/clients/${client}`);
  await page.getByRole('button', { name: 'Open a case' }).click();
  await page.getByRole('heading', { level: 1, name: `Open a case for ${name}` }).waitFor();
  await checkA11y(page, 'open a case');
  await field('Title').fill('Family support: housing and income');
  await field('The referral criteria the client meets').fill('Needs from three agencies; the family agreed to a case conference.');
  await button('Open the case').click();
  await flash();
  assert.match(await page.locator('.govuk-notification-banner').textContent(), /Case opened/);
  await checkA11y(page, 'new case');
  await shot('case-opened');
  await field('Agency to add').selectOption({ label: 'State Benefits Agency' });
  await field("On the client's consent").selectOption({ index: 1 });
  await button('Add the agency').click();
  await flash();
  assert.match(await page.getByTestId('participants').textContent(), /State Benefits Agency[\s\S]*Consent \d+/);
  await page.getByText('Schedule a case conference').click();
  await field('Date and time (UTC)').fill('2026-12-09T10:00');
  await field('Where, or how to join').fill('Riverside One-Stop Centre, room 2');
  await field('Attendees, one per line, the family included').fill(`${name} and family\ncoordinator.city\ncaseworker.state`);
  await button('Schedule the conference').click();
  await flash();
  await page.getByLabel('Minutes (or why it was cancelled)').fill('The family wants a secure home and a steady income.');
  await page.getByLabel('Decisions, the lead agency among them').fill('The State Benefits Agency leads; review in four weeks.');
  await button('Record the conference').click();
  await flash();
  await field('Lead agency').selectOption({ label: 'State Benefits Agency' });
  await button('Appoint the lead agency').click();
  await flash();
  assert.equal((await page.getByTestId('lead').textContent()).trim(), 'State Benefits Agency');
  await field('A goal the family wants to reach').fill('A steady income within three months');
  await button('Add the goal').click();
  await flash();
  await field('An action').fill('Assess the family for income support');
  await field('Towards').selectOption({ label: 'A steady income within three months' });
  await field('Agency that does it').selectOption({ label: 'State Benefits Agency' });
  await field('Due (optional)').fill('2026-12-18');
  await button('Add the action').click();
  await flash();
  await checkA11y(page, 'case with its plan');
  await shot('plan');
  await button('Sign out').click();

  // The state: accepts the referral and does its action.
  await signIn('caseworker.state', 'case_work');
  await page.getByRole('link', { name: 'Referrals', exact: true }).click();
  await page.getByTestId('referrals').getByRole('link', { name }).click();
  await field('Accept').check();
  await button('Save').click();
  await page.getByTestId('state').filter({ hasText: 'Accepted' }).waitFor();
  await page.getByRole('link', { name: 'Cases', exact: true }).click();
  await checkA11y(page, 'cases of the state');
  await page.getByRole('link', { name: 'Family support: housing and income' }).click();
  assert.equal(await page.getByRole('button', { name: 'Close the case' }).count(), 0);
  const action = page.getByTestId('plan').getByRole('row').filter({ hasText: 'Assess the family for income support' });
  await action.getByRole('combobox').selectOption('done');
  await action.getByRole('textbox').fill('Income support granted from 14 December.');
  await action.getByRole('button').click();
  await flash();
  assert.match(await page.getByTestId('plan').textContent(), /Assess the family for income support[\s\S]*Done/);
  await button('Sign out').click();

  // The coordinator reviews and closes.
  await signIn('coordinator.city', 'case_work');
  await page.getByRole('link', { name: 'Cases', exact: true }).click();
  await page.getByRole('link', { name: 'Family support: housing and income' }).click();
  await field('What the review found').fill('Income support in place; the family is managing the rent.');
  await button('Record the review').click();
  await flash();
  await button('Close the case').click();
  await page.locator('.govuk-error-summary').waitFor({ state: 'visible' });
  assert.match(await page.locator('.govuk-error-summary').textContent(), /Say what came of the case/);
  await checkA11y(page, 'closing without an outcome');
  await field('Outcome for the family').fill('A steady income; rent arrears cleared.');
  await field('Why the case closes').fill('Goals met');
  await button('Close the case').click();
  await flash();
  assert.equal((await page.getByTestId('case-state').textContent()).trim(), 'Closed');
  const timeline = await page.getByTestId('timeline').textContent();
  assert.match(timeline, /Case opened[\s\S]*joined the case[\s\S]*conference scheduled[\s\S]*held[\s\S]*lead agency[\s\S]*Goal[\s\S]*Action for[\s\S]*Action done[\s\S]*Reviewed[\s\S]*Case closed/);
  await checkA11y(page, 'closed case');
  await shot('closed');
});
