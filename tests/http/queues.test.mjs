// The access centre's queue over HTTP, with the demo's one-stop centre (queues A, B, C; counters
// 1 to 3): visitors check in, a counter calls them by priority then arrival, transfers one to
// another queue, and the display's public feed shows each step; a ticket is still there after
// the server restarts.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/queues.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { assertProblem, hiddenCsrf, issueToken, login, prepareDatabase, request, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;
let dir;
let desk;
let office;
let queues;
let counter;

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-queues-' });
  db = prepared.db;
  dir = prepared.dir;
  server = await serve(db, { logDir: dir });
  desk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });
  office = Number(await sql(db, "SELECT min(o.id) FROM offices o JOIN agencies a ON a.id = o.agency_id WHERE a.code = 'city-social'"));
  counter = Number(await sql(db, `SELECT id FROM counters WHERE office_id = ${office} AND name = 'Counter 1'`));
});

after(async () => {
  await server?.stop();
});

test('visitors are called by priority then arrival, and the display sees every step', T, async () => {
  const list = await request(server.url, 'GET', `/api/v1/offices/${office}/queues`);
  assert.equal(list.status, 200);
  queues = Object.fromEntries(list.body.items.map((q) => [q.code, q]));
  assert.deepEqual(Object.keys(queues), ['A', 'B', 'C']);
  const a1 = await desk.post(`/api/v1/queues/${queues.A.id}/tickets`, {});
  const a2 = await desk.post(`/api/v1/queues/${queues.A.id}/tickets`, {});
  const b1 = await desk.post(`/api/v1/queues/${queues.B.id}/tickets`, { priority: 'accessibility' });
  assert.equal(a1.status, 201, a1.text);
  assert.equal(a1.body.label, 'A001');
  assert.equal(a2.body.label, 'A002');
  assert.equal(a2.body.position, 2);
  assertProblem(await desk.post(`/api/v1/queues/${queues.A.id}/tickets`, { priority: 'vip' }), 400, { fields: ['priority'] });
  assertProblem(await desk.post(`/api/v1/queues/${queues.A.id}/tickets`, { priority: 'vip', person_id: 'me' }), 400,
    { fields: ['priority', 'person_id'] });
  // Calling needs signing in at the counter.
  assertProblem(await desk.post(`/api/v1/counters/${counter}/call-next`, {}), 412);
  assert.equal((await desk.post(`/api/v1/counters/${counter}/sign-in`, {})).status, 200);
  const first = await desk.post(`/api/v1/counters/${counter}/call-next`, {});
  assert.equal(first.status, 200, first.text);
  assert.equal(first.body.ticket.label, 'B001', 'accessibility needs come first');
  assertProblem(await desk.post(`/api/v1/counters/${counter}/call-next`, {}), 412);
  assert.equal((await desk.post(`/api/v1/tickets/${b1.body.id}/actions`, { action: 'serve' })).body.state, 'serving');
  // B001 also needs the benefits desk: to queue A, keeping its priority and its arrival.
  const moved = await desk.post(`/api/v1/tickets/${b1.body.id}/actions`, { action: 'transfer', queue_id: queues.A.id });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.body.state, 'waiting');
  assert.equal(moved.body.queue.name, 'Benefits and money');
  const next = await desk.post(`/api/v1/counters/${counter}/call-next`, {});
  assert.equal(next.body.ticket.label, 'B001', 'it keeps its accessibility priority');
  await desk.post(`/api/v1/tickets/${b1.body.id}/actions`, { action: 'finish' });
  const third = await desk.post(`/api/v1/counters/${counter}/call-next`, {});
  assert.equal(third.body.ticket.label, 'A001');
  assert.equal((await desk.post(`/api/v1/tickets/${a1.body.id}/actions`, { action: 'recall' })).body.recalls, 1);
  assert.equal((await desk.post(`/api/v1/tickets/${a1.body.id}/actions`, { action: 'no_show' })).body.state, 'no_show');
  assertProblem(await desk.post(`/api/v1/tickets/${a1.body.id}/actions`, { action: 'serve' }), 412,
    { detail: /^A001 is marked as not come: it cannot be served$/ });
  assertProblem(await desk.post(`/api/v1/tickets/${b1.body.id}/actions`, { action: 'recall' }), 412,
    { detail: /^B001 is finished: it cannot be called again$/ });
  // The public views: no person, no priority (why someone goes first), and the feed of events in order.
  const pub = await request(server.url, 'GET', `/api/v1/tickets/${a2.body.id}`);
  assert.equal(pub.status, 200);
  assert.equal(pub.body.person_id, undefined);
  assert.equal(pub.body.priority, undefined);
  assert.equal((await request(server.url, 'GET', `/api/v1/tickets/${b1.body.id}`)).body.priority, undefined);
  assert.equal(pub.body.position, 1);
  const events = await request(server.url, 'GET', `/api/v1/offices/${office}/queue-events?after=0`);
  const b1Steps = events.body.items.filter((e) => e.label === 'B001').map((e) => e.action);
  assert.deepEqual(b1Steps, ['issued', 'called', 'serving', 'transferred', 'called', 'done']);
  const later = await request(server.url, 'GET', `/api/v1/offices/${office}/queue-events?after=${events.body.items.at(-1).id}`);
  assert.deepEqual(later.body.items, []);
  // Another agency's staff do not work this office's queue.
  const state = await login(server.url, 'frontdesk.state', { purpose: 'front_desk' });
  assertProblem(await state.post(`/api/v1/queues/${queues.A.id}/tickets`, {}), 403);
});

test('the desk: a check-in with a mistake keeps what was chosen; a stale call does not hide who is being served', T, async () => {
  const page = await desk.get('/desk');
  if (!/name="command" value="sign_out"/.test(page.text)) {
    assert.equal((await desk.post(`/api/v1/counters/${counter}/sign-in`, {})).status, 200);
  }
  const form = (fields) => desk.req('POST', '/desk', {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const wrong = await form({ command: 'check_in', queue: String(queues.B.id), priority: 'urgent', person: '99999' });
  assert.equal(wrong.status, 303);
  assert.match(wrong.headers.get('location'), /#checkin-person$/);
  const back = await desk.get(wrong.headers.get('location').replace(/#.*/, ''));
  assert.match(back.text, /href="#checkin-person">No person has id 99999/);
  assert.match(back.text, new RegExp(`<option value="${queues.B.id}" selected>`));
  assert.match(back.text, /<option value="urgent" selected>/);
  assert.match(back.text, /id="checkin-person" name="person" type="text" inputmode="numeric" value="99999"/);
  const noReference = await form({ command: 'check_in_appointment', reference: '  ' });
  assert.match((await desk.get(noReference.headers.get('location'))).text, /Enter the reference the visitor gives you, like K7Q2-9XWM/);

  // A visitor being served stays at the counter until finished: "Call next" from a page left open is refused.
  await desk.post(`/api/v1/queues/${queues.A.id}/tickets`, {});
  await desk.post(`/api/v1/queues/${queues.A.id}/tickets`, {});
  const called = await desk.post(`/api/v1/counters/${counter}/call-next`, {});
  assert.equal(called.status, 200, called.text);
  const ticket = called.body.ticket;
  assert.equal((await desk.post(`/api/v1/tickets/${ticket.id}/actions`, { action: 'serve' })).status, 200);
  const stale = await form({ command: 'call_next', counter: String(counter) });
  assert.equal(stale.status, 303);
  const refused = await desk.get(stale.headers.get('location'));
  assert.match(refused.text, new RegExp(`${ticket.label} is still being served at Counter 1: finish or transfer it first`));
  assert.equal((await request(server.url, 'GET', `/api/v1/tickets/${ticket.id}`)).body.state, 'serving');
  assert.equal((await desk.post(`/api/v1/tickets/${ticket.id}/actions`, { action: 'finish' })).status, 200);

  // A client checked in is named on the desk at once (a mistyped number shows), and the counter
  // that calls them sees why they go first and who they are.
  const registered = await desk.post('/api/v1/persons', { names: [{ use: 'official', given: 'Maria', family: 'Queuewell' }] });
  assert.equal(registered.status, 201, registered.text);
  const person = String(registered.body.id);
  const name = 'Maria Queuewell';
  const issued = await form({ command: 'check_in', queue: String(queues.A.id), priority: 'urgent', person });
  assert.equal(issued.status, 303);
  const shown = await desk.get(issued.headers.get('location'));
  const label = /Ticket (A\d+) issued for/.exec(shown.text)?.[1];
  assert.ok(shown.text.includes(`Ticket ${label} issued for ${name} (client ${person})`), shown.text.slice(0, 3000));
  assert.ok(!issued.headers.get('location').includes(encodeURIComponent(name.split(' ')[0])), 'no name in the address');
  const next = await desk.post(`/api/v1/counters/${counter}/call-next`, {});
  assert.equal(next.body.ticket.label, label);
  // Leaving the counter with the visitor still called is refused: they would wait there for no one.
  assertProblem(await desk.post(`/api/v1/counters/${counter}/sign-out`, {}), 412,
    { detail: new RegExp(`^${label} is still called to Counter 1: finish it, transfer it or mark it not here first$`) });
  const atCounter = await desk.get('/desk');
  assert.match(atCounter.text, /data-testid="current-priority">Urgent</);
  assert.ok(atCounter.text.includes(`href="/clients/${person}">${name} (client ${person})</a>`));
  assert.equal((await desk.post(`/api/v1/tickets/${next.body.ticket.id}/actions`, { action: 'finish' })).status, 200);

  // A visitor checked in to the wrong queue is moved, keeping their place; one who leaves before
  // being called is taken off the queue, so that no counter calls them.
  const desked = await desk.get('/desk');
  const waiting = (fields) => desk.req('POST', '/desk', {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(desked.text), office: String(office), ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const wrongQueue = await desk.post(`/api/v1/queues/${queues.A.id}/tickets`, {});
  const leaver = await desk.post(`/api/v1/queues/${queues.A.id}/tickets`, {});
  const moved = await waiting({ command: 'waiting_move', label: ` ${wrongQueue.body.label.toLowerCase()} `, queue: String(queues.B.id) });
  assert.equal(moved.status, 303);
  assert.match((await desk.get(moved.headers.get('location'))).text, new RegExp(`${wrongQueue.body.label} moved to [^<]+, keeping its place`));
  const after = (await request(server.url, 'GET', `/api/v1/tickets/${wrongQueue.body.id}`)).body;
  assert.deepEqual([after.state, after.queue.id, after.arrived_at], ['waiting', queues.B.id, wrongQueue.body.arrived_at]);
  const gone = await waiting({ command: 'waiting_left', label: leaver.body.label });
  assert.match((await desk.get(gone.headers.get('location'))).text, new RegExp(`${leaver.body.label} is off the queue: the visitor left`));
  assert.equal((await request(server.url, 'GET', `/api/v1/tickets/${leaver.body.id}`)).body.state, 'no_show');
  const again = await waiting({ command: 'waiting_left', label: leaver.body.label });
  assert.match((await desk.get(again.headers.get('location'))).text, new RegExp(`${leaver.body.label} is not waiting: it is over`));
  const nobody = await waiting({ command: 'waiting_left', label: 'Z999' });
  assert.match((await desk.get(nobody.headers.get('location'))).text, /There is no ticket Z999 at this office today/);
  // Take the moved one off too, so that the later tests start with empty queues.
  assert.equal((await desk.post(`/api/v1/tickets/${wrongQueue.body.id}/actions`, { action: 'no_show' })).status, 200);
});

test('a ticket is never lost across a restart', T, async () => {
  const t = await desk.post(`/api/v1/queues/${queues.C.id}/tickets`, {});
  assert.equal(t.status, 201);
  await server.stop();
  server = await serve(db, { logDir: dir });
  const back = await request(server.url, 'GET', `/api/v1/tickets/${t.body.id}`);
  assert.equal(back.status, 200);
  assert.equal(back.body.state, 'waiting');
  assert.equal(back.body.label, 'C001');
});

test('appointments: slots opened, booked with a reference, cancelled, and never overbooked', T, async () => {
  const manager = await login(server.url, 'manager.city', { purpose: 'service_delivery' });
  desk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });  // the server restarted on another port
  const first = new Date(Date.now() + 3 * 24 * 3600 * 1000);
  first.setUTCHours(9, 0, 0, 0);
  const iso = first.toISOString().replace('.000Z', 'Z');
  const made = await manager.post(`/api/v1/queues/${queues.B.id}/slots`, { first: iso, count: 2, minutes: 20, capacity: 1 });
  assert.equal(made.status, 201, made.text);
  assert.equal(made.body.items.length, 2);
  assertProblem(await desk.post(`/api/v1/queues/${queues.B.id}/slots`, { first: iso }), 403);
  assertProblem(await manager.post(`/api/v1/queues/${queues.B.id}/slots`, { first: 'tomorrow at nine' }), 400, { fields: ['first'] });
  // A slot overlapping one of the queue's (09:10 against 09:00-09:20) is refused, and none is opened.
  const overlapping = new Date(first.getTime() + 10 * 60 * 1000).toISOString().replace('.000Z', 'Z');
  const slotsBefore = await sql(db, 'SELECT count(*) FROM appointment_slots');
  assertProblem(await manager.post(`/api/v1/queues/${queues.B.id}/slots`, { first: overlapping, minutes: 30 }), 400,
    { fields: ['first'], detail: /a slot would overlap one of the queue's/ });
  assert.equal(await sql(db, 'SELECT count(*) FROM appointment_slots'), slotsBefore);
  const free = await request(server.url, 'GET', `/api/v1/queues/${queues.B.id}/slots`);
  assert.equal(free.status, 200);
  assert.equal(free.body.items.length, 2);
  const slot = made.body.items[0].id;
  assertProblem(await desk.post('/api/v1/appointments', { slot_id: slot, contact: 'x' }), 400, { fields: ['contact'] });
  const booked = await desk.post('/api/v1/appointments', { slot_id: slot, contact: '+1 555 0199' });
  assert.equal(booked.status, 201, booked.text);
  assert.match(booked.body.reference, /^[2-9A-Z]{4}-[2-9A-Z]{4}$/);
  assertProblem(await desk.post('/api/v1/appointments', { slot_id: slot, contact: 'a@example.org' }), 412);
  assert.equal((await request(server.url, 'GET', `/api/v1/queues/${queues.B.id}/slots`)).body.items.length, 1);
  // By its reference, without signing in: see it, not check in three days early, cancel it.
  const ref = booked.body.reference;
  const seen = await request(server.url, 'GET', `/api/v1/appointments/${ref.toLowerCase().replace('-', '')}`);
  assert.equal(seen.status, 200);
  assert.equal(seen.body.state, 'booked');
  assertProblem(await request(server.url, 'POST', `/api/v1/appointments/${ref}/check-in`), 412);
  // Another agency's desk is told where the appointment is, on its own desk page, and nothing is done.
  const stateDesk = await login(server.url, 'frontdesk.state', { purpose: 'front_desk' });
  const statePage = await stateDesk.get('/desk');
  const elsewhere = await stateDesk.req('POST', '/desk', {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(statePage.text), command: 'check_in_appointment', reference: ref }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(elsewhere.status, 303);
  const told = await stateDesk.get(elsewhere.headers.get('location'));
  assert.match(told.text, /The appointment is at [^<]+, another agency&apos;s office: the visitor checks in there/);
  assert.equal((await request(server.url, 'GET', `/api/v1/appointments/${ref}`)).body.state, 'booked');
  const cancelled = await request(server.url, 'POST', `/api/v1/appointments/${ref}/cancel`);
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.body.state, 'cancelled');
  assertProblem(await request(server.url, 'GET', '/api/v1/appointments/NOPE-NOPE'), 404);
  assert.equal(Number(await sql(db, "SELECT count(*) FROM outgoing_messages WHERE state = 'cancelled'")), 1);
  assert.equal((await request(server.url, 'GET', `/api/v1/queues/${queues.B.id}/slots`)).body.items.length, 2);
});

test('opening hours: public, set by the office\'s managers with every mistake named, and kept by the kiosk and the slots', T, async () => {
  const manager = await login(server.url, 'manager.city', { purpose: 'service_delivery' });
  desk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });
  // Another agency's demo office keeps office hours: public, in words and as data.
  const other = Number(await sql(db, "SELECT min(o.id) FROM offices o JOIN agencies a ON a.id = o.agency_id WHERE a.code <> 'city-social'"));
  const shown = await request(server.url, 'GET', `/api/v1/offices/${other}/hours`);
  assert.equal(shown.status, 200, shown.text);
  assert.equal(shown.body.hours.length, 6);
  assert.deepEqual(shown.body.hours[0], { day: 'monday', opens: '09:00', closes: '17:00' });
  assert.deepEqual(shown.body.summary, ['Monday to Friday: 09:00 to 17:00', 'Saturday: 09:00 to 12:00', 'Sunday: closed']);
  assert.ok(shown.body.closures.some((c) => c.reason === 'Christmas Day'));
  assert.equal(shown.body.own_time_zone, false);
  assert.equal(typeof shown.body.open_now, 'boolean');
  assert.ok(shown.body.open_now ? shown.body.closes_at : shown.body.next_opening);
  assertProblem(await request(server.url, 'GET', '/api/v1/offices/999999/hours'), 404);
  // Only the office's own managers change them.
  assertProblem(await manager.put(`/api/v1/offices/${other}/hours`, { hours: [] }), 403);
  assertProblem(await desk.put(`/api/v1/offices/${office}/hours`, { hours: [] }), 403);
  const wrong = await manager.put(`/api/v1/offices/${office}/hours`, {
    time_zone: 'Nowhere/Land',
    hours: [{ day: 'monday', opens: '09:00', closes: '17:00' }, { day: 'funday', opens: '9', closes: '08:00' }],
    closures: [{ date: '2026-02-30', reason: 'No such day' }],
  });
  assertProblem(wrong, 400, { fields: ['hours/1/day', 'hours/1/opens', 'closures/0/date'] });
  const zone = await manager.put(`/api/v1/offices/${office}/hours`, { time_zone: 'Nowhere/Land' });
  assertProblem(zone, 400, { fields: ['time_zone'] });
  assert.equal((await request(server.url, 'GET', `/api/v1/offices/${office}/hours`)).body.hours.length, 0);

  // Open only on a day two days from now (UTC): the kiosk refuses, saying when it opens; the desk still checks in.
  const days = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
  const later = new Date(Date.now() + 2 * 24 * 3600 * 1000);
  const set = await manager.put(`/api/v1/offices/${office}/hours`, {
    time_zone: 'UTC', hours: [{ day: days[later.getUTCDay()], opens: '09:00', closes: '12:00' }],
  });
  assert.equal(set.status, 200, set.text);
  assert.equal(set.body.open_now, false);
  const opens = new Date(later);
  opens.setUTCHours(9, 0, 0, 0);
  assert.equal(set.body.next_opening, opens.toISOString());
  const kiosk = await request(server.url, 'GET', `/offices/${office}/kiosk`);
  assert.equal(kiosk.status, 200);
  assert.match(kiosk.text, /The office is closed/);
  const form = new URLSearchParams({ queue: String(queues.A.id), csrf_token: 'x' }).toString();
  const refused = await request(server.url, 'POST', `/offices/${office}/kiosk`, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form,
  });
  assert.equal(refused.status, 400);
  assert.match(refused.text, new RegExp(`The office is closed; it opens ${days[later.getUTCDay()].replace(/^./, (c) => c.toUpperCase())} at 09:00`));
  // The waiting room's screen says when it opens, and does not ask anyone to take a ticket.
  const screen = await request(server.url, 'GET', `/offices/${office}/display`);
  assert.equal(screen.status, 200);
  assert.match(screen.text, /data-testid="display-hours">Closed\. It opens/);
  assert.doesNotMatch(screen.text, /Please take a ticket/);
  assert.equal((await desk.post(`/api/v1/queues/${queues.A.id}/tickets`, { priority: 'normal' })).status, 201);
  // Slots only within the hours.
  const inside = opens.toISOString().replace('.000Z', 'Z');
  assertProblem(await manager.post(`/api/v1/queues/${queues.A.id}/slots`, { first: inside, count: 13, minutes: 15 }), 400, { fields: ['count'] });
  const made = await manager.post(`/api/v1/queues/${queues.A.id}/slots`, { first: inside, count: 12, minutes: 15 });
  assert.equal(made.status, 201, made.text);
  const booked = await desk.post('/api/v1/appointments', { slot_id: made.body.items[0].id, contact: 'visitor@example.org' });
  assert.equal(booked.status, 201, booked.text);
  // The office's appointments, for its own staff only.
  const until = new Date(opens.getTime() + 3600 * 1000).toISOString().replace('.000Z', 'Z');
  const listed = await desk.get(`/api/v1/offices/${office}/appointments?from=${inside}&to=${until}`);
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual(listed.body.items.map((a) => a.reference), [booked.body.reference]);
  assert.equal(listed.body.items[0].person_id, null);
  const ngo = await login(server.url, 'caseworker.ngo', { purpose: 'case_work' });
  assertProblem(await ngo.get(`/api/v1/offices/${office}/appointments`), 403);
  // A client's appointment in the list is a read of theirs, in their access log; a partner
  // system sees the list (and the references that cancel) only with the queues' scope.
  const client = Number(await sql(db, 'SELECT min(id) FROM persons'));
  const theirs = await desk.post('/api/v1/appointments', { slot_id: made.body.items[1].id, person_id: client, contact: 'client@example.org' });
  assert.equal(theirs.status, 201, theirs.text);
  const seen = Number(await sql(db, `SELECT count(*) FROM audit_log WHERE action = 'appointment.list' AND person_id = ${client}`));
  assert.equal((await desk.get(`/api/v1/offices/${office}/appointments?from=${inside}&to=${until}`)).status, 200);
  assert.equal(Number(await sql(db, `SELECT count(*) FROM audit_log WHERE action = 'appointment.list' AND person_id = ${client}`)), seen + 1);
  const admin = await login(server.url, 'admin.city', { purpose: 'service_delivery' });
  const metricsOnly = await issueToken(admin, { name: 'dashboard', roles: ['caseworker'], scopes: ['metrics:read'] });
  const noScope = await request(server.url, "GET", `/api/v1/offices/${office}/appointments`, { headers: { Authorization: `Bearer ${metricsOnly}` } });
  assertProblem(noScope, 403, { detail: /the token needs the queues:write scope/ });
  assertProblem(await desk.get(`/api/v1/offices/${office}/appointments?from=yesterday`), 400, { fields: ['from'] });

  // The day closed after its slots were opened: they are no longer offered, nor booked.
  const freeA = async () => (await request(server.url, 'GET', `/api/v1/queues/${queues.A.id}/slots?from=${inside}`)).body.items.map((x) => x.id);
  assert.ok((await freeA()).includes(made.body.items[2].id));
  // Closed on the office's page: the manager is told of the appointments booked that day.
  const officePage = await manager.get(`/offices/${office}`);
  const nextDay = ((later.getUTCDay() + 1) % 7) || 7;  // the form's days run Monday (1) to Sunday (7)
  const closed = await manager.req('POST', `/offices/${office}/hours`, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(officePage.text), time_zone: 'UTC', [`day${nextDay}`]: '09:00-12:00' }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(closed.status, 303, closed.text.slice(0, 300));
  const told = await manager.get(closed.headers.get('location'));
  assert.match(told.text, /Opening hours saved\. (One booked appointment falls|\d+ booked appointments fall) outside them now, the first on \w+day/);
  assert.deepEqual(await freeA(), []);
  const tooLate = await desk.post('/api/v1/appointments', { slot_id: made.body.items[2].id, contact: 'late@example.org' });
  assertProblem(tooLate, 412, { detail: /the office is no longer open at that time; choose another/ });
  // The office's page still lists them for staff, marked, with no Book link.
  const officeNow = await desk.get(`/offices/${office}`);
  assert.match(officeNow.text, /Outside the opening hours/);
  assert.ok(!officeNow.text.includes(`/appointments/book?slot=${made.body.items[2].id}"`), 'no Book link for a slot outside the hours');

  // No hours again: open at all times.
  const cleared = await manager.put(`/api/v1/offices/${office}/hours`, {});
  assert.equal(cleared.status, 200);
  assert.equal(cleared.body.open_now, true);
  assert.deepEqual(cleared.body.summary, ['Open at all times']);
  assert.match((await request(server.url, 'GET', `/offices/${office}/display`)).text, /Please take a ticket/);
  const taken = await request(server.url, 'POST', `/offices/${office}/kiosk`, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form,
  });
  assert.equal(taken.status, 201, taken.text.slice(0, 300));
});

test('booking online without an account: a free time, a reference, at most three for one contact, and cancelling by the reference', T, async () => {
  const manager = await login(server.url, 'manager.city', { purpose: 'service_delivery' });
  const start = new Date(Date.now() + 5 * 24 * 3600 * 1000);
  start.setUTCHours(14, 0, 0, 0);
  const made = await manager.post(`/api/v1/queues/${queues.B.id}/slots`, {
    first: start.toISOString().replace('.000Z', 'Z'), count: 5, minutes: 10, capacity: 1,
  });
  assert.equal(made.status, 201, made.text);
  const page = await request(server.url, 'GET', `/offices/${office}/book`);
  assert.equal(page.status, 200);
  assert.match(page.text, new RegExp(`href="/offices/${office}/book\\?queue=${queues.B.id}"`));
  const form = (fields) => ({
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ queue: String(queues.B.id), ...fields }).toString(),
  });
  const book = (slot, contact) => request(server.url, 'POST', `/offices/${office}/book`, form({ slot: String(slot), contact }));
  const slots = made.body.items.map((s) => s.id);
  // Mistakes come back on the form.
  const noTime = await book('', 'visitor@example.org');
  assert.equal(noTime.status, 400);
  assert.match(noTime.text, /Choose a time/);
  const noContact = await book(slots[0], 'soon');
  assert.equal(noContact.status, 400);
  assert.match(noContact.text, /Give a phone number or an e-mail address for the reminder/);
  // A slot of another office's queue is not offered here.
  const elsewhere = await request(server.url, 'POST', `/offices/${office}/book`, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ queue: String(queues.A.id), slot: String(slots[0]), contact: 'visitor@example.org' }).toString(),
  });
  assert.equal(elsewhere.status, 400);
  const references = [];
  for (const slot of slots.slice(0, 3)) {
    const r = await book(slot, '+1 555 0142');
    assert.equal(r.status, 201, r.text.slice(0, 300));
    references.push(/data-testid="appointment-reference">([2-9A-Z-]+)</.exec(r.text)[1]);
  }
  // The same time again for the same contact (a form sent twice) is the booking they have.
  const twice = await book(slots[1], '+1 555 0142');
  assert.equal(twice.status, 400);
  assert.match(twice.text, /This time is booked already for this person or contact/);
  assert.equal(await sql(db, `SELECT count(*) FROM appointments WHERE slot_id = ${slots[1]} AND state = 'booked'`), '1');
  const fourth = await book(slots[3], '+1 555 0142');
  assert.equal(fourth.status, 400);
  assert.match(fourth.text, /That contact has 3 appointments booked at the office already/);
  const taken = await book(slots[0], 'someone.else@example.org');
  assert.equal(taken.status, 400);
  assert.match(taken.text, /The slot is full; choose another/);
  // The booking is online: no client, recorded as such.
  assert.equal(await sql(db, `SELECT booked_by FROM appointments WHERE reference = '${references[0]}'`), 'online');
  // Found and cancelled by the reference.
  const found = await request(server.url, 'GET', `/appointments/manage?reference=${references[0].toLowerCase()}`);
  assert.equal(found.status, 200);
  assert.match(found.text, /data-testid="appointment-state">Booked</);
  const cancel = await request(server.url, 'POST', '/appointments/manage/cancel', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ reference: references[0] }).toString(),
  });
  assert.equal(cancel.status, 303);
  const after = await request(server.url, 'GET', cancel.headers.get('location'));
  assert.match(after.text, /Your appointment is cancelled/);
  assert.match(after.text, /data-testid="appointment-state">Cancelled</);
  const again = await request(server.url, 'POST', '/appointments/manage/cancel', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ reference: references[0] }).toString(),
  });
  assert.equal(again.status, 409);
  const unknown = await request(server.url, 'GET', '/appointments/manage?reference=2222-2222');
  assert.equal(unknown.status, 404);
  assert.match(unknown.text, /we cannot find an appointment with that reference/i);
  // With one cancelled, the contact may book again.
  assert.equal((await book(slots[3], '+1 555 0142')).status, 201);
});

test('appointment references: an address that tries many that do not exist is slowed down, others are not', T, async () => {
  const manager = await login(server.url, 'manager.city', { purpose: 'service_delivery' });
  desk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });
  const first = new Date(Date.now() + 5 * 24 * 3600 * 1000);
  first.setUTCHours(14, 0, 0, 0);
  const made = await manager.post(`/api/v1/queues/${queues.C.id}/slots`,
    { first: first.toISOString().replace('.000Z', 'Z'), count: 1, minutes: 20, capacity: 1 });
  assert.equal(made.status, 201, made.text);
  const booked = await desk.post('/api/v1/appointments', { slot_id: made.body.items[0].id, contact: '+1 555 0177' });
  assert.equal(booked.status, 201, booked.text);
  const ref = booked.body.reference;
  // Clients behind the proxy (this test's loopback peer is trusted by default), told apart by X-Forwarded-For.
  const from = (address) => ({ headers: { 'X-Forwarded-For': `198.51.100.99, ${address}` } });
  const guesser = from('203.0.113.7');
  const neighbour = from('203.0.113.8');
  for (let i = 0; i < 10; i += 1) {
    const guess = `2345-${String(6780 + i).replace(/[01]/g, '9')}`;
    assertProblem(await request(server.url, 'GET', `/api/v1/appointments/${guess}`, guesser), 404);
  }
  const refused = await request(server.url, 'GET', '/api/v1/appointments/2345-6789', guesser);
  assertProblem(refused, 429, { detail: /too many appointment references that do not exist were tried from your address; try again in 15 minutes/ });
  const wait = Number(refused.headers.get('retry-after'));
  assert.ok(wait > 0 && wait <= 900, `Retry-After ${wait}`);
  // Refused even with the right reference, and nothing is cancelled.
  assertProblem(await request(server.url, 'GET', `/api/v1/appointments/${ref}`, guesser), 429);
  assertProblem(await request(server.url, 'POST', `/api/v1/appointments/${ref}/cancel`, guesser), 429);
  assert.equal(await sql(db, `SELECT state FROM appointments WHERE reference = '${ref}'`), 'booked');
  // Checking in is not slowed (a kiosk's visitors share its address): five days early, it is 412.
  assertProblem(await request(server.url, 'POST', `/api/v1/appointments/${ref}/check-in`, guesser), 412);
  const page = await request(server.url, 'GET', `/appointments/manage?reference=${ref}`, guesser);
  assert.equal(page.status, 429);
  assert.ok(Number(page.headers.get('retry-after')) > 0);
  assert.match(page.text, /Too many appointment references that do not exist were tried from your address: try again in 15 minutes/);
  assert.doesNotMatch(page.text, /data-testid="appointment-state"/);
  const cancelPage = await request(server.url, 'POST', '/appointments/manage/cancel', {
    headers: { ...guesser.headers, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ reference: ref }).toString(),
  });
  assert.equal(cancelPage.status, 429);
  assert.equal(await sql(db, `SELECT state FROM appointments WHERE reference = '${ref}'`), 'booked');
  // Another address is not slowed: it finds the appointment, on the API and the page.
  const seen = await request(server.url, 'GET', `/api/v1/appointments/${ref}`, neighbour);
  assert.equal(seen.status, 200, seen.text);
  assert.equal(seen.body.state, 'booked');
  const neighbourPage = await request(server.url, 'GET', `/appointments/manage?reference=${ref}`, neighbour);
  assert.equal(neighbourPage.status, 200);
  assert.match(neighbourPage.text, /data-testid="appointment-state">Booked</);
  // Right references cost nothing: many lookups of one that exists are never slowed.
  for (let i = 0; i < 12; i += 1) {
    assert.equal((await request(server.url, 'GET', `/api/v1/appointments/${ref}`, neighbour)).status, 200);
  }
});

test('booking online: one address books at most 20 an hour (online_bookings_per_hour), others still can', T, async () => {
  const manager = await login(server.url, 'manager.city', { purpose: 'service_delivery' });
  const start = new Date(Date.now() + 5 * 24 * 3600 * 1000);
  start.setUTCHours(14, 20, 0, 0);
  const made = await manager.post(`/api/v1/queues/${queues.C.id}/slots`,
    { first: start.toISOString().replace('.000Z', 'Z'), count: 1, minutes: 20, capacity: 30 });
  assert.equal(made.status, 201, made.text);
  const slot = made.body.items[0].id;
  const book = (address, contact) => request(server.url, 'POST', `/offices/${office}/book`, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': address },
    body: new URLSearchParams({ queue: String(queues.C.id), slot: String(slot), contact }).toString(),
  });
  for (let i = 0; i < 20; i += 1) {
    const r = await book('203.0.113.20', `+1 555 01${String(i).padStart(2, '0')}`);
    assert.equal(r.status, 201, `booking ${i}: ${r.text.slice(0, 200)}`);
  }
  const refused = await book('203.0.113.20', '+1 555 0120');
  assert.equal(refused.status, 429);
  const wait = Number(refused.headers.get('retry-after'));
  assert.ok(wait > 3500 && wait <= 3600, `Retry-After ${wait}`);
  assert.match(refused.text, /Too many appointments were booked from your address: try again in 60 minutes/);
  const other = await book('203.0.113.21', '+1 555 0120');
  assert.equal(other.status, 201, other.text.slice(0, 200));
  assert.equal(Number(await sql(db, `SELECT count(*) FROM appointments WHERE slot_id = ${slot}`)), 21);
});
