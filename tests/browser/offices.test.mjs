// An office set up on screen in Debian's chromium: the city's manager opens the one-stop centre's
// page, sets its opening hours (a mistake first, named beside its day), its time zone and a
// closed day, adds a queue and a counter, opens appointment slots (one run outside the hours
// refused), books a slot for a visitor, and cancels it from the day's appointments. Every page is
// checked with axe-core.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/browser/offices.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { checkA11y, launch, makeTempDir, repoRoot, startServer, demoDatabase } from './lib.mjs';

const execFileAsync = promisify(execFile);
const kActionTimeoutMs = 15_000;
const binary = process.env.ONEDOOR_BIN ? path.resolve(process.env.ONEDOOR_BIN) : undefined;

test('a manager sets up an office: hours, a queue, a counter, slots, and a booking', {
  skip: binary ? false : 'set ONEDOOR_BIN to the onedoor binary to run the browser tests',
  timeout: 120_000,
}, async (t) => {
  const tmp = await makeTempDir('onedoor-offices-');
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
  await page.getByLabel('Username', { exact: true }).fill('manager.city');
  await page.getByLabel('Password', { exact: true }).fill('demo-password-1');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  // The manager's home: the work waiting across the agency and each team's load.
  await page.getByTestId('team-load').waitFor();
  await checkA11y(page, 'manager home');
  await page.getByRole('link', { name: 'Offices', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Offices' }).waitFor();
  await checkA11y(page, 'offices');
  await page.getByRole('link', { name: 'Riverside One-Stop Centre' }).click();
  await page.getByTestId('office-state').getByText('No opening hours are set').waitFor();
  await checkA11y(page, 'office');

  // Opening hours: a mistake first.
  await page.getByLabel('Monday', { exact: true }).fill('09:00-17:00');
  await page.getByLabel('Tuesday', { exact: true }).fill('9-5');
  await page.getByRole('button', { name: 'Save the opening hours' }).click();
  await page.locator('.govuk-error-summary').getByText("Tuesday: '9' is not a time of day; write it like 09:30").waitFor();
  await checkA11y(page, 'office hours with a mistake');
  assert.equal(await page.getByLabel('Monday', { exact: true }).inputValue(), '09:00-17:00');  // kept
  for (const day of ['Tuesday', 'Wednesday', 'Thursday', 'Friday']) {
    await page.getByLabel(day, { exact: true }).fill(day === 'Tuesday' ? '09:00-12:30, 13:30-17:00' : '09:00-17:00');
  }
  await page.getByLabel('Time zone').fill('Europe/Brussels');
  await page.getByLabel('Days the office is closed').fill('2026-12-25 Christmas Day\n2027-01-01 New Year');
  await page.getByRole('button', { name: 'Save the opening hours' }).click();
  await page.getByText('Opening hours saved').waitFor();
  assert.deepEqual(await page.getByTestId('office-hours').locator('li').allTextContents(), [
    'Monday: 09:00 to 17:00', 'Tuesday: 09:00 to 12:30 and 13:30 to 17:00', 'Wednesday to Friday: 09:00 to 17:00',
    'Saturday and Sunday: closed',
  ]);
  await page.getByText('local time (Europe/Brussels)').waitFor();

  // A queue and a counter.
  await page.getByLabel('Ticket letter').fill('D');
  await page.getByLabel('Service, as visitors see it').fill('Passports');
  await page.getByRole('button', { name: 'Add the queue' }).click();
  await page.getByText('Queue D added').waitFor();
  await page.getByTestId('office-queues').getByText('Passports').waitFor();
  await page.locator('#counter_name').fill('Counter 4');
  await page.getByLabel('D — Passports').check();
  await page.getByRole('button', { name: 'Add the counter' }).click();
  await page.getByText('Counter 4 added').waitFor();
  await page.getByTestId('office-counters').getByRole('cell', { name: 'Counter 4' }).waitFor();

  // Slots on a Monday at least a week away: outside the hours refused, then inside.
  const monday = new Date(Date.now() + 7 * 24 * 3600 * 1000);
  while (monday.getUTCDay() !== 1) monday.setUTCDate(monday.getUTCDate() + 1);
  const date = monday.toISOString().slice(0, 10);
  await page.locator('#slot_queue').selectOption({ label: 'D — Passports' });
  await page.locator('#slot_date').fill(date);
  await page.locator('#slot_start').fill('16:30');
  // Each number is named with what it may be.
  for (const id of ['#slot_count', '#slot_minutes', '#slot_capacity']) await page.locator(id).fill('0');
  await page.getByRole('button', { name: 'Open the slots' }).click();
  const summary = page.locator('.govuk-error-summary');
  await summary.waitFor();
  for (const message of ['Enter how many slots to open, from 1 to 200', 'Enter how long each slot is, from 5 to 240 minutes',
    'Enter how many people each slot takes, from 1 to 50']) {
    await summary.getByText(message).waitFor();
  }
  await page.locator('#slot_capacity').fill('1');
  await page.locator('#slot_count').fill('4');
  await page.locator('#slot_minutes').fill('15');
  await page.getByRole('button', { name: 'Open the slots' }).click();
  await page.locator('.govuk-error-summary').getByText(/The office is not open for the whole of the slot at Monday .*, 17:00/).waitFor();
  await checkA11y(page, 'slots outside the hours');
  await page.locator('#slot_start').fill('09:00');
  await page.getByRole('button', { name: 'Open the slots' }).click();
  await page.getByText('4 slots opened').waitFor();
  // The demo's own slots (the next five weekdays) share that Monday when today is a Monday.
  const day = page.getByTestId('office-slots').locator('details').filter({ hasText: /^\s*Monday \d+ \w+ \d{4}: \d+ of \d+ places free/ })
    .filter({ hasText: 'Passports' });
  await day.locator('summary').click();
  const row = day.getByRole('row').filter({ hasText: 'Passports' }).first();
  assert.match(await row.textContent(), /09:00 to 09:15/);  // Brussels time
  await shot('office');

  // Book the first for a visitor.
  await row.getByRole('link', { name: /Book/ }).click();
  await page.getByRole('heading', { level: 1, name: 'Book an appointment' }).waitFor();
  await page.getByLabel('Phone number or e-mail address for the reminder').fill('call me');
  await page.getByRole('button', { name: 'Book', exact: true }).click();
  await page.locator('.govuk-error-summary').getByText('Give a phone number or an e-mail address for the reminder').waitFor();
  await checkA11y(page, 'booking with a mistake');
  await page.getByLabel('Phone number or e-mail address for the reminder').fill('+32 2 555 0100');
  await page.getByRole('button', { name: 'Book', exact: true }).click();
  await page.getByRole('heading', { name: 'Appointment booked' }).waitFor();
  const reference = (await page.getByTestId('appointment-reference').textContent()).trim();
  assert.match(reference, /^[2-9A-Z]{4}-[2-9A-Z]{4}$/);
  await checkA11y(page, 'booked');
  await shot('booked');

  // That day's appointments: cancel it.
  await page.getByRole('link', { name: "That day's appointments" }).click();
  const booked = page.getByTestId('office-appointments').getByRole('row').filter({ hasText: reference });
  assert.match(await booked.textContent(), /09:00\s*Passports\s*[2-9A-Z-]+\s*Booked\s*Visitor/);
  await checkA11y(page, 'appointments');
  await booked.getByRole('button', { name: `Cancel ${reference}` }).click();
  await page.getByText(`Appointment ${reference} cancelled`).waitFor();
  assert.match(await page.getByTestId('office-appointments').getByRole('row').filter({ hasText: reference }).textContent(), /Cancelled/);

  // The manager's performance page: figures, the chart (drawn on the server) and the CSV.
  await page.getByRole('link', { name: 'Performance', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Performance' }).waitFor();
  await page.getByTestId('metrics-contacts').waitFor();
  await checkA11y(page, 'performance');
  await shot('performance');

  // A citizen, without an account, from the service directory: book online, then cancel.
  const visitorContext = await browser.newContext({ baseURL: server.url, bypassCSP: true });
  visitorContext.setDefaultTimeout(kActionTimeoutMs);
  const visitor = await visitorContext.newPage();
  await visitor.goto('/directory/services/866a3fa4-e928-51bd-b188-d2bdf0b56f9e');
  await visitor.getByRole('heading', { level: 1, name: 'Registering a birth or a death' }).waitFor();
  await visitor.getByRole('button', { name: 'Book an appointment at Riverside One-Stop Centre' }).click();
  await visitor.getByRole('heading', { level: 2, name: 'When would you like to come for Registrations and documents?' }).waitFor();
  await checkA11y(visitor, 'booking online');
  await visitor.getByRole('button', { name: 'Book the appointment' }).click();
  await visitor.locator('.govuk-error-summary').getByText('Choose a time').waitFor();
  await checkA11y(visitor, 'booking online with a mistake');
  await visitor.locator('input[name="slot"]').first().check();
  await visitor.getByLabel('Your phone number or e-mail address').fill('parent@example.org');
  await visitor.getByRole('button', { name: 'Book the appointment' }).click();
  await visitor.getByRole('heading', { name: 'Your appointment is booked' }).waitFor();
  const own = (await visitor.getByTestId('appointment-reference').textContent()).trim();
  await checkA11y(visitor, 'booked online');
  await visitor.goto('/appointments/manage');
  await visitor.getByLabel('Your reference').fill(own.toLowerCase().replace('-', ''));
  await visitor.getByRole('button', { name: 'Find it' }).click();
  assert.equal(await visitor.getByTestId('appointment-state').textContent(), 'Booked');
  await checkA11y(visitor, 'an appointment found by its reference');
  await visitor.getByRole('button', { name: 'Cancel the appointment' }).click();
  await visitor.getByText('Your appointment is cancelled').waitFor();
  assert.equal(await visitor.getByTestId('appointment-state').textContent(), 'Cancelled');
  await visitorContext.close();
});
