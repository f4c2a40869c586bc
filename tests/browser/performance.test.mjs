// The performance dashboards on screen in Debian's chromium: the consortium's governance user
// opens the city's performance page (figures, the chart drawn on the server), sets a service
// target on the scorecard (a mistake first), defines an outcome and its indicator, sees where
// the city's work counts, and runs the integration diagnostic (a missing answer first), whose
// result page prints without its links and compares with the earlier assessment. Every page is
// checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/performance.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('governance reads the dashboards, sets targets and outcomes, and plans with the diagnostic', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 150_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-performance-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 2);
  const server = await startServer({ binary, args: ['serve'], env, logDir: tmp });
  t.after(() => server.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const context = await browser.newContext({ baseURL: server.url, bypassCSP: true });
  context.setDefaultTimeout(kActionTimeoutMs);
  context.setDefaultNavigationTimeout(kActionTimeoutMs);
  const page = await context.newPage();
  let step = 0;
  const shot = (name) => page.screenshot({ path: path.join(tmp, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });

  await page.goto('/login');
  await page.getByLabel('Username', { exact: true }).fill('governance.city');
  await page.getByLabel('Password', { exact: true }).fill('demo-password-1');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();

  // The dashboard: every figure as a table, the waits drawn as an SVG with a title.
  await page.getByRole('link', { name: 'Performance', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Performance' }).waitFor();
  await page.getByTestId('metrics-contacts').waitFor();
  const chart = page.locator('svg[role="img"]').first();
  if (await chart.count()) assert.ok((await chart.getAttribute('aria-labelledby')) || (await chart.locator('title').count()));
  await checkA11y(page, 'performance');
  await shot('performance');

  // The scorecard: a target with a mistake, then right.
  await page.getByRole('link', { name: 'The monthly scorecard against the service targets' }).click();
  await page.getByRole('heading', { level: 1, name: /^Scorecard for / }).waitFor();
  await page.getByLabel('Measure').selectOption('first_contact_resolution_percent');
  await page.getByLabel('Target (a percentage, or minutes)').fill('ninety');
  await page.getByRole('button', { name: 'Add the target' }).click();
  await page.locator('.govuk-error-summary').getByText('Write the target as a number, like 90').waitFor();
  await checkA11y(page, 'scorecard with a mistake');
  await page.getByLabel('Target (a percentage, or minutes)').fill('80');
  await page.getByRole('button', { name: 'Add the target' }).click();
  await page.getByTestId('scorecard').getByRole('rowheader', { name: 'Contacts resolved at the first contact: at least 80%' }).waitFor();
  await checkA11y(page, 'scorecard');
  await shot('scorecard');

  // The outcomes framework: the demo's outcomes, a new one (a mistake first) and its indicator.
  await page.goto('/performance/outcomes');
  await page.getByRole('heading', { level: 2, name: 'Households have enough to live on' }).waitFor();
  await checkA11y(page, 'outcomes');
  await page.getByRole('button', { name: 'Define the outcome' }).click();
  await page.locator('.govuk-error-summary').getByText('Name the outcome in 1 to 200 characters').waitFor();
  await checkA11y(page, 'outcomes with a mistake');
  await page.locator('#outcome-name').fill('Older people live safely at home');
  await page.getByRole('button', { name: 'Define the outcome' }).click();
  await page.getByRole('heading', { level: 2, name: 'Older people live safely at home' }).waitFor();
  await page.locator('#indicator-outcome_id').selectOption({ label: 'Older people live safely at home' });
  await page.locator('#indicator-metric').selectOption('satisfied_percent');
  await page.getByLabel('Target (a percentage, or minutes)').fill('90');
  await page.getByRole('button', { name: 'Add the indicator' }).click();
  const older = page.getByTestId('outcome').filter({ hasText: 'Older people live safely at home' });
  await older.getByRole('listitem').filter({ hasText: 'Satisfied people (4 or 5 out of 5): at least 90%' }).waitFor();
  await shot('outcomes');

  // Where the city's work counts.
  await page.getByRole('link', { name: "Where your agency's work counts this month" }).click();
  await page.getByRole('heading', { level: 1, name: 'Where our work counts' }).waitFor();
  assert.ok(await page.getByTestId('agency-outcome').count() >= 2);
  await checkA11y(page, 'where our work counts');
  await shot('agency-outcomes');

  // The integration diagnostic: the demo's two assessments, then a new one.
  await page.goto('/performance/diagnostics');
  await page.getByTestId('diagnostics').getByText('Families with complex needs, Riverside').first().waitFor();
  await checkA11y(page, 'diagnostics');
  await page.getByRole('link', { name: 'Start a diagnostic' }).click();
  await page.getByLabel('Initiative').fill('Pension credit take-up');
  await page.getByLabel('A broad range of simple needs: information and transactions from many services').check();
  await page.getByRole('button', { name: 'Save and see the result' }).click();
  await page.locator('.govuk-error-summary').getByText('Choose an answer').first().waitFor();
  await checkA11y(page, 'diagnostic with missing answers');
  // What was chosen is still chosen.
  assert.ok(await page.getByLabel('A broad range of simple needs: information and transactions from many services').isChecked());
  await page.getByLabel('Several linked needs, like work, income and health, that call for one assessment across services').check();
  await page.getByLabel('Irregular episodes: people come back now and then').check();
  await page.getByLabel('An assessment that leads to several services or benefits, arranged together').check();
  await page.getByLabel('Deep service expertise').check();
  // Low challenges, high facility, statement by statement.
  for (const fieldset of await page.locator('fieldset[id^="ratings-"]').all()) {
    const kind = await fieldset.locator('.govuk-caption-s').textContent();
    await fieldset.getByLabel(kind.includes('Challenge') ? 'Low' : 'High', { exact: true }).check();
  }
  await page.getByRole('button', { name: 'Save and see the result' }).click();
  await page.getByTestId('model').getByText('Joint delivery').waitFor();
  await page.getByTestId('model').getByText('Transformational, quick pace').waitFor();
  assert.match(await page.getByTestId('modules').textContent(), /Joint teams drawn from several agencies/);
  await checkA11y(page, 'diagnostic result');
  await shot('diagnostic');
  // Printed: the result without the links.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.getByRole('link', { name: 'All diagnostics' }).isVisible(), false);
  assert.ok(await page.getByTestId('model').isVisible());
  await page.emulateMedia({ media: 'screen' });

  // The demo initiative's two assessments compared.
  await page.goto('/performance/diagnostics');
  await page.getByTestId('diagnostics').getByRole('link', { name: 'Families with complex needs, Riverside' }).first().click();
  await page.getByRole('link', { name: 'Compare with the assessment before it' }).click();
  await page.getByTestId('changes').waitFor();
  assert.match(await page.getByTestId('changes').textContent(), /The journey moved from evolutionary to transformational/);
  await checkA11y(page, 'diagnostics compared');
  await shot('compare');
});
