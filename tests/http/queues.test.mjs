// The access centre's queue over HTTP, with the demo's one-stop centre (queues A, B, C; counters
// 1 to 3): visitors check in, a counter calls them by priority then arrival, transfers one to
// another queue, and the display's public feed shows each step; a ticket is still there after
// the server restarts.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/queues.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { assertProblem, login, prepareDatabase, request, serve, sql } from './helpers.mjs';

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
  assertProblem(await desk.post(`/api/v1/tickets/${a1.body.id}/actions`, { action: 'serve' }), 412);
  // The public views: no person, and the feed of events in order.
  const pub = await request(server.url, 'GET', `/api/v1/tickets/${a2.body.id}`);
  assert.equal(pub.status, 200);
  assert.equal(pub.body.person_id, undefined);
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
  const cancelled = await request(server.url, 'POST', `/api/v1/appointments/${ref}/cancel`);
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.body.state, 'cancelled');
  assertProblem(await request(server.url, 'GET', '/api/v1/appointments/NOPE-NOPE'), 404);
  assert.equal(Number(await sql(db, "SELECT count(*) FROM outgoing_messages WHERE state = 'cancelled'")), 1);
  assert.equal((await request(server.url, 'GET', `/api/v1/queues/${queues.B.id}/slots`)).body.items.length, 2);
});
