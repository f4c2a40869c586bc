// Tell us once, pushed: the state's administrator sets the agency's webhook; the city changes
// the addresses of people the state knows in a burst; the server is killed with SIGKILL in the
// middle and restarted. A receiver on loopback checks every Standard Webhooks signature, and in
// the end every notice was delivered at least once, in order per person, with no values in it.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/notices.test.mjs

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { after, test } from 'node:test';

import {
  Client, assertProblem, issueToken, linkAsTheIndexWould, login, prepareDatabase, request, serve, sleep, sql,
} from './helpers.mjs';

const T = { timeout: 120_000 };
const key = randomBytes(32);
const secret = `whsec_${key.toString('base64')}`;

// The receiver: verifies each delivery and records it.
const received = [];
const badSignatures = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const id = req.headers['webhook-id'];
    const ts = req.headers['webhook-timestamp'];
    const expected = `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
    // Space-separated signatures, one per secret in use (several during a rotation).
    const ok = String(req.headers['webhook-signature'] ?? '').split(' ').some((got) =>
      got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected)));
    if (!ok) badSignatures.push(id);
    received.push({ id: Number(id), event: JSON.parse(body) });
    res.writeHead(ok ? 204 : 400).end();
  });
});
receiver.listen(0, '127.0.0.1');
await once(receiver, 'listening');
const hookUrl = `http://127.0.0.1:${receiver.address().port}/onedoor`;

let server;
after(async () => {
  await server?.stop();
  receiver.close();
});

test('every notice reaches the agency webhook at least once, in order per person, across a SIGKILL', T, async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-notices-' });
  const { db } = prepared;
  // The receiver here is on this machine over plain http, which a deployment allows only with
  // agency_webhooks_internal (the last test checks the default refuses it).
  const env = { ONEDOOR_OUTBOX_POLL_MS: '100', ONEDOOR_OUTBOX_LEASE_SECONDS: '2', ONEDOOR_AGENCY_WEBHOOKS_INTERNAL: 'true' };
  server = await serve(db, { logDir: prepared.dir, env });
  let city = await login(server.url, 'caseworker.city');
  let state = await login(server.url, 'caseworker.state');
  const admin = await login(server.url, 'admin.state', { purpose: 'administration' });
  assertProblem(await state.put('/api/v1/agency-webhook', { url: hookUrl, secret }), 403);
  assertProblem(await admin.put('/api/v1/agency-webhook', { url: 'gopher://x', secret: 'whsec_x' }), 400,
    { fields: ['url', 'secret'] });
  const set = await admin.put('/api/v1/agency-webhook', { url: hookUrl, secret });
  assert.equal(set.status, 200, set.text);
  assert.equal(set.body.state, 'active');
  assert.equal(set.body.secret, undefined);

  // Three people the city registers and the state keeps records of.
  const people = [];
  for (const given of ['Aroha', 'Bex', 'Cai']) {
    const made = await city.post('/api/v1/persons', {
      names: [{ use: 'official', given, family: 'Burstwood' }],
      addresses: [{ use: 'home', line1: '1 Start Street', city: 'Riverside', postcode: '1000' }],
    });
    assert.equal(made.status, 201, made.text);
    people.push(made.body.id);
    const rec = await state.put(`/api/v1/source-records/BURST-${given}`, { data: {} });
    assert.ok([200, 201].includes(rec.status), rec.text);
    await linkAsTheIndexWould(db, 'state-benefits', `BURST-${given}`, made.body.id);
  }

  async function move(person, n) {
    const current = await city.get(`/api/v1/persons/${person}`);
    assert.equal(current.status, 200, current.text);
    const { id, version, created_at: c, updated_at: u, withheld, source_records: s, household: h, ...rest } = current.body;
    const r = await city.put(`/api/v1/persons/${person}`,
      { ...rest, addresses: [{ use: 'home', line1: `${n} Burst Lane`, city: 'Riverside', postcode: '1000' }] },
      { headers: { 'If-Match': current.headers.get('etag') } });
    assert.equal(r.status, 200, r.text);
  }

  const kChanges = 30;
  for (let n = 1; n <= kChanges; ++n) {
    await move(people[n % 3], n);
    if (n === kChanges / 2) {
      // Killed in the middle of the burst, with deliveries in flight; then started again.
      process.kill(server.pid, 'SIGKILL');
      await server.stop();
      server = await serve(db, { logDir: prepared.dir, env });
      city = await login(server.url, 'caseworker.city');
      state = await login(server.url, 'caseworker.state');
    }
  }

  const expected = (await sql(db, "SELECT n.id || ' ' || n.person_id FROM change_notices n JOIN agencies a ON " +
    "a.id = n.agency_id WHERE a.code = 'state-benefits' ORDER BY n.id")).split('\n').filter(Boolean)
    .map((line) => line.split(' ').map(Number));
  assert.equal(expected.length, kChanges, 'one notice per change for the state');
  const deadline = Date.now() + 30_000;
  const seen = () => new Set(received.map((r) => r.id));
  while (expected.some(([id]) => !seen().has(id)) && Date.now() < deadline) await sleep(200);
  const missing = expected.filter(([id]) => !seen().has(id)).map(([id]) => id);
  assert.deepEqual(missing, [], 'every notice delivered at least once');
  assert.deepEqual(badSignatures, []);

  // In order per person: the first delivery of each notice comes after the first of the one before.
  for (const person of people) {
    const ids = expected.filter(([, p]) => p === person).map(([id]) => id);
    const firstAt = ids.map((id) => received.findIndex((r) => r.id === id));
    for (let i = 1; i < firstAt.length; ++i) assert.ok(firstAt[i] > firstAt[i - 1], `order for person ${person}`);
  }
  const sample = received.find((r) => r.id === expected[0][0]).event;
  assert.equal(sample.type, 'onedoor.change.person.updated');
  assert.equal(sample.data.person_id, expected[0][1]);
  assert.deepEqual(sample.data.fields, ['addresses']);
  assert.ok(!JSON.stringify(received).includes('Burst Lane'), 'thin: no values pushed');
  assert.equal(Number(await sql(db, "SELECT count(*) FROM change_notices WHERE delivery_state = 'delivered'")),
    kChanges);
  // Each push is audited as the state's, about the person.
  assert.ok(Number(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'change.push'")) >= kChanges);

  // The operators' alert: the dead letters of the deployment on /metrics.
  const metric = async (name) => {
    const m = (await request(server.url, 'GET', '/metrics')).text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
    assert.ok(m, `${name} on /metrics`);
    return Number(m[1]);
  };
  assert.equal(await metric('onedoor_change_notices_dead'), 0);
  assert.ok(await metric('onedoor_change_pushes_delivered_total') >= 0);
  // 72 hours of failures stand in for by the state they end in.
  execFileSync('sqlite3', ['-cmd', '.timeout 5000', db,
    `UPDATE change_notices SET delivery_state = 'dead' WHERE id = ${expected[0][0]}`]);
  assert.equal(await metric('onedoor_change_notices_dead'), 1);
});

test('by default an agency\'s receiver must be https:// at a public address', T, async () => {
  const prepared = await prepareDatabase({ people: 0, prefix: 'onedoor-notices-public-' });
  const strict = await serve(prepared.db, { logDir: prepared.dir });
  try {
    const admin = await login(strict.url, 'admin.city', { purpose: 'administration' });
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    for (const [url, why] of [
      [hookUrl, /must be an https:\/\/ address/],
      ['https://127.0.0.1:8443/onedoor', /not one inside the network/],
      ['https://169.254.169.254/latest/meta-data', /not one inside the network/],
      ['https://[::1]/onedoor', /not one inside the network/],
      ['https://localhost/onedoor', /not this machine/],
    ]) {
      const r = await admin.put('/api/v1/agency-webhook', { url, secret });
      assertProblem(r, 400, { fields: ['url'] });
      assert.match(r.body.errors.find((e) => e.field === 'url').message, why, url);
    }
    const ok = await admin.put('/api/v1/agency-webhook', { url: 'https://hooks.example.org/onedoor', secret });
    assert.equal(ok.status, 200, ok.text);
    // A system's token, even with the manager role, is told that a person signs in to do it.
    const token = await issueToken(admin, { name: 'notice-system', roles: ['manager'], scopes: ['changes:read', 'changes:write'] });
    const system = new Client(strict.url, { token });
    assertProblem(await system.post('/api/v1/changes/1/redeliver', {}), 403, { detail: /signed in with their own account, redeliver/ });
    assertProblem(await system.put('/api/v1/agency-webhook', { url: 'https://hooks.example.org/x', secret }), 403,
      { detail: /signed in with their own account, set its webhook/ });
  } finally {
    await strict.stop();
  }
});
