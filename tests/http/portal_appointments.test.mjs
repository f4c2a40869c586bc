// A person's appointments in the portal: they book a free time at an office (none chosen first,
// named), see it among their appointments, move it to another time of the same service (the old
// place freed only once the new one is booked) and cancel it; no one else can touch it, and a
// representative without the right to act for the person cannot book.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/portal_appointments.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { hiddenCsrf, linkedCitizen, prepareDatabase, serve, signedInCitizen, sql } from './helpers.mjs';

const T = { timeout: 90_000 };

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 4, prefix: 'onedoor-portal-appointments-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
});

test('a person books, moves and cancels an appointment from their account', T, async () => {
  const person = Number(await sql(db, 'SELECT min(id) FROM persons'));
  const ana = await linkedCitizen(server.url, db, person, { name: 'Ana Book', email: 'ana.book@example.org' });
  let page = await ana.go('GET', '/portal/appointments');
  assert.equal(page.status, 200);
  assert.match(page.text, /You have no appointment coming/);
  const office = /<option value="(\d+)"/.exec(page.text)?.[1];
  assert.ok(office, 'an office with free times is offered');
  page = await ana.go('GET', `/portal/appointments?office=${office}`);
  const slots = [...page.text.matchAll(/name="slot" type="radio" value="(\d+)"/g)].map((m) => m[1]);
  assert.ok(slots.length >= 2, `free times: ${slots.length}`);

  // None chosen: named, with the office's times still there to choose from, the summary's link
  // on the first of them; then booked.
  const action = /<form method="post" action="([^"]+)"/.exec(page.text.slice(page.text.indexOf('name="slot"') - 2000))[1].replaceAll('&amp;', '&');
  assert.equal(action, `/portal/appointments?office=${office}`);
  const none = await ana.go('POST', action, { csrf_token: hiddenCsrf(page.text) });
  assert.equal(none.status, 400);
  assert.match(none.text, new RegExp(`href="#slot-${slots[0]}">Choose a time`));
  assert.match(none.text, new RegExp(`id="slot-${slots[0]}" name="slot"`), 'the times are shown again');
  const booked = await ana.go('POST', action, { csrf_token: hiddenCsrf(page.text), slot: slots[0] });
  assert.equal(booked.status, 303, booked.text.slice(0, 300));
  page = await ana.go('GET', booked.headers.get('location'));
  assert.match(page.text, /Your appointment is booked/);
  const reference = /data-testid="coming"[\s\S]*?<td class="govuk-table__cell">([2-9A-Z]{4}-[2-9A-Z]{4})<\/td>/.exec(page.text)?.[1];
  assert.ok(reference, page.text.slice(0, 200));
  assert.equal(await sql(db, `SELECT person_id || '|' || state || '|' || slot_id FROM appointments WHERE reference = '${reference}'`), `${person}|booked|${slots[0]}`);
  assert.equal(await sql(db, `SELECT count(*) FROM outgoing_messages m JOIN appointments a ON a.id = m.appointment_id WHERE a.reference = '${reference}' AND m.state = 'queued'`), '1');

  // Moved to another time of the same service: the new one booked, the old one freed.
  const move = await ana.go('GET', `/portal/appointments/${reference}/move`);
  assert.equal(move.status, 200);
  const queue = await sql(db, `SELECT queue_id FROM appointment_slots WHERE id = ${slots[0]}`);
  const other = [...move.text.matchAll(/name="slot" type="radio" value="(\d+)"/g)].map((m) => m[1]).find((s) => s !== slots[0]);
  assert.ok(other);
  assert.equal(await sql(db, `SELECT queue_id FROM appointment_slots WHERE id = ${other}`), queue);
  const moved = await ana.go('POST', `/portal/appointments/${reference}/move`, { csrf_token: hiddenCsrf(move.text), slot: other });
  assert.equal(moved.status, 303, moved.text.slice(0, 300));
  assert.equal(await sql(db, `SELECT state FROM appointments WHERE reference = '${reference}'`), 'cancelled');
  assert.equal(await sql(db, `SELECT booked FROM appointment_slots WHERE id = ${slots[0]}`), '0');
  assert.equal(await sql(db, `SELECT count(*) FROM appointments WHERE person_id = ${person} AND state = 'booked' AND slot_id = ${other}`), '1');
  page = await ana.go('GET', moved.headers.get('location'));
  assert.match(page.text, /Your appointment is moved/);
  const current = /data-testid="coming"[\s\S]*?<td class="govuk-table__cell">([2-9A-Z]{4}-[2-9A-Z]{4})<\/td>/.exec(page.text)[1];

  // No one else: another person cannot move or cancel it.
  const bo = await signedInCitizen(server.url, db, { name: 'Bo Other', email: 'bo.other.book@example.org' });
  const boHome = await bo.go('GET', '/portal');
  assert.equal((await bo.go('POST', `/portal/appointments/${current}/cancel`, { csrf_token: hiddenCsrf(boHome.text) })).status, 303,
    'an unlinked account is sent to its account page');
  const carl = await linkedCitizen(server.url, db, Number(await sql(db, `SELECT min(id) FROM persons WHERE id <> ${person}`)),
    { name: 'Carl Other', email: 'carl.other@example.org' });
  const carlHome = await carl.go('GET', '/portal/appointments');
  assert.equal((await carl.go('POST', `/portal/appointments/${current}/cancel`, { csrf_token: hiddenCsrf(carlHome.text) })).status, 404);
  assert.equal((await carl.go('GET', `/portal/appointments/${current}/move`)).status, 404);
  assert.equal(await sql(db, `SELECT state FROM appointments WHERE reference = '${current}'`), 'booked');

  // Cancelled by the person.
  const cancelled = await ana.go('POST', `/portal/appointments/${current}/cancel`, { csrf_token: hiddenCsrf(page.text) });
  assert.equal(cancelled.status, 303);
  assert.equal(await sql(db, `SELECT state FROM appointments WHERE reference = '${current}'`), 'cancelled');
  page = await ana.go('GET', '/portal/appointments?cancelled=1');
  assert.match(page.text, /Your appointment is cancelled/);
  assert.match(page.text, /Earlier and cancelled appointments/);
  // The person's access log shows their own look at their appointments, when asked for.
  assert.doesNotMatch((await ana.go('GET', '/portal')).text, /Looked at your appointments/);
  assert.match((await ana.go('GET', '/portal?all=1')).text, /Looked at your appointments/);
  // Her cancellations (the move's and this one) are hers in the audit log, not an anonymous
  // reference's, and so among her own actions, not others'.
  const cancels = await sql(db, `SELECT DISTINCT actor || '/' || purpose FROM audit_log WHERE action = 'appointment.cancel' AND user_id = (SELECT user_id FROM audit_log WHERE action = 'appointment.list' ORDER BY seq DESC LIMIT 1)`);
  assert.match(cancels, /^citizen-[0-9a-f]+\/own_record$/);
  assert.equal(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'appointment.cancel' AND user_id = 0"), '0');
  assert.doesNotMatch(/data-testid="portal-access-log"[\s\S]*?<\/table>/.exec((await ana.go('GET', '/portal')).text)?.[0] ?? '', /Cancelled an appointment/);

  // A representative who may only see: sees the list, cannot book.
  await ana.go('POST', '/portal/representatives', { csrf_token: hiddenCsrf(page.text), rep_email: 'bo.other.book@example.org', relationship: 'my neighbour' });
  const grant = await sql(db, 'SELECT max(id) FROM representatives');
  await bo.go('POST', '/portal/act-for', { csrf_token: hiddenCsrf(boHome.text), representation: grant });
  assert.equal((await bo.go('GET', '/portal/appointments')).status, 200);
  assert.equal((await bo.go('POST', '/portal/appointments', { csrf_token: hiddenCsrf(boHome.text), slot: slots[0] })).status, 403);

  // Holding the most one may (three), a person still moves one of them: the one moved does not count.
  page = await ana.go('GET', `/portal/appointments?office=${office}`);
  const free = [...page.text.matchAll(/name="slot" type="radio" value="(\d+)"/g)].map((m) => m[1]);
  assert.ok(free.length >= 4, `free times: ${free.length}`);
  for (const slot of free.slice(0, 3)) {
    const r = await ana.go('POST', '/portal/appointments', { csrf_token: hiddenCsrf(page.text), slot });
    assert.equal(r.status, 303, r.text.slice(0, 300));
  }
  const fourth = await ana.go('POST', '/portal/appointments', { csrf_token: hiddenCsrf(page.text), slot: free[3] });
  assert.equal(fourth.status, 400, 'a fourth is refused');
  const held = await sql(db, `SELECT reference FROM appointments WHERE person_id = ${person} AND state = 'booked' AND slot_id = ${free[0]}`);
  const target = free.slice(3).find((s) => s !== free[0]);
  const movedAtLimit = await ana.go('POST', `/portal/appointments/${held}/move`, { csrf_token: hiddenCsrf(page.text), slot: target });
  assert.equal(movedAtLimit.status, 303, movedAtLimit.text.slice(0, 500));
  assert.equal(await sql(db, `SELECT state FROM appointments WHERE reference = '${held}'`), 'cancelled');
});
