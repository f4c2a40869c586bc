// The access centre in Debian's chromium: the waiting room's screen is open; a visitor takes a
// ticket at the kiosk; the front desk signs in at Counter 1 and calls the next visitor, and the
// screen shows the call without being reloaded (server-sent events); the visit is served and
// finished, and the screen clears. Every page is checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/queue.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('check-in at the kiosk, a call at the counter, and the screen updating live', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-queue-');
  t.diagnostic(`screenshots and server log in ${tmp}`);
  const env = {
    ONEDOOR_DB: path.join(tmp, 't.db'),
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_SECURE_COOKIES: 'false',
  };
  await demoDatabase(binary, env.ONEDOOR_DB, 2);
  const office = (await execFileAsync('sqlite3', [env.ONEDOOR_DB,
    "SELECT min(o.id) FROM offices o JOIN agencies a ON a.id = o.agency_id WHERE a.code = 'city-social'"])).stdout.trim();

  const server = await startServer({ binary, args: ['serve'], env, logDir: tmp });
  t.after(() => server.stop());
  const browser = await launch();
  t.after(() => browser.close());
  // axe-core is injected inline, so pages it checks bypass the content security policy; the
  // screen does not, so that its script is seen to work under the real policy.
  const open = async (bypassCSP = true) => {
    const context = await browser.newContext({ baseURL: server.url, bypassCSP });
    context.setDefaultTimeout(kActionTimeoutMs);
    context.setDefaultNavigationTimeout(kActionTimeoutMs);
    return context.newPage();
  };
  let step = 0;
  const shot = (p, name) => p.screenshot({ path: path.join(tmp, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });

  // The screen in the waiting room.
  const screen = await open(false);
  const errors = [];
  screen.on('pageerror', (e) => errors.push(e.message));
  screen.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await screen.goto(`/offices/${office}/display`);
  await screen.getByRole('heading', { level: 1, name: 'Now calling' }).waitFor();
  await screen.getByTestId('nobody-called').waitFor();
  const checked = await open();
  await checked.goto(`/offices/${office}/display`);
  await checkA11y(checked, 'display');

  // A visitor at the kiosk.
  const kiosk = await open();
  await kiosk.goto(`/offices/${office}/kiosk`);
  await kiosk.getByRole('button', { name: 'Take a ticket' }).click();
  await kiosk.locator('.govuk-error-summary').getByText('Choose what you have come for').waitFor();
  await checkA11y(kiosk, 'kiosk with an error');
  await kiosk.getByLabel('Benefits and money').check();
  await kiosk.getByRole('button', { name: 'Take a ticket' }).click();
  assert.equal(await kiosk.getByTestId('ticket-label').textContent(), 'A001');
  await kiosk.getByText('You are next.').waitFor();
  await checkA11y(kiosk, 'ticket');
  await shot(kiosk, 'ticket');
  // The screen's table of waits follows the event.
  await screen.locator('[data-queue] [data-field="waiting"]').first().filter({ hasText: '1' }).waitFor();

  // The front desk calls.
  const desk = await open();
  await desk.goto('/login');
  await desk.getByLabel('Username', { exact: true }).fill('frontdesk.city');
  await desk.getByLabel('Password', { exact: true }).fill('demo-password-1');
  await desk.locator('#purpose').selectOption('front_desk');
  await desk.getByRole('button', { name: 'Sign in', exact: true }).click();
  await desk.getByRole('link', { name: 'Desk', exact: true }).click();
  await desk.getByRole('heading', { level: 1, name: 'Choose your counter' }).waitFor();
  await checkA11y(desk, 'desk, choosing a counter');
  await desk.getByRole('button', { name: 'Sign in at Riverside One-Stop Centre, Counter 1' }).click();
  await desk.getByRole('button', { name: 'Call next' }).click();
  await desk.getByText('Calling A001').waitFor();
  await desk.getByTestId('current-ticket').getByText('A001').waitFor();
  await checkA11y(desk, 'desk with a visitor called');
  await shot(desk, 'desk');

  // The screen shows it, live.
  await screen.getByTestId('now-calling').getByText('A001').waitFor();
  assert.match(await screen.getByTestId('now-calling').textContent(), /A001\s+to Counter 1/);
  await shot(screen, 'screen-calling');

  await desk.getByRole('button', { name: 'Serve' }).click();
  await desk.getByText('Serving: A001').waitFor();
  await desk.getByRole('button', { name: 'Finish' }).click();
  await desk.getByText('Finished: A001').waitFor();
  await screen.getByTestId('nobody-called').waitFor();
  assert.deepEqual(errors, []);
});
