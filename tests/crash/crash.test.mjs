// Crash safety: a mixed workload against a real server — people created and renamed, referrals
// sent to another agency with the person's consent, tickets taken at the desk, called to a
// counter and finished — which is killed with SIGKILL at a random moment, several times, and restarted; then
// every write the server acknowledged is present in its acknowledged state with its event in
// the outbox, the audit chain verifies, and, with a webhook receiver listening, every event of
// an acknowledged write is delivered once the server is back: nothing lost. On SQLite and on
// PostgreSQL (a throwaway cluster started here). Bounded: a few kills each.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/crash/crash.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

import { makeTempDir, startServer } from '../browser/lib.mjs';
import { Client, binary, login, onedoorEnv, sleep } from '../http/helpers.mjs';
import { startPostgres } from '../multiserver/postgres.mjs';
import { newWebhookSecret, startWebhookReceiver } from '../multiserver/webhook.mjs';

const execFileP = promisify(execFile);
const T = { timeout: 300_000 };
const kWorkers = 4;
const kGiven = ['Tui', 'Aroha', 'Mele', 'Sione', 'Ana', 'Hemi', 'Rangi', 'Kiri', 'Losa', 'Tama', 'Ioane', 'Pita'];

// A distinct name for each number: letters only, so that no two records look alike.
function letters(n) {
  let out = '';
  do { out += 'bcdfghjklmnpqrstvwz'[n % 19] + 'aeiou'[Math.floor(n / 19) % 5]; n = Math.floor(n / 95); } while (n > 0);
  return out[0].toUpperCase() + out.slice(1);
}

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function crashRun(t, { db, kills, query }) {
  const tmp = await makeTempDir('onedoor-crash-');
  const onedoor = (args, env = {}) => execFileP(binary, args, { env: { ...process.env, ...onedoorEnv(db, env) }, timeout: 120_000 });
  await onedoor(['migrate']);
  await onedoor(['demo-data', '--people', '5']);
  const token = (await onedoor(['token', 'create', '--agency', 'city-social', '--name', 'crash-test', '--roles',
    'caseworker', '--scopes', 'persons:read,persons:write'])).stdout.trim();
  const webhookKey = newWebhookSecret();
  const receiver = await startWebhookReceiver(webhookKey.key);
  cleanups.push(async () => receiver.close());
  const env = { ONEDOOR_WEBHOOK_URL: receiver.url, ONEDOOR_WEBHOOK_SECRET: webhookKey.secret, ONEDOOR_OUTBOX_POLL_MS: '100',
    ONEDOOR_OUTBOX_LEASE_SECONDS: '2' };
  const start = () => startServer({ binary, args: ['serve'], env: onedoorEnv(db, env), logDir: tmp });

  const acknowledged = new Map(); // id -> family name, as last acknowledged
  const referrals = new Set(); // acknowledged referral ids
  const tickets = new Map(); // acknowledged ticket id -> 'issued' or 'called'
  const [city, state] = (await query("SELECT id FROM agencies WHERE code IN ('city-social', 'state-benefits') ORDER BY code"))
    .split('\n').filter(Boolean).map(Number);
  const counter = Number((await query(`SELECT min(c.id) FROM counters c JOIN offices o ON o.id = c.office_id WHERE o.agency_id = ${city}`)).trim());
  const queue = Number(/\d+/.exec(await query(`SELECT queues FROM counters WHERE id = ${counter}`))[0]);
  let n = 0;
  let killed = 0;
  for (let round = 0; round < kills; round++) {
    const server = await start();
    const api = new Client(server.url, { token });
    const caseworker = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
    const desk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });
    await desk.post(`/api/v1/counters/${counter}/sign-in`, {});
    let running = true;
    // A referral for a person of the city's: the person's consent, then the referral to the state.
    const referrer = async () => {
      while (running) {
        const i = n++;
        try {
          const made = await caseworker.post('/api/v1/persons', { names: [{ use: 'official', given: 'Refa', family: letters(i) }] });
          if (made.status !== 201) continue;
          acknowledged.set(made.body.id, letters(i));
          const consent = await caseworker.post(`/api/v1/persons/${made.body.id}/consents`, {
            receiving_agency_id: state, scope: 'partial', categories: ['identity', 'contact'], purpose: 'service_delivery',
            legal_basis: 'consent', how_to_withdraw: 'Tell any caseworker.', evidence: 'signed_form', document_ref: `CR-${i}`,
          });
          if (consent.status !== 201) continue;
          const sent = await caseworker.post('/api/v1/referrals', {
            person_id: made.body.id, to_agency_id: state, urgency: 'routine', message: 'Needs help with rent.', consent_id: consent.body.id,
          });
          if (sent.status === 201) referrals.add(sent.body.id);
        } catch {
          // Killed under the request: not acknowledged.
        }
      }
    };
    // The front desk: a ticket taken, then called to the counter.
    const frontDesk = async () => {
      while (running) {
        try {
          const taken = await desk.post(`/api/v1/queues/${queue}/tickets`, { priority: 'normal' });
          if (taken.status !== 201) continue;
          tickets.set(taken.body.id, 'issued');
          const called = await desk.post(`/api/v1/counters/${counter}/call-next`, {});
          if (called.status !== 200 || !called.body.ticket) continue;
          const id = called.body.ticket.id;
          tickets.set(id, 'called');
          const finished = await desk.post(`/api/v1/tickets/${id}/actions`, { action: 'finish' });
          if (finished.status === 200) tickets.set(id, 'done');
        } catch {
          // Killed under the request: not acknowledged.
        }
      }
    };
    const worker = async (w) => {
      while (running) {
        const i = n++;
        const family = `${letters(i)}${letters(i * 7 + round)}`;
        const given = kGiven[i % kGiven.length];
        const born = `${1930 + (i % 80)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
        try {
          const made = await api.post('/api/v1/persons', { names: [{ use: 'official', given, family }], birth_date: born });
          if (made.status !== 201) continue;
          acknowledged.set(made.body.id, family);
          // An update of the record just made: a second write, and a second event.
          const renamed = `${family}b`;
          const put = await api.put(`/api/v1/persons/${made.body.id}`,
            { names: [{ use: 'official', given, family: renamed }], birth_date: born },
            { headers: { 'If-Match': made.headers.get('etag') ?? '' } });
          if (put.status === 200) acknowledged.set(made.body.id, renamed);
        } catch {
          // The server was killed under the request: not acknowledged.
        }
      }
    };
    const workers = [...Array.from({ length: kWorkers }, (_, w) => worker(w)), referrer(), frontDesk()];
    await sleep(400 + Math.floor(Math.random() * 1200));
    process.kill(server.pid, 'SIGKILL');
    killed++;
    running = false;
    await Promise.all(workers);
    await server.stop();
  }

  // Restarted once more: everything acknowledged is there, with its events, and delivered.
  const server = await start();
  cleanups.push(() => server.stop());
  const ids = [...acknowledged.keys()];
  assert.ok(ids.length >= kills * 5, `only ${ids.length} writes acknowledged`);
  const rows = await query(`SELECT id, display_name FROM persons WHERE id IN (${ids.join(',')})`);
  const found = new Map(rows.split('\n').filter(Boolean).map((l) => { const [id, name] = l.split('|'); return [Number(id), name]; }));
  for (const [id, family] of acknowledged) {
    assert.ok(found.has(id), `acknowledged person ${id} is missing`);
    // The acknowledged state, or the update that was under way when the server died (it may have
    // committed without its answer reaching the client).
    const name = found.get(id);
    assert.ok(name.endsWith(family) || name.endsWith(`${family}b`), `person ${id}: ${name}, acknowledged as ${family}`);
  }
  const events = await query(`SELECT id FROM outbox WHERE type = 'person.created' AND aggregate_id IN (${ids.map((i) => `'${i}'`).join(',')})`);
  const personEvents = events.split('\n').filter(Boolean);
  assert.equal(personEvents.length, ids.length, 'every acknowledged creation has its event');
  // Every acknowledged referral is there, sent, with its event.
  assert.ok(referrals.size >= kills, `only ${referrals.size} referrals acknowledged`);
  const refIds = [...referrals];
  const sentRows = await query(`SELECT count(*) FROM referrals WHERE id IN (${refIds.join(',')})`);
  assert.equal(Number(sentRows.trim()), refIds.length, 'every acknowledged referral is there');
  const refEvents = (await query(`SELECT id FROM outbox WHERE type = 'referral.sent' AND aggregate_id IN (${refIds.map((i) => `'${i}'`).join(',')})`))
    .split('\n').filter(Boolean);
  assert.equal(refEvents.length, refIds.length, 'every acknowledged referral has its event');
  // Every acknowledged ticket is there; every acknowledged call left it called (or further on).
  assert.ok(tickets.size >= kills, `only ${tickets.size} tickets acknowledged`);
  const ticketIds = [...tickets.keys()];
  const states = new Map((await query(`SELECT id, state FROM tickets WHERE id IN (${ticketIds.join(',')})`))
    .split('\n').filter(Boolean).map((l) => { const [id, st] = l.split('|'); return [Number(id), st]; }));
  for (const [id, st] of tickets) {
    assert.ok(states.has(id), `acknowledged ticket ${id} is missing`);
    if (st === 'called') assert.notEqual(states.get(id), 'waiting', `ticket ${id} was called, and is waiting again`);
    if (st === 'done') assert.equal(states.get(id), 'done', `ticket ${id} was finished, and is ${states.get(id)}`);
  }
  const ticketEvents = (await query(`SELECT id FROM outbox WHERE type IN ('ticket.issued', 'ticket.called', 'ticket.done') AND aggregate_id IN (${ticketIds.map((i) => `'${i}'`).join(',')})`))
    .split('\n').filter(Boolean);
  const calls = [...tickets.values()].filter((v) => v !== 'issued').length;
  const done = [...tickets.values()].filter((v) => v === 'done').length;
  assert.ok(ticketEvents.length >= ticketIds.length + calls + done,
    `ticket events: ${ticketEvents.length} for ${ticketIds.length} tickets, ${calls} calls and ${done} finished`);
  const eventIds = [...personEvents, ...refEvents, ...ticketEvents];
  const verify = await onedoor(['audit', 'verify']);
  assert.match(verify.stdout, /audit log verified: \d+ entries on \d+ chains?, every chain intact/);
  const deadline = Date.now() + 60_000;
  const delivered = () => new Set(receiver.deliveries.filter((d) => d.verified).map((d) => d.webhookId));
  while (Date.now() < deadline && !eventIds.every((e) => delivered().has(e))) await sleep(200);
  const missing = eventIds.filter((e) => !delivered().has(e));
  assert.equal(missing.length, 0, `events never delivered: ${missing.slice(0, 5).join(', ')}`);
  t.diagnostic(`${killed} kills survived; ${ids.length} people, ${refIds.length} referrals, ${ticketIds.length} tickets `
    + `(${calls} called, ${done} finished) and ${eventIds.length} events checked`);
  return { killed, writes: ids.length + refIds.length + ticketIds.length };
}

test('SQLite: killed with SIGKILL mid-workload, it loses no acknowledged write or event', T, async (t) => {
  const tmp = await makeTempDir('onedoor-crash-sqlite-');
  const db = path.join(tmp, 'crash.db');
  const query = async (sql) => (await execFileP('sqlite3', ['-cmd', '.timeout 5000', db, sql], { maxBuffer: 1 << 26 })).stdout;
  await crashRun(t, { db, kills: 5, query });
});

test('PostgreSQL: killed with SIGKILL mid-workload, it loses no acknowledged write or event', T, async (t) => {
  const pg = await startPostgres({ database: 'onedoor_crash' });
  cleanups.push(() => pg.stop());
  await crashRun(t, { db: pg.url, kills: 3, query: (sql) => pg.psql(sql) });
});
