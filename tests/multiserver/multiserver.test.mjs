// Several stateless `onedoor serve` processes on one PostgreSQL, behind nginx:
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/multiserver/
//
// A throwaway PostgreSQL 15 cluster, two servers (server-a, server-b) each running an outbox
// worker that delivers events to a webhook receiver in this process, and nginx balancing
// over both. A mixed create/read workload runs through nginx while server-a is SIGKILLed
// (holding a claimed outbox batch, mid-delivery). Then: every acknowledged create is still
// there, the audit chain holds, and every outbox event reached the webhook, signed, with
// server-b taking over what server-a had claimed once the lease ran out.
//
// Everything is on loopback at free ports, in temporary directories removed afterwards.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { makeTempDir, startServer } from '../browser/lib.mjs';
import { Client, binary, onedoorEnv, sleep } from '../http/helpers.mjs';
import { startNginx } from './nginx.mjs';
import { startPostgres } from './postgres.mjs';
import { newWebhookSecret, startWebhookReceiver } from './webhook.mjs';

const run = promisify(execFile);

const kLoops = 4; // concurrent clients
const kMaxCreatesPerLoop = 150; // then a client slows down, so that a fast machine is not flooded
const kBeforeKillMs = 2_500; // workload before waiting for server-a to be mid-delivery
const kAfterKillMs = 3_000; // workload once only server-b is left
const kHoldTimeoutMs = 10_000; // for server-a to start a delivery after the hold is set
const kLeaseSeconds = 2;
const kDeliveredTimeoutMs = 20_000;
const kRequestTimeoutMs = 10_000;

const T = { timeout: 60_000 };

let tmp; // logs and nginx; the cluster has its own directory (owned by its user)
let pg;
let receiver;
let webhookKey;
let serverA;
let serverB;
let nginx;
let api; // Bearer token (caseworker of city-social) through nginx
let killedAt = null; // when server-a was sent SIGKILL (ms)
let exitedAt = null; // when its exit was seen: its sockets are closed by then
let heldDelivery = null; // the delivery server-a was making when it died
const workload = { acked: [], unacked: [], unexpected: [], reads: 0, readFailures: [] };

// Runs a onedoor command against the cluster; rejects on a non-zero exit.
const onedoor = (args) => run(binary, args, { env: { ...process.env, ...onedoorEnv(pg.url) }, timeout: 120_000 });

// Invented clients; the family name is unique per create so reads can be matched.
const kGiven = ['Orsolya', 'Tamsin', 'Ikaika', 'Brannoch'];
function alpha(n) {
  let s = '';
  do { s = String.fromCharCode(97 + (n % 26)) + s; n = Math.floor(n / 26); } while (n > 0);
  return s;
}
function newPerson(loop, i) {
  const family = `Multiserv${alpha(loop)}${alpha(i)}`;
  return {
    names: [{ use: 'official', given: kGiven[loop % kGiven.length], family }],
    birth_date: `19${70 + (i % 30)}-0${1 + (i % 9)}-1${i % 10}`,
    sex: i % 2 ? 'female' : 'male',
    identifiers: [{ kind: 'passport', value: `MS-${loop}-${i}` }],
    addresses: [{ use: 'home', line1: `${i + 1} Relay Lane`, city: 'Twinport', postcode: '5151' }],
    preferred_language: 'en',
  };
}

// Differences between what was created and what a read answers ([] when the same).
function differences(got, input) {
  const out = [];
  for (const key of ['names', 'birth_date', 'sex', 'identifiers', 'addresses', 'preferred_language']) {
    try { assert.deepEqual(got?.[key], input[key]); } catch { out.push(key); }
  }
  return out;
}

async function waitFor(what, predicate, timeoutMs, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([promise, new Promise((resolve) => { timer = setTimeout(() => resolve(null), ms); })])
    .finally(() => clearTimeout(timer));
}

function startOnedoor(instance) {
  return startServer({
    binary,
    args: ['serve'],
    logDir: path.join(tmp, instance),
    env: onedoorEnv(pg.url, {
      ONEDOOR_WEBHOOK_URL: receiver.url,
      ONEDOOR_WEBHOOK_SECRET: webhookKey.secret,
      ONEDOOR_INSTANCE: instance,
      ONEDOOR_OUTBOX_POLL_MS: '200',
      ONEDOOR_OUTBOX_LEASE_SECONDS: String(kLeaseSeconds),
    }),
  });
}

// Like test(), but remembers a failure so that cleanup can show the logs before removing them.
let failed = false;
function check(name, options, fn) {
  return test(name, options, async (t) => {
    try { await fn(t); } catch (error) { failed = true; throw error; }
  });
}

before(async () => {
  try {
    await setUp();
  } catch (error) {
    failed = true;
    throw error;
  }
}, { timeout: 180_000 });

async function setUp() {
  tmp = await makeTempDir('onedoor-multiserver-');
  await Promise.all(['server-a', 'server-b'].map((d) => mkdir(path.join(tmp, d))));
  pg = await startPostgres({ database: 'onedoor_multiserver' });
  await onedoor(['migrate']);
  await onedoor(['demo-data', '--people', '20']);
  const { stdout } = await onedoor(['token', 'create', '--agency', 'city-social', '--name', 'multiserver-test',
    '--roles', 'caseworker', '--scopes', 'persons:read,persons:write']);
  const secret = stdout.trim();
  assert.match(secret, /^od_/, `token create printed ${stdout}`);

  webhookKey = newWebhookSecret();
  receiver = await startWebhookReceiver(webhookKey.key);
  // One after the other, so that cleanup knows of the first if the second fails to start.
  serverA = await startOnedoor('server-a');
  serverB = await startOnedoor('server-b');
  nginx = await startNginx({ dir: path.join(tmp, 'nginx'), upstreams: [serverA, serverB].map((s) => `127.0.0.1:${s.port}`) });
  api = new Client(nginx.url, { token: secret });
}

// Stops everything started so far and removes the temporary directories. Each step runs
// whatever failed before it, so nothing is left running.
async function cleanup() {
  const steps = [
    () => failed && showLogs(),
    () => nginx?.stop(),
    () => serverA?.stop(),
    () => serverB?.stop(),
    () => receiver?.close(),
    () => pg?.stop(), // pg_ctl daemonizes the server: it would outlive this process
    () => tmp && rm(tmp, { recursive: true, force: true }),
  ];
  for (const step of steps) {
    try { await step(); } catch (error) { console.error(`cleanup: ${error.stack ?? error}`); }
  }
}

after(cleanup);

// The end of each log, on standard error, as the temporary directory is about to go.
async function showLogs() {
  const logs = [
    ['server-a', serverA?.logPath], ['server-b', serverB?.logPath],
    ['nginx', nginx && path.join(nginx.dir, 'error.log')],
  ];
  for (const [name, file] of logs) {
    if (!file) continue;
    const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    console.error(`--- ${name}: last ${Math.min(lines.length, 40)} of ${lines.length} lines of ${file} ---\n`
      + lines.slice(-40).join('\n'));
  }
  if (pg) console.error(`--- PostgreSQL server log ---\n${await pg.serverLog()}`);
}

// Interrupted (Ctrl-C, or a harness stopping the run): clean up before exiting, since
// `after` hooks do not run then. Further signals (node --test follows SIGINT with SIGTERM)
// must not cut the cleanup short.
let interrupted = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { interrupted ??= cleanup().finally(() => process.exit(1)); });
}

const port = (server) => `127.0.0.1:${server.port}`;

// One client: create, then read back a random acknowledged create, until told to stop. Past
// kMaxCreatesPerLoop it goes on at ten a second: events keep coming for the servers to deliver
// until the kill, however fast the machine.
async function loop(n, state) {
  for (let i = 0; !state.stop; ++i) {
    if (i >= kMaxCreatesPerLoop) await sleep(100);
    const input = newPerson(n, i);
    const sentAt = Date.now();
    let r;
    try {
      r = await api.post('/api/v1/persons', input, { timeoutMs: kRequestTimeoutMs });
    } catch (error) {
      r = { status: 0, text: error.message };
    }
    if (r.status === 201) {
      workload.acked.push({ id: r.body.id, input, location: r.headers.get('location'), ackedAt: Date.now() });
    } else if ([0, 502, 504].includes(r.status)) {
      // Not acknowledged: cut off with its server (nginx must not retry a POST it sent).
      workload.unacked.push({ sentAt, status: r.status, family: input.names[0].family,
        identifier: input.identifiers[0].value, text: r.text.slice(0, 200) });
    } else {
      workload.unexpected.push({ status: r.status, text: r.text.slice(0, 300) });
    }

    if (workload.acked.length === 0) continue;
    const p = workload.acked[Math.floor(Math.random() * workload.acked.length)];
    ++workload.reads;
    try {
      const g = await api.get(`/api/v1/persons/${p.id}`, { timeoutMs: kRequestTimeoutMs });
      const diff = g.status === 200 ? differences(g.body, p.input) : [];
      if (g.status !== 200 || diff.length) workload.readFailures.push({ id: p.id, status: g.status, diff, text: g.text.slice(0, 200) });
    } catch (error) {
      workload.readFailures.push({ id: p.id, status: 0, text: error.message });
    }
  }
}

describe('two servers on one PostgreSQL behind nginx', () => {
  check('a create/read workload through nginx survives SIGKILL of one server', { timeout: 60_000 }, async (t) => {
    const started = Date.now();
    const state = { stop: false };
    const loops = Array.from({ length: kLoops }, (_, n) => loop(n, state));
    try {
      await sleep(kBeforeKillMs);
      // Kill server-a while it is delivering an event of a claimed batch: the receiver holds
      // its next delivery unanswered, so the event was sent but never marked delivered.
      heldDelivery = await withTimeout(receiver.hold('server-a'), kHoldTimeoutMs);
      process.kill(serverA.pid, 'SIGKILL');
      killedAt = Date.now();
      await waitFor('server-a to exit', () => serverA.exitStatus() !== null, 5_000, 20);
      exitedAt = Date.now();
      await sleep(kAfterKillMs);
    } finally {
      state.stop = true;
      await Promise.all(loops);
    }
    t.diagnostic(`workload ${((Date.now() - started) / 1000).toFixed(1)} s: ${workload.acked.length} creates acknowledged, `
      + `${workload.unacked.length} not, ${workload.reads} reads; server-a killed `
      + `${((killedAt - started) / 1000).toFixed(1)} s in`);
    for (const u of workload.unacked) {
      t.diagnostic(`not acknowledged: ${u.family}, sent ${u.sentAt - killedAt} ms after the kill: `
        + `${u.status === 0 ? u.text : `HTTP ${u.status}`}`);
    }

    assert.ok(heldDelivery, `server-a made no webhook delivery within ${kHoldTimeoutMs / 1000} s of the hold; `
      + `deliveries by instance: ${JSON.stringify(countBy(receiver.deliveries, (d) => d.instance))}`);
    assert.deepEqual(serverA.exitStatus(), { code: null, signal: 'SIGKILL' });
    assert.equal(serverB.exitStatus(), null, 'server-b is still running');
    assert.deepEqual(workload.unexpected, [], 'every create answers 201, or 502/504 when its server dies');
    assert.deepEqual(workload.readFailures, [], 'every read of an acknowledged create answers 200 with its data');
    // A create can be cut off only by the kill: one in flight to server-a per client at most.
    for (const u of workload.unacked) assert.ok(u.sentAt <= exitedAt, `create sent after server-a was gone failed: ${JSON.stringify(u)}`);
    assert.ok(workload.unacked.length <= kLoops, `${workload.unacked.length} creates not acknowledged`);
    assert.ok(workload.acked.length >= 20, `only ${workload.acked.length} creates acknowledged`);
    assert.ok(workload.acked.some((p) => p.ackedAt > exitedAt), 'creates were acknowledged after the kill');

    // nginx spread the load over both servers, then sent everything to server-b.
    const log = (await nginx.accessLog()).filter((e) => e.uri.startsWith('/api/'));
    const before = log.filter((e) => e.at < killedAt - 100);
    const afterKill = log.filter((e) => e.at > killedAt + 100);
    assert.ok(before.some((e) => e.answeredBy === port(serverA)), 'server-a answered requests before the kill');
    assert.ok(before.some((e) => e.answeredBy === port(serverB)), 'server-b answered requests before the kill');
    assert.ok(afterKill.length > 0, 'requests went through nginx after the kill');
    assert.deepEqual(afterKill.filter((e) => e.answeredBy !== port(serverB)), [], 'only server-b answers after the kill');
  });

  check('every acknowledged create is readable through nginx with the same data', T, async () => {
    assert.ok(workload.acked.length > 0, 'depends on the workload');
    const queue = [...workload.acked];
    const failures = [];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const g = await api.get(p.location ?? `/api/v1/persons/${p.id}`);
        const diff = g.status === 200 ? differences(g.body, p.input) : [];
        if (g.status !== 200 || diff.length) failures.push({ id: p.id, status: g.status, diff });
      }
    }));
    assert.deepEqual(failures, []);
    const ids = workload.acked.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'every acknowledged create has its own id');
    const inDb = Number(await pg.psql(`SELECT count(*) FROM persons WHERE id IN (${ids.join(',')})`));
    assert.equal(inDb, ids.length, 'every acknowledged create is a row in PostgreSQL');
  });

  check('no create was applied twice; unacknowledged ones are there or not, once', T, async (t) => {
    // Each create has its own identifier value: more than one row for one would mean a
    // POST ran twice (for instance, retried by nginx on the other server).
    const counts = new Map((await pg.psql("SELECT value, count(*) FROM person_identifiers WHERE value LIKE 'MS-%' GROUP BY value"))
      .split('\n').filter(Boolean).map((l) => { const [v, n] = l.split('|'); return [v, Number(n)]; }));
    assert.deepEqual([...counts].filter(([, n]) => n !== 1), [], 'identifiers stored more than once');
    for (const p of workload.acked) assert.ok(counts.has(p.input.identifiers[0].value), `create ${p.id} is stored`);
    const committed = workload.unacked.filter((u) => counts.has(u.identifier));
    t.diagnostic(`${workload.unacked.length} creates not acknowledged, ${committed.length} of them committed anyway`);
    assert.equal(counts.size, workload.acked.length + committed.length);
  });

  check('each acknowledged create wrote its outbox event in the same transaction', T, async () => {
    const rows = await pg.psql("SELECT aggregate_id FROM outbox WHERE aggregate_type = 'person'");
    const withEvent = new Set(rows.split('\n'));
    const missing = workload.acked.filter((p) => !withEvent.has(String(p.id))).map((p) => p.id);
    assert.deepEqual(missing, [], 'acknowledged creates without an outbox event');
  });

  check('the audit chain verifies', T, async () => {
    const { stdout } = await onedoor(['audit', 'verify']); // rejects on a non-zero exit
    assert.match(stdout, /audit log verified: \d+ entries on \d+ chains?, every chain intact/);
  });

  check('every outbox event reaches the webhook, signed; server-b takes over server-a\'s claims', T, async (t) => {
    assert.ok(killedAt && heldDelivery, 'depends on the workload');
    const assertSigned = () => {
      const bad = receiver.deliveries.filter((d) => !d.verified);
      assert.equal(bad.length, 0, `${bad.length} deliveries with a bad signature, such as `
        + `${JSON.stringify(bad.slice(0, 3).map((d) => ({ id: d.webhookId, instance: d.instance, signature: d.signature })))}`);
    };
    assertSigned(); // else nothing would be marked delivered
    const started = Date.now();
    const pending = async () => Number(await pg.psql('SELECT count(*) FROM outbox WHERE delivered_at IS NULL'));
    try {
      await waitFor('every outbox row to be delivered', async () => await pending() === 0, kDeliveredTimeoutMs, 200);
    } catch (error) {
      const answers = countBy(receiver.deliveries, (d) => `${d.instance} ${d.answered}`);
      throw new Error(`${error.message}: ${await pending()} pending; deliveries (instance, answer): `
        + `${JSON.stringify(answers)}`);
    }
    t.diagnostic(`all delivered ${((Date.now() - started) / 1000).toFixed(1)} s after the workload`);
    // One JSON document, so that payloads need no unquoting.
    const rows = JSON.parse(await pg.psql(
      "SELECT json_agg(json_build_object('id', id::text, 'type', type, 'payload', payload) ORDER BY id) FROM outbox"));
    const deliveries = receiver.deliveries;
    const byId = groupBy(deliveries, (d) => d.webhookId);
    t.diagnostic(`${rows.length} outbox events, ${deliveries.length} deliveries; by instance `
      + `${JSON.stringify(countBy(deliveries, (d) => d.instance))}`);

    // Every delivery is a signed CloudEvent whose id is the outbox row's id.
    assertSigned();
    for (const d of deliveries) {
      assert.equal(d.method, 'POST');
      assert.equal(d.url, '/hook');
      assert.ok(['server-a', 'server-b'].includes(d.instance), `onedoor-instance is ${d.instance}`);
      assert.match(d.webhookId ?? '', /^[1-9]\d*$/, 'webhook-id is the outbox id');
      assert.match(d.timestamp ?? '', /^\d+$/, 'webhook-timestamp is in seconds');
      assert.ok(Math.abs(Number(d.timestamp) - d.receivedAt / 1000) < 300, `webhook-timestamp ${d.timestamp} is now`);
      assert.match(d.contentType ?? '', /json/);
      const e = d.body;
      assert.ok(e && typeof e === 'object', `the body is JSON: ${d.raw.slice(0, 200)}`);
      assert.equal(e.specversion, '1.0');
      assert.equal(e.id, d.webhookId, 'the CloudEvents id is the webhook-id');
      assert.equal(typeof e.type, 'string');
      assert.ok(e.type.length > 0);
      assert.equal(typeof e.source, 'string');
      assert.ok(e.source.length > 0);
      assert.ok(!Number.isNaN(Date.parse(e.time)), `time is a timestamp: ${e.time}`);
      assert.ok(e.data !== undefined && e.data !== null, 'data is present');
    }

    // At least once: every event was received; no event unknown to the outbox was.
    const ids = new Set(rows.map((r) => r.id));
    assert.deepEqual(rows.filter((r) => !byId.has(r.id)).map((r) => r.id), [], 'outbox events never received');
    assert.deepEqual([...byId.keys()].filter((id) => !ids.has(id)), [], 'deliveries of unknown events');
    // Each delivery carries its own event: the outbox type (in a namespace) and payload.
    for (const r of rows) {
      for (const d of byId.get(r.id)) {
        assert.ok(d.body.type.endsWith(r.type), `event ${r.id}: type ${d.body.type} for ${r.type}`);
        assert.deepEqual(d.body.data, JSON.parse(r.payload), `event ${r.id}: data is the outbox payload`);
      }
    }

    // Only the kill may duplicate: an event received twice is the held one, or one server-a
    // sent just before it died (answered, but not yet marked delivered). A duplicate from
    // earlier would mean a claim was taken over while its holder was alive.
    const duplicates = [...byId].filter(([, ds]) => ds.length > 1);
    t.diagnostic(`${duplicates.length} events received more than once: ${duplicates.map(([id, ds]) =>
      `${id} by ${ds.map((d) => d.instance).join('+')}`).join(', ')}`);
    for (const [id, ds] of duplicates) {
      assert.ok(ds.some((d) => d.instance === 'server-a' && d.receivedAt > killedAt - 1_000),
        `event ${id} was delivered more than once, not by server-a as it was killed: `
        + `${JSON.stringify(ds.map((d) => [d.instance, d.receivedAt - killedAt]))} (ms after the kill)`);
      assert.ok(ds.filter((d) => d.instance === 'server-b').length <= 1, `server-b delivered event ${id} twice`);
    }

    // The event server-a died delivering was delivered again, by server-b, after the lease.
    const again = byId.get(heldDelivery.webhookId).filter((d) => d !== heldDelivery);
    assert.ok(again.some((d) => d.instance === 'server-b' && d.receivedAt > killedAt),
      `event ${heldDelivery.webhookId} (held from server-a) was redelivered by server-b`);
    const takeover = Math.min(...again.map((d) => d.receivedAt)) - killedAt;
    t.diagnostic(`server-b redelivered event ${heldDelivery.webhookId} ${takeover} ms after the kill`);
    // server-a claimed its batch shortly before the held delivery (a batch takes well under a
    // second to deliver here), so the lease ends a little less than kLeaseSeconds after the
    // kill; a much earlier takeover would be a stolen claim.
    assert.ok(takeover >= kLeaseSeconds * 500, `server-b took the claim over only once the lease ended (${takeover} ms)`);

    // Every event not acknowledged to server-a before the kill was delivered by server-b.
    const ackedByA = new Set(deliveries.filter((d) => d.instance === 'server-a' && d.answered === 200).map((d) => d.webhookId));
    const leftOver = rows.filter((r) => !ackedByA.has(r.id));
    const notByB = leftOver.filter((r) => !byId.get(r.id).some((d) => d.instance === 'server-b'));
    assert.deepEqual(notByB.map((r) => r.id), [], 'events server-a never finished, delivered by server-b');
    assert.equal(deliveries.filter((d) => d.instance === 'server-a' && d.receivedAt > exitedAt + 500).length, 0,
      'no deliveries from server-a after it was killed');
  });

  check('server-b shuts down cleanly; no errors in the server logs', T, async (t) => {
    const status = await serverB.stop();
    assert.deepEqual(status, { code: 0, signal: null }, 'server-b exit status');
    for (const server of [serverA, serverB]) {
      const lines = (await readFile(server.logPath, 'utf8')).split('\n').filter(Boolean);
      const notable = lines.filter((l) => /"level":"(warn|error)"/.test(l));
      for (const l of notable.slice(0, 20)) t.diagnostic(`${path.basename(path.dirname(server.logPath))}: ${l}`);
      const errors = lines.filter((l) => /"level":"error"/.test(l));
      assert.deepEqual(errors, [], `errors in the log of ${path.basename(path.dirname(server.logPath))}`);
    }
    const nginxErrors = (await nginx.errorLog()).split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
    for (const l of nginxErrors.slice(0, 20)) t.diagnostic(`nginx: ${l}`);
  });
});

function countBy(items, key) {
  const out = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

function groupBy(items, key) {
  const out = new Map();
  for (const item of items) {
    const k = key(item);
    if (!out.has(k)) out.set(k, []);
    out.get(k).push(item);
  }
  return out;
}
