// End-to-end journey through onedoor's web pages in Debian's chromium:
// sign in, register a client (first with errors), find them as you type, edit the phone,
// read the history, sign out. Every page is checked with axe-core.
//
// Run from the repository root after building the binary and the CSS:
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/
// Skipped when ONEDOOR_BIN is not set.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const kCommandTimeoutMs = 30_000;

const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

async function runCommand(args, env) {
  try {
    await execFileAsync(binary, args, {
      env: { ...process.env, ...env },
      timeout: kCommandTimeoutMs,
      killSignal: 'SIGKILL',
    });
  } catch (error) {
    throw new Error(`onedoor ${args.join(' ')} failed: ${error.message}\n` +
      `stdout:\n${error.stdout ?? ''}\nstderr:\n${error.stderr ?? ''}`);
  }
}

test('a caseworker registers, finds, edits and audits a client', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-journey-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
  };
  await runCommand(['migrate'], env);
  await runCommand(['demo-data'], env);
  // Two agency records that may be one person, waiting in the review queue.
  const csv = path.join(tmp, 'pair.csv');
  await fs.writeFile(csv, [
    'rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id',
    'rev-1, zofia, brzezinska, 12, harbour view, , ashford, 2600, act, 19610405, ',
    'rev-2, sophia, brzezinski, 12, harbour view, , ashford, 2600, act, , ',
  ].join('\n') + '\n');
  await runCommand(['import', 'clients', '--agency', 'city-social', '--mapping',
    path.join(repoRoot, 'docs', 'examples', 'febrl-mapping.yaml'), '--rejects', path.join(tmp, 'rejects.csv'), csv], env);
  await execFileAsync('sqlite3', [env.ONEDOOR_DB,
    "INSERT INTO match_reviews (record_a, record_b, weight, probability, explanation, state, created_at) " +
    "SELECT a.id, b.id, -1.2, 0.3, '{\"fields\":[{\"field\":\"given_name\",\"level\":\"nickname\",\"weight\":4.1}]}', " +
    "'pending', 0 FROM source_records a, source_records b WHERE a.local_id = 'rev-1' AND b.local_id = 'rev-2'"]);

  const server = await startServer({ binary, args: ['serve'], env, logDir: tmp });
  t.after(() => server.stop());
  const browser = await launch();
  t.after(() => browser.close());

  // The server may send a Content-Security-Policy; axe is injected as a script.
  const context = await browser.newContext({ baseURL: server.url, bypassCSP: true });
  context.setDefaultTimeout(kActionTimeoutMs);
  context.setDefaultNavigationTimeout(kActionTimeoutMs);
  const page = await context.newPage();

  let step = 0;
  const shot = (name) =>
    page.screenshot({ path: path.join(tmp, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });
  const h1 = () => page.getByRole('heading', { level: 1 });
  const main = () => page.getByRole('main');
  const field = (label) => page.getByLabel(label, { exact: true });

  try {
    // Sign in with the default purpose.
    await page.goto('/login');
    await field('Username').waitFor();
    await shot('login');
    await checkA11y(page, 'login page');
    await field('Username').fill('caseworker.city');
    await field('Password').fill('demo-password-1');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
    await shot('signed-in');

    // Register: an empty form is refused with an error summary.
    await page.goto('/clients/new');
    await field('Given name').waitFor();
    await shot('register-empty');
    await checkA11y(page, 'register form');
    await main().getByRole('button').click();
    await page.locator('.govuk-error-summary').waitFor({ state: 'visible' });
    await shot('register-errors');
    await checkA11y(page, 'register form with errors');

    // Register for real.
    await field('Given name').fill('Amara');
    await field('Family name').fill('Okonkwo-Test');
    await field('Day').fill('14');
    await field('Month').fill('2');
    await field('Year').fill('1987');
    await field('Female').check();
    await field('Phone').fill('0400 123 456');
    await main().getByRole('button').click();
    await page.getByRole('heading', { level: 1, name: /Amara Okonkwo-Test/ }).waitFor();
    await shot('client-registered');
    await checkA11y(page, 'client view after registering');

    // Find them as you type, without pressing Search: the results follow the name, and the
    // address bar follows the results.
    await page.goto('/clients');
    await field('Name').pressSequentially('Okonk', { delay: 40 });
    const row = page.getByTestId('client-results').getByRole('row').filter({ hasText: 'Amara Okonkwo-Test' });
    await row.first().waitFor();
    await page.waitForURL(/\/clients\?q=Okonk/);
    assert.equal(await page.getByTestId('client-results').getAttribute('aria-live'), 'polite');
    // The same results without script, from the address.
    await page.goto('/clients?q=Okonkwo-Test');
    await row.first().waitFor();
    await shot('search-results');
    await checkA11y(page, 'search results');
    await row.first().getByRole('link').first().click();
    await page.getByRole('heading', { level: 1, name: /Amara Okonkwo-Test/ }).waitFor();

    // Edit the phone number.
    await main().getByRole('link', { name: 'Edit', exact: true }).click();
    await field('Phone').waitFor();
    await shot('edit-form');
    await checkA11y(page, 'edit form');
    await field('Phone').fill('0400 999 000');
    await main().getByRole('button').click();
    await page.getByRole('heading', { level: 1, name: /Amara Okonkwo-Test/ }).waitFor();
    await main().getByText('0400 999 000').first().waitFor();
    await shot('client-edited');

    // The history shows the change.
    await main().getByRole('link', { name: 'History', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: /History of/ }).waitFor();
    const change = page.getByRole('row').filter({ hasText: /phone/i }).filter({ hasText: '0400 999 000' });
    await change.first().waitFor();
    assert.match(await h1().textContent(), /Amara Okonkwo-Test/);
    await shot('history');
    await checkA11y(page, 'history');

    // A household started from the client's page: the form's mistakes, then the household's page
    // with its form to add a member.
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: /Amara Okonkwo-Test/ }).waitFor();
    await main().getByRole('link', { name: 'Start a household with them' }).click();
    await page.getByRole('heading', { level: 1, name: 'Start a household' }).waitFor();
    assert.equal(await field('Name of the household').inputValue(), 'Okonkwo-Test household');
    await checkA11y(page, 'start a household');
    await field('Name of the household').fill('');
    await main().getByRole('button', { name: 'Start the household' }).click();
    await page.getByRole('link', { name: 'Enter a name for the household' }).waitFor();
    await checkA11y(page, 'start a household with an error');
    await field('Name of the household').fill('The Okonkwo-Test household');
    await main().getByRole('button', { name: 'Start the household' }).click();
    await page.getByRole('heading', { level: 1, name: 'The Okonkwo-Test household' }).waitFor();
    await main().getByText(/Household started: Amara Okonkwo-Test/).waitFor();
    await shot('household');
    await checkA11y(page, 'household with the form to add a member');
    await main().getByRole('button', { name: 'Add the member' }).click();
    await page.getByRole('link', { name: 'Enter the client number of the person joining' }).waitFor();
    await checkA11y(page, 'add a member with an error');
    await main().getByRole('link', { name: /Record that they left/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Record that a member left' }).waitFor();
    await checkA11y(page, 'record that a member left');

    // Registering the same person again shows the likely match first; registering anyway
    // needs a reason.
    await page.goto('/clients/new');
    await field('Given name').fill('Amara');
    await field('Family name').fill('Okonkwo-Tset');
    await field('Day').fill('14');
    await field('Month').fill('2');
    await field('Year').fill('1987');
    // The likely match appears as the name and date of birth are typed, before the form is sent.
    await page.getByTestId('likely-matches').getByRole('link', { name: 'Amara Okonkwo-Test' }).waitFor();
    await page.getByTestId('likely-matches').getByText('This person may already be registered').waitFor();
    assert.match(page.url(), /\/clients\/new$/);
    await checkA11y(page, 'duplicate warning as you type');
    await field('Female').check();
    await main().getByRole('button', { name: 'Register client' }).click();
    await page.getByText('This person may already be registered').waitFor();
    await main().getByRole('link', { name: 'Amara Okonkwo-Test' }).waitFor();
    await shot('duplicate-warning');
    await checkA11y(page, 'duplicate warning');
    await field('None of these is the person: register a new client').check();
    await main().getByRole('button', { name: 'Register client' }).click();
    await page.locator('.govuk-error-summary').getByText('Say why this is not one of the people listed').waitFor();
    await checkA11y(page, 'duplicate warning with an error');
    await field('Why is this a different person?').fill('Twin sister, confirmed with her passport');
    await main().getByRole('button', { name: 'Register client' }).click();
    await page.getByRole('heading', { level: 1, name: /Amara Okonkwo-Tset/ }).waitFor();

    // The review queue: compare the two records, decide, and the pair leaves the queue.
    await page.getByRole('navigation').getByRole('link', { name: 'Possible duplicates' }).click();
    await page.getByRole('heading', { level: 1, name: 'Possible duplicates to review' }).waitFor();
    await checkA11y(page, 'review queue');
    await main().getByRole('link', { name: /Review/ }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Are these the same person?' }).waitFor();
    await main().getByText('Zofia Brzezinska').or(main().getByText('zofia brzezinska')).first().waitFor();
    await shot('review');
    await checkA11y(page, 'review');
    await main().getByRole('button', { name: 'Save decision' }).click();
    await page.locator('.govuk-error-summary').getByText('Select whether these are the same person').waitFor();
    await checkA11y(page, 'review with an error');
    await field('The same person').check();
    await main().getByRole('button', { name: 'Save decision' }).click();
    await page.getByText('Decision saved').waitFor();
    await main().getByText('There is nothing to review.').waitFor();

    // Where this account is signed in: this browser, marked as such.
    await page.goto('/');
    await main().getByRole('link', { name: 'Where you are signed in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Where you are signed in' }).waitFor();
    await page.getByTestId('sessions').getByText('This browser').waitFor();
    await checkA11y(page, 'where you are signed in');

    // Sign out.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor({ state: 'detached' });
    await shot('signed-out');
  } catch (error) {
    await shot('failure').catch(() => {});
    t.diagnostic(`failed at ${page.url()}; server log: ${server.logPath}`);
    throw error;
  }
});
