// A caseworker screens a household for every program in Debian's chromium: first with an
// answer missing (the page asks for it), then completely, then a registered household whose
// screening is saved. Every page is checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/screening.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('a caseworker screens a household for every program', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-screening-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 12);
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
  const resultOf = (program) => page.locator(`tr[data-program="${program}"] .govuk-tag`);

  await page.goto('/login');
  await field('Username').fill('caseworker.city');
  await field('Password').fill('demo-password-1');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();

  // An inline household with the shelter costs left out.
  await page.getByRole('link', { name: 'Screening', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Screen for every program' }).waitFor();
  await shot('form');
  await checkA11y(page, 'screening form');
  await field('Screen with the rules in force on').fill('2025-11-01');
  await field('How many people live with you and buy and cook food together, you included?').fill('3');
  await field('How much does the household earn from work each month, before tax?').fill('2,000');
  await field('How much other income does the household get each month (benefits, pensions, support)?').fill('0');
  await page.locator('#in-has_elderly_or_disabled_member-no').check();
  await field('How much does the household have in cash, bank accounts and other savings?').fill('150.50');
  await page.locator('#m0-age').fill('34');
  await page.locator('#m1-age').fill('31');
  await page.locator('#m1-is_pregnant').check();
  await page.locator('#m2-age').fill('4');
  await page.getByRole('button', { name: 'Screen for every program' }).click();
  await page.getByRole('heading', { level: 2, name: 'Results' }).waitFor();
  await shot('results-unknown');
  await checkA11y(page, 'results with questions');
  assert.equal(await resultOf('snap').textContent(), 'More answers needed');
  const questions = page.getByTestId('questions');
  assert.match(await questions.textContent(), /Shelter costs/);
  // WIC does not need the shelter costs: it is already settled.
  assert.equal(await resultOf('wic').textContent(), 'Likely eligible');

  // The form keeps every answer; add the one that was missing.
  assert.equal(await page.locator('#in-earned_income').inputValue(), '2,000');
  await questions.getByRole('link', { name: 'Shelter costs' }).click();
  await page.locator('#in-shelter_costs').fill('900');
  await page.getByRole('button', { name: 'Screen for every program' }).click();
  await page.getByRole('heading', { level: 2, name: 'Results' }).waitFor();
  await shot('results-complete');
  await checkA11y(page, 'complete results');
  assert.equal(await resultOf('snap').textContent(), 'Likely eligible');
  assert.match(await page.locator('tr[data-program="snap"]').textContent(), /\$429\.00/);
  assert.equal(await page.getByTestId('questions').count(), 0);
  // Why: the gross income test with its limit and citation, and the figures with their sources.
  const why = page.locator('#why-snap ~ details').first();
  await why.locator('summary').click();
  assert.match(await why.textContent(), /Gross monthly income of \$2,000\.00 is within the limit of \$2,888\.00/);
  assert.match(await why.textContent(), /7 CFR 273\.9\(a\), \(a\)\(1\)/);
  assert.match(await why.textContent(), /Fiscal Year 2026/);
  await shot('why-snap');

  // A bad amount is refused with an error summary that links to the field.
  await page.locator('#in-earned_income').fill('two thousand');
  await page.getByRole('button', { name: 'Screen for every program' }).click();
  await page.locator('.govuk-error-summary').waitFor();
  await checkA11y(page, 'screening form with an error');
  assert.match(await page.locator('.govuk-error-summary').textContent(), /Earned income: write the amount in figures, like 3500 or 3500\.50/);
  await shot('error');

  // A registered household: members and ages from the registry; the screening is saved.
  await page.goto('/clients');
  const hid = (await execFileAsync('sqlite3', [env.ONEDOOR_DB,
    // A household whose members the city's social services registered: the agency holds them.
    'SELECT m.household_id FROM household_members m JOIN persons p ON p.id = m.person_id WHERE m.end_date IS NULL ' +
    'GROUP BY m.household_id HAVING min(p.created_agency) = max(p.created_agency) AND ' +
    "min(p.created_agency) = (SELECT id FROM agencies WHERE code = 'city-social') " +
    'ORDER BY count(*) DESC, m.household_id LIMIT 1'])).stdout.trim();
  await page.goto(`/households/${hid}`);
  await page.getByRole('button', { name: 'Screen this household' }).click();
  await page.getByRole('heading', { level: 1, name: 'Screen for every program' }).waitFor();
  await checkA11y(page, 'screening form for a registered household');
  assert.equal(await page.locator('#in-household_size').count(), 0, 'the size comes from the registry');
  await field('How much does the household earn from work each month, before tax?').fill('0');
  await field('How much other income does the household get each month (benefits, pensions, support)?').fill('0');
  await field('How much does the household pay each month for rent or mortgage, property tax, insurance and utilities?').fill('600');
  await page.locator('#in-has_elderly_or_disabled_member-no').check();
  await field('How much does the household have in cash, bank accounts and other savings?').fill('0');
  await page.getByRole('button', { name: 'Screen for every program' }).click();
  await page.getByRole('link', { name: /View screening/ }).click();
  await page.getByRole('heading', { level: 1, name: 'Screening results' }).waitFor();
  await shot('saved');
  await checkA11y(page, 'saved screening');
  assert.equal(await resultOf('snap').textContent(), 'Likely eligible');
  await page.getByRole('link', { name: 'Back to the household' }).click();
  assert.match(await page.locator('table').last().textContent(), /likely eligible/);
  await shot('household');
});
