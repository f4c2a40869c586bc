// End-to-end tests of onedoor's HTTP API against a real server on a fresh database.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/
//
// One server for the file (started in `before`), plus a dedicated one for the
// graceful-shutdown test. Every request has a timeout; each test has one too.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  Client,
  assertProblem,
  binary,
  countRows,
  hiddenCsrf,
  issueToken,
  login,
  onedoorEnv,
  prepareDatabase,
  request,
  signedInCitizen,
  sql,
  serve,
} from './helpers.mjs';

const T = { timeout: 60_000 };

const kAllScopes = ['persons:read', 'persons:write', 'households:read', 'households:write', 'source-records:write'];

let server;
let db;
let api; // Bearer token with the caseworker role (agency city-social)
let admin; // session clients, one per demo user
let caseworker;
let frontdesk;
let auditor;
let governance;

function newPerson(family, extra = {}) {
  return {
    names: [{ use: 'official', given: 'Zephyrine', family }],
    birth_date: '1987-02-14',
    sex: 'female',
    identifiers: [{ kind: 'passport', value: `P-${family}` }],
    addresses: [{ use: 'home', line1: '4 Lantern Row', city: 'Eastvale', postcode: '4321' }],
    phones: [{ use: 'mobile', value: '+61 400 123 456' }],
    emails: [{ value: `${family.toLowerCase()}@example.org` }],
    preferred_language: 'en',
    needs: { interpreter: false },
    ...extra,
  };
}

async function create(client, body) {
  const r = await client.post('/api/v1/persons', body);
  assert.equal(r.status, 201, `create: ${r.text}`);
  return r;
}

async function personCount() {
  return countRows(db, 'persons');
}

async function accessLog(personId) {
  const r = await auditor.get(`/api/v1/persons/${personId}/access-log`);
  assert.equal(r.status, 200, `access log: ${r.text}`);
  return r.body.items;
}

before(async () => {
  ({ db } = await prepareDatabase({ people: 20 }));
  server = await serve(db);
  admin = await login(server.url, 'admin.city', { purpose: 'administration' });
  caseworker = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  frontdesk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });
  auditor = await login(server.url, 'auditor.city', { purpose: 'audit' });
  governance = await login(server.url, 'governance.health', { purpose: 'service_delivery' });
  const secret = await issueToken(admin, { name: 'http-api-test', roles: ['caseworker'], scopes: kAllScopes });
  api = new Client(server.url, { token: secret });
}, { timeout: 180_000 });

// If the server dies mid-run (a crash, or a signal from outside the test), say so plainly
// instead of leaving a trail of "fetch failed".
function assertServerAlive() {
  const status = server?.exitStatus();
  assert.equal(status, null, `the server (pid ${server?.pid}) exited during the tests: ${JSON.stringify(status)}; `
    + `see ${server?.logPath}`);
}

afterEach(() => { if (server) assertServerAlive(); });

after(async () => {
  if (server) {
    assertServerAlive();
    const status = await server.stop();
    assert.equal(status?.code, 0, `server exit status ${JSON.stringify(status)}`);
  }
});

describe('operations', () => {
  test('health, readiness, metrics and the OpenAPI document', T, async () => {
    const health = await request(server.url, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');

    const ready = await request(server.url, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');

    await api.get('/api/v1/persons?limit=1'); // so that at least one API request is counted
    const metrics = await request(server.url, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type'), /^text\/plain/);
    assert.match(metrics.text, /^onedoor_http_requests_total\{/m);

    const openapi = await request(server.url, 'GET', '/api/openapi.json');
    assert.equal(openapi.status, 200);
    assert.match(openapi.headers.get('content-type'), /json/);
    const doc = JSON.parse(openapi.text);
    assert.equal(typeof doc.openapi, 'string');
    assert.ok(doc.openapi.startsWith('3.1'), `openapi is ${doc.openapi}`);
    assert.equal(typeof doc.paths, 'object');
  });

  test('the OpenAPI document describes the persons API', T, async () => {
    const doc = (await request(server.url, 'GET', '/api/openapi.json')).body;
    for (const p of ['/api/v1/persons', '/api/v1/persons/{id}', '/api/v1/households', '/api/v1/source-records/{local_id}']) {
      assert.ok(doc.paths[p], `the document describes ${p}`);
    }
  });
});

describe('authentication', () => {
  test('the API without credentials answers 401 with WWW-Authenticate', T, async () => {
    for (const [method, path] of [['GET', '/api/v1/persons'], ['GET', '/api/v1/persons/1'], ['POST', '/api/v1/persons'],
      ['GET', '/api/v1/me']]) {
      const r = await request(server.url, method, path, method === 'POST' ? { json: newPerson('Nobody') } : {});
      assertProblem(r, 401);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/, `${method} ${path}`);
    }
  });

  test('a bad bearer token answers 401', T, async () => {
    for (const token of ['od_not-a-real-token', 'garbage', 'od_']) {
      const r = await request(server.url, 'GET', '/api/v1/persons', { headers: { Authorization: `Bearer ${token}` } });
      assertProblem(r, 401);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    const stale = await request(server.url, 'GET', '/api/v1/persons', { headers: { Cookie: 'onedoor_session=nonsense' } });
    assertProblem(stale, 401);
  });

  test('the Bearer scheme is named in any case, as HTTP allows', T, async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer ']) {
      const r = await request(server.url, 'GET', '/api/v1/me', { headers: { Authorization: `${scheme} ${api.auth.token}` } });
      assert.equal(r.status, 200, `${scheme}: ${r.text}`);
      assert.equal(r.body.name, 'http-api-test');
    }
    const none = await request(server.url, 'GET', '/api/v1/me', { headers: { Authorization: `Basic ${api.auth.token}` } });
    assertProblem(none, 401);
  });

  test('HEAD answers the length GET would send, and no body, on one connection with other requests', T, async () => {
    const created = (await create(api, newPerson('Headcount'))).body;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method, urlPath, headers = {}) => new Promise((resolve, reject) => {
      const req = http.request(new URL(urlPath, server.url), { method, agent, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { body += c; });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
    try {
      const auth = { Authorization: `Bearer ${api.auth.token}` };
      for (const [urlPath, headers] of [[`/api/v1/persons/${created.id}`, auth], ['/login', {}], ['/no-such-page', {}]]) {
        const head = await send('HEAD', urlPath, headers);
        const get = await send('GET', urlPath, headers);
        assert.equal(head.status, get.status, urlPath);
        assert.equal(head.body, '', urlPath);
        assert.ok(get.body.length > 0, urlPath);
        assert.equal(Number(head.headers['content-length']), Buffer.byteLength(get.body), urlPath);
      }
    } finally {
      agent.destroy();
    }
  });

  test('a sane X-Request-Id is echoed and used as the problem instance', T, async () => {
    const r = await request(server.url, 'GET', '/api/v1/persons', { headers: { 'X-Request-Id': 'client-req-42' } });
    assert.equal(r.headers.get('x-request-id'), 'client-req-42');
    assertProblem(r, 401);
    const odd = await request(server.url, 'GET', '/api/v1/persons', { headers: { 'X-Request-Id': 'bad id;<script>' } });
    assert.notEqual(odd.headers.get('x-request-id'), 'bad id;<script>');
    assertProblem(odd, 401);
  });

  test('an unknown X-Purpose answers 400 naming the header', T, async () => {
    const r = await api.get('/api/v1/persons', { headers: { 'X-Purpose': 'curiosity' } });
    assertProblem(r, 400, { fields: ['X-Purpose'] });
  });

  test('token and session both identify the caller on /api/v1/me', T, async () => {
    const byToken = await api.get('/api/v1/me');
    assert.equal(byToken.status, 200);
    assert.equal(byToken.body.kind, 'system');
    assert.equal(byToken.body.name, 'http-api-test');
    assert.deepEqual(byToken.body.roles, ['caseworker']);
    const bySession = await caseworker.get('/api/v1/me');
    assert.equal(bySession.status, 200);
    assert.equal(bySession.body.kind, 'staff');
    assert.equal(bySession.body.name, 'caseworker.city');
    assert.equal(bySession.body.purpose, 'case_work');
  });

  test('each access is audited with the address it came from, as the trusted proxy gave it', T, async () => {
    const created = await create(api, newPerson('Whereabouts'));
    const id = created.body.id;
    // The test talks to the server over loopback, a trusted proxy unless configured otherwise.
    assert.equal((await api.get(`/api/v1/persons/${id}`, { headers: { 'X-Forwarded-For': '203.0.113.50' } })).status, 200);
    assert.equal((await caseworker.get(`/api/v1/persons/${id}`)).status, 200);
    const items = await accessLog(id);
    const reads = items.filter((e) => e.action === 'person.read');
    assert.equal(reads.length, 2);
    assert.equal(reads[1].client_address, '203.0.113.50', 'the token read, by the forwarded address');
    assert.match(reads[0].client_address, /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/, 'the session read, from loopback');
    // The chain, addresses included, verifies.
    await promisify(execFile)(binary, ['audit', 'verify'], { env: { ...process.env, ...onedoorEnv(db) }, timeout: 60_000 });
  });

  test("a token's last use is saved by the call that used it, before its answer", T, async () => {
    // /api/v1/me with a token is answered on the I/O thread once the deferred last use commits.
    const secret = await issueToken(admin, { name: 'last-use', roles: ['caseworker'], scopes: ['persons:read'] });
    const lastUse = async () => (await admin.get('/api/v1/tokens')).body.items.find((t) => t.name === 'last-use').last_used_at;
    assert.equal(await lastUse(), null);
    const me = await new Client(server.url, { token: secret }).get('/api/v1/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.name, 'last-use');
    assert.ok(Date.parse(await lastUse()) > 0, 'last_used_at is set');
  });

  test('a token is issued for a number of days, 365 unless said, 730 at most', T, async () => {
    const made = await admin.post('/api/v1/tokens', { name: 'expiring', roles: ['caseworker'], scopes: ['persons:read'], expires_in_days: 30 });
    assert.equal(made.status, 201, made.text);
    assert.equal(Date.parse(made.body.expires_at) - Date.parse(made.body.created_at), 30 * 86_400_000);
    const plain = await admin.post('/api/v1/tokens', { name: 'yearly', roles: ['caseworker'], scopes: ['persons:read'] });
    assert.equal(Date.parse(plain.body.expires_at) - Date.parse(plain.body.created_at), 365 * 86_400_000);
    for (const days of [0, 731, 100000000000]) {
      assertProblem(await admin.post('/api/v1/tokens', { name: 'x', roles: ['caseworker'], scopes: ['persons:read'], expires_in_days: days }),
        400, { fields: ['expires_in_days'] });
    }
    // Every mistake at once: a role that is none beside an unknown scope, an empty name beside 0 days.
    assertProblem(await admin.post('/api/v1/tokens', { name: 'x', roles: ['god'], scopes: ['nope:read'] }), 400,
      { fields: ['roles/0', 'scopes/0'] });
    assertProblem(await admin.post('/api/v1/tokens', { name: '', roles: ['caseworker'], scopes: ['persons:read'], expires_in_days: 0 }),
      400, { fields: ['name', 'expires_in_days'] });
    // A token's name is who did things in the history and the audit log: one line of text.
    for (const name of ['x\u0000y', 'two\nlines']) {
      const bad = assertProblem(await admin.post('/api/v1/tokens', { name, roles: ['caseworker'], scopes: ['persons:read'] }),
        400, { fields: ['name'] });
      assert.match(bad.errors[0].message, /control characters/);
    }
  });

  test('pages redirect to the sign-in page', T, async () => {
    for (const [path, next] of [['/', '%2F'], ['/clients', '%2Fclients'], ['/clients/1', '%2Fclients%2F1']]) {
      const r = await request(server.url, 'GET', path);
      assert.equal(r.status, 303, path);
      assert.equal(r.headers.get('location'), `/login?next=${next}`);
    }
  });
});

describe('persons', () => {
  let person; // {id, etag, location, body}

  test('create answers 201 with Location and ETag; read answers the same ETag and data', T, async () => {
    const input = newPerson('Quillfeather');
    const r = await create(api, input);
    const id = r.body.id;
    assert.ok(Number.isInteger(id) && id > 0);
    assert.equal(r.headers.get('location'), `/api/v1/persons/${id}`);
    assert.equal(r.headers.get('etag'), '"1"');
    assert.equal(r.body.version, 1);
    assert.match(r.headers.get('x-request-id') ?? '', /^[A-Za-z0-9_-]+$/);

    const g = await api.get(r.headers.get('location'));
    assert.equal(g.status, 200);
    assert.equal(g.headers.get('etag'), r.headers.get('etag'));
    assert.equal(g.body.id, id);
    assert.equal(g.body.version, 1);
    assert.deepEqual(g.body.names, input.names);
    assert.equal(g.body.birth_date, '1987-02-14');
    assert.equal(g.body.sex, 'female');
    assert.deepEqual(g.body.identifiers, input.identifiers);
    assert.deepEqual(g.body.addresses, input.addresses);
    assert.deepEqual(g.body.phones, input.phones);
    assert.deepEqual(g.body.emails, input.emails);
    assert.equal(g.body.preferred_language, 'en');
    assert.deepEqual(g.body.needs, { interpreter: false });
    assert.deepEqual(g.body.source_records, []);
    assert.ok(!('household' in g.body));
    assert.ok(!Number.isNaN(Date.parse(g.body.created_at)));
    assert.equal(g.body.withheld, undefined);
    person = { id, etag: g.headers.get('etag'), body: g.body };
  });

  test('search by name, birth date (full and year) and identifier', T, async () => {
    assert.ok(person, 'depends on the create test');
    const ids = async (query) => {
      const r = await api.get(`/api/v1/persons?${query}`);
      assert.equal(r.status, 200, `${query}: ${r.text}`);
      return r.body.items.map((i) => i.id);
    };
    for (const q of ['Quillfeather', 'quillfeather', 'Zephyrine Quillfeather', 'quillf', 'QUILLFEATHER zeph']) {
      assert.ok((await ids(`q=${encodeURIComponent(q)}`)).includes(person.id), `q=${q}`);
    }
    assert.deepEqual(await ids('q=Quillfeather+Nonexistentname'), []);

    const byName = await api.get('/api/v1/persons?q=Quillfeather');
    const item = byName.body.items.find((i) => i.id === person.id);
    assert.equal(item.name, 'Zephyrine Quillfeather');
    assert.equal(item.birth_date, '1987-02-14');
    assert.deepEqual(item.identifiers, [{ kind: 'passport', value: 'P-Quillfeather' }]);

    assert.ok((await ids('birth_date=1987-02-14&limit=100')).includes(person.id));
    assert.ok((await ids('birth_date=1987&limit=100')).includes(person.id));
    assert.ok((await ids('birth_date=1987-02&limit=100')).includes(person.id));
    assert.ok(!(await ids('birth_date=1988&limit=100')).includes(person.id));
    assert.ok(!(await ids('birth_date=1987-02-15&limit=100')).includes(person.id));
    const year = await api.get('/api/v1/persons?birth_date=1987&limit=100');
    for (const i of year.body.items) assert.ok(i.birth_date.startsWith('1987'), JSON.stringify(i));

    assert.deepEqual(await ids('identifier=P-Quillfeather'), [person.id]);
    assert.deepEqual(await ids('identifier=P-NoSuchThing'), []);
    assert.deepEqual(await ids('q=Quillfeather&birth_date=1987&identifier=P-Quillfeather'), [person.id]);

    const badDate = await api.get('/api/v1/persons?birth_date=1987-13');
    assertProblem(badDate, 400, { fields: ['birth_date'] });
    // A parameter the endpoint does not take is named, not ignored: a typo would otherwise
    // return every client instead of the one asked for.
    const typo = await api.get('/api/v1/persons?q=Quillfeather&limt=1&birthdate=1987');
    assertProblem(typo, 400, { fields: ['limt', 'birthdate'] });
    assert.match(typo.body.errors[0].message, /it takes after, birth_date, identifier, limit, q/);
    assertProblem(await api.get(`/api/v1/persons/${person.id}?fields=names`), 400, { fields: ['fields'] });
    // One given twice is refused too: which one counts would be a guess.
    const twice = await api.get('/api/v1/persons?limit=10&q=Quillfeather&limit=20');
    assertProblem(twice, 400, { fields: ['limit'] });
    assert.match(twice.body.errors[0].message, /is given 2 times: give it once/);
  });

  test('cursor pagination with limit=2 walks every page once', T, async () => {
    const all = await api.get('/api/v1/persons?limit=100');
    assert.equal(all.status, 200);
    assert.equal(all.body.next, null);
    const expected = all.body.items.map((i) => i.id);
    // The persons the city's social services may see: those it holds, and others' under the
    // consortium's agreements for the token's purpose.
    assert.ok(expected.length >= 5, `${expected.length} persons`);

    const seen = [];
    let next = '/api/v1/persons?limit=2';
    let pages = 0;
    while (next) {
      assert.ok(++pages <= expected.length, 'pagination terminates');
      const r = await api.get(next);
      assert.equal(r.status, 200, `${next}: ${r.text}`);
      assert.ok(r.body.items.length >= 1 && r.body.items.length <= 2, `${next} has ${r.body.items.length} items`);
      seen.push(...r.body.items.map((i) => i.id));
      if (r.body.next !== null) assert.match(r.body.next, /^\/api\/v1\/persons\?after=\d+&limit=2/);
      next = r.body.next;
    }
    assert.equal(new Set(seen).size, seen.length, 'no duplicates');
    assert.deepEqual(seen, expected);
    assert.equal(pages, Math.ceil(expected.length / 2));

    // The next link keeps the search.
    const made = [];
    for (const given of ['Ann', 'Ben', 'Cat']) {
      made.push((await create(api, newPerson('Paginata', { names: [{ use: 'official', given, family: 'Paginata' }],
        identifiers: [{ kind: 'passport', value: `P-Pag-${given}` }] }))).body.id);
    }
    const p1 = await api.get('/api/v1/persons?q=paginata&limit=2');
    assert.deepEqual(p1.body.items.map((i) => i.id), made.slice(0, 2));
    assert.match(p1.body.next, /[?&]q=paginata(&|$)/);
    const p2 = await api.get(p1.body.next);
    assert.deepEqual(p2.body.items.map((i) => i.id), made.slice(2));
    assert.equal(p2.body.next, null);
  });

  test('update: If-Match current → 200 and new ETag; stale → 412 unchanged; missing → 428', T, async () => {
    assert.ok(person, 'depends on the create test');
    const url = `/api/v1/persons/${person.id}`;
    const changed = newPerson('Quillfeather', { emails: [{ value: 'zq@example.net' }], preferred_language: 'mi' });

    const ok = await api.put(url, changed, { headers: { 'If-Match': person.etag } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers.get('etag'), '"2"');
    assert.equal(ok.body.version, 2);
    assert.deepEqual(ok.body.emails, [{ value: 'zq@example.net' }]);

    const stale = await api.put(url, newPerson('Quillfeather', { emails: [{ value: 'lost@example.net' }] }),
      { headers: { 'If-Match': person.etag } });
    assertProblem(stale, 412, { detail: /version 1.*version 2/ });
    const after = await api.get(url);
    assert.equal(after.headers.get('etag'), '"2"');
    assert.deepEqual(after.body.emails, [{ value: 'zq@example.net' }]);
    assert.equal(after.body.preferred_language, 'mi');

    const missing = await api.put(url, changed);
    assertProblem(missing, 428, { detail: /If-Match/ });

    // Not an ETag as it was sent: a word, no quotes, a leading zero.
    for (const tag of ['"abc"', '2', '"02"', '""']) {
      const garbage = assertProblem(await api.put(url, changed, { headers: { 'If-Match': tag } }), 400, { fields: ['If-Match'] });
      assert.match(garbage.errors[0].message, /quotes included/, tag);
    }
    // "*" and a list would change a version the sender has not seen; a weak tag names none.
    for (const tag of ['*', '"1", "2"']) {
      assertProblem(await api.put(url, changed, { headers: { 'If-Match': tag } }), 400, { fields: ['If-Match'] });
    }
    assertProblem(await api.put(url, changed, { headers: { 'If-Match': 'W/"2"' } }), 412, { detail: /weak ETag/ });

    // The same data again changes nothing.
    const same = await api.put(url, changed, { headers: { 'If-Match': '"2"' } });
    assert.equal(same.status, 200, same.text);
    assert.equal(same.headers.get('etag'), '"2"');

    const unknown = await api.put('/api/v1/persons/999999', changed, { headers: { 'If-Match': '"1"' } });
    assertProblem(unknown, 404);
    person.etag = '"2"';
  });

  test('history shows the change; the access log is for auditors', T, async () => {
    assert.ok(person, 'depends on the create test');
    const h = await api.get(`/api/v1/persons/${person.id}/history`);
    assert.equal(h.status, 200, h.text);
    const [latest, first] = [h.body.items[0], h.body.items.at(-1)];
    assert.equal(h.body.items.length, 2);
    assert.equal(latest.version, 2);
    assert.equal(latest.action, 'updated');
    assert.equal(latest.actor, 'http-api-test');
    assert.deepEqual(latest.changes.find((c) => c.field === 'emails/0/value'),
      { field: 'emails/0/value', before: 'quillfeather@example.org', after: 'zq@example.net' });
    assert.deepEqual(latest.changes.find((c) => c.field === 'preferred_language'),
      { field: 'preferred_language', before: 'en', after: 'mi' });
    assert.equal(latest.changes.length, 2, JSON.stringify(latest.changes));
    assert.equal(first.version, 1);
    assert.equal(first.action, 'created');
    assert.ok(first.changes.some((c) => c.field === 'names/0/family' && c.before === '' && c.after === 'Quillfeather'));

    // A caseworker reads the record, then may not read its access log.
    const read = await caseworker.get(`/api/v1/persons/${person.id}`);
    assert.equal(read.status, 200);
    const refused = await caseworker.get(`/api/v1/persons/${person.id}/access-log`);
    assertProblem(refused, 403, { detail: /auditor/ });
    const refusedByToken = await api.get(`/api/v1/persons/${person.id}/access-log`);
    assertProblem(refusedByToken, 403);

    // A partner system's token reads it too: its answer is held back until the entry is durable,
    // so the entry is there as soon as the answer is.
    const byToken = await api.get(`/api/v1/persons/${person.id}`, { headers: { 'X-Request-Id': 'token-read-1' } });
    assert.equal(byToken.status, 200);
    assert.equal(byToken.headers.get('x-request-id'), 'token-read-1');
    assert.ok(byToken.headers.get('etag'));

    // The auditor has no client role, but may read the access log.
    assertProblem(await auditor.get(`/api/v1/persons/${person.id}`), 403);
    const items = await accessLog(person.id);
    const tokenRead = items.find((e) => e.action === 'person.read' && e.actor === 'http-api-test');
    assert.ok(tokenRead, JSON.stringify(items.slice(0, 5)));
    assert.equal(tokenRead.allowed, true);
    const reads = items.filter((e) => e.action === 'person.read' && e.actor === 'caseworker.city');
    assert.ok(reads.length >= 1, JSON.stringify(items));
    assert.equal(reads[0].purpose, 'case_work');
    assert.equal(reads[0].allowed, true);
    assert.ok(items.some((e) => e.action === 'person.access_log' && e.actor === 'caseworker.city' && e.allowed === false));
    assert.ok(items.some((e) => e.action === 'person.create' && e.actor === 'http-api-test' && e.allowed === true));
    assert.ok(items.some((e) => e.action === 'person.update' && e.actor === 'http-api-test'));
    assert.ok(items.some((e) => e.action === 'person.read' && e.actor === 'auditor.city' && e.allowed === false));
  });
});

describe('bad input', () => {
  const url = '/api/v1/persons';

  async function rejected(send, status, options) {
    const before = await personCount();
    const r = await send();
    const body = assertProblem(r, status, options);
    assert.equal(await personCount(), before, 'the database is unchanged');
    return body;
  }

  const raw = (body, type = 'application/json') => () => api.req('POST', url, { body, headers: { 'Content-Type': type } });

  test('malformed JSON names the byte', T, async () => {
    const b = await rejected(raw('{"names": [{"given": "A" "family": "B"}]}'), 400);
    assert.match(b.detail, /byte \d+/);
    await rejected(raw(''), 400);
    // A number beyond a double's range is bad JSON too, not a server error.
    for (const n of ['1e400', '-1e400']) {
      const big = await rejected(raw(`{"names": [{"given": "A", "family": "B"}], "x": ${n}}`), 400);
      assert.match(big.detail, /not valid JSON: a number is too large/);
    }
    // A member named twice is refused, at any depth: which one counts would be a guess.
    await rejected(raw('{"names": [{"use": "official", "given": "A", "family": "B"}], "sex": "female", "sex": "male"}'), 400,
      { fields: ['sex'] });
    await rejected(raw('{"names": [{"use": "official", "given": "A", "family": "B", "family": "C"}]}'), 400, { fields: ['names/0/family'] });
    // Each one by its path, in whichever element it is.
    await rejected(raw('{"names": [{"use": "official", "given": "A", "family": "B"}, {"use": "alias", "given": "A", "given": "C", ' +
      '"family": "B"}], "phones": [], "sex": "male", "sex": "female"}'), 400, { fields: ['names/1/given', 'sex'] });
    // The same name in two objects is not twice.
    const two = await api.post(url, { names: [{ use: 'official', given: 'Twyla', family: 'Twice' }, { use: 'alias', given: 'Tw', family: 'Twice' }] });
    assert.equal(two.status, 201, two.text);
  });

  test('refused input is logged at info with its route and status, never what was sent', T, async () => {
    const { readFile } = await import('node:fs/promises');
    const r = await rejected(raw('{"names": [{"given": "Probeworthy Zanzibar" "family": 1}]}'), 400);
    assert.ok((await api.get('/api/v1/persons/1')).status === 200);
    let lines = [];
    for (let i = 0; i < 50 && !lines.some((l) => l.request_id === r.instance); i++) {
      lines = (await readFile(server.logPath, 'utf8')).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      await new Promise((done) => setTimeout(done, 20));
    }
    const refused = lines.find((l) => l.request_id === r.instance);
    assert.ok(refused, 'a line for the refused request');
    assert.equal(refused.level, 'info');
    assert.equal(refused.route, '/api/v1/persons');
    assert.equal(refused.status, '400');
    const log = await readFile(server.logPath, 'utf8');
    assert.doesNotMatch(log, /Probeworthy|Zanzibar/);
    // An answered request stays at debug.
    assert.ok(!lines.some((l) => l.msg === 'request' && l.status === '200'));
  });

  test('a JSON array, a scalar and a wrong Content-Type are refused', T, async () => {
    const a = await rejected(raw(JSON.stringify([newPerson('Arrayson')])), 400);
    assert.match(a.detail, /object/);
    await rejected(raw('"just a string"'), 400);
    const t = await rejected(raw(JSON.stringify(newPerson('Textson')), 'text/plain'), 400);
    assert.match(t.detail, /Content-Type/);
    await rejected(raw(new URLSearchParams({ names: 'x' }).toString(), 'application/x-www-form-urlencoded'), 400);
    // The media type itself, in any case, with parameters; not a type that merely contains it.
    for (const type of ['application/jsonx', 'application/json-patch+json', 'text/application/json']) {
      await rejected(raw(JSON.stringify(newPerson('Typeson')), type), 400);
    }
    for (const type of ['APPLICATION/JSON', 'application/json; charset=utf-8']) {
      const r = await api.req('POST', url, { body: JSON.stringify(newPerson('Typedcase')), headers: { 'Content-Type': type } });
      assert.equal(r.status, 201, `${type}: ${JSON.stringify(r.body)}`);
    }
  });

  test('unknown fields and wrong types are named', T, async () => {
    await rejected(() => api.post(url, newPerson('Colourful', { favourite_colour: 'blue' })), 400,
      { fields: ['favourite_colour'] });
    await rejected(() => api.post(url, newPerson('Nested', { names: [{ use: 'official', family: 'X', middle: 'Y' }] })),
      400, { fields: ['names/0/middle'] });
    await rejected(() => api.post(url, newPerson('Listless', { names: 'Bob Listless' })), 400, { fields: ['names'] });
    await rejected(() => api.post(url, newPerson('Numbered', { birth_date: 19870214 })), 400, { fields: ['birth_date'] });
    await rejected(() => api.post(url, newPerson('Needy', { needs: { interpreter: 'yes' } })), 400,
      { fields: ['needs/interpreter'] });
    await rejected(() => api.post(url, { ...newPerson('Ided'), id: 5 }), 400, { fields: ['id'] });
  });

  test('invalid values are named', T, async () => {
    await rejected(() => api.post(url, newPerson('Leapless', { birth_date: '1987-02-30' })), 400, { fields: ['birth_date'] });
    await rejected(() => api.post(url, newPerson('Mailless', { emails: [{ value: 'not-an-email' }] })), 400,
      { fields: ['emails/0/value'] });
    await rejected(() => api.post(url, newPerson('Aliasonly', { names: [{ use: 'alias', given: 'A', family: 'B' }] })),
      400, { fields: ['names'] });
    await rejected(() => api.post(url, { ...newPerson('Nameless'), names: [] }), 400, { fields: ['names'] });
    const { names, ...noNames } = newPerson('Unnamed');
    assert.ok(names);
    await rejected(() => api.post(url, noNames), 400, { fields: ['names'] });
    await rejected(() => api.post(url, newPerson('Sexy', { sex: 'sometimes' })), 400, { fields: ['sex'] });
    // A living person born more than 130 years ago is a year typed wrong; one who died is history.
    const ancient = await rejected(() => api.post(url, newPerson('Ancient', { birth_date: '1800-01-01' })), 400,
      { fields: ['birth_date'] });
    assert.match(ancient.errors[0].message, /more than 130 years ago/);
    const historic = await api.post(url, newPerson('Historic', { birth_date: '1800-01-01', death_date: '1870-05-02' }));
    assert.equal(historic.status, 201, historic.text);
    await rejected(() => api.post(url, newPerson('Dup', {
      identifiers: [{ kind: 'passport', value: 'X1' }, { kind: 'passport', value: 'X1' }] })), 400,
    { fields: ['identifiers/1'] });
  });

  test('limits count characters, not bytes: 200 of a three-byte letter is a name', T, async () => {
    const given = (n) => ({ names: [{ use: 'official', given: '山'.repeat(n), family: 'Limitova' }], birth_date: '1990-01-02' });
    const ok = await api.post(url, given(200));
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.body.names[0].given.length, 200);
    const long = await rejected(() => api.post(url, given(201)), 400, { fields: ['names/0/given'] });
    assert.match(long.errors[0].message, /at most 200 characters/);
  });

  test('the registration form says which name or date is wrong, in the page\'s language', T, async () => {
    const form = await caseworker.get('/clients/new');
    const send = (fields, headers = {}) => caseworker.req('POST', '/clients', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ csrf_token: hiddenCsrf(form.text), ...fields }).toString() });
    const before = await personCount();
    const long = await send({ given_name: 'Zed', family_name: 'L'.repeat(201), birth_day: '1', birth_month: '2', birth_year: '2090' });
    assert.equal(long.status, 400);
    assert.match(long.text, /href="#family_name">The family name must be at most 200 characters/);
    assert.match(long.text, /href="#birth_day">Date of birth: is in the future/);
    const es = await send({ given_name: 'Zed', family_name: 'Lopez', birth_day: '1', birth_month: '2', birth_year: '2090' },
      { Cookie: `${caseworker.auth.cookie}; onedoor_lang=es` });
    assert.match(es.text, /Fecha de nacimiento: es una fecha futura/);
    // Someone registered already, typed with a date in the future: the date is named first, not
    // after the likely matches have been dealt with.
    await create(caseworker, { names: [{ use: 'official', given: 'Sofia', family: 'Futurova' }], birth_date: '2025-11-12' });
    const later = await send({ given_name: 'Sofia', family_name: 'Futurova', birth_day: '12', birth_month: '12', birth_year: '2090' });
    assert.equal(later.status, 400);
    assert.match(later.text, /href="#birth_day">Date of birth: is in the future/);
    assert.doesNotMatch(later.text, /aria-labelledby="duplicates-title"/);
    assert.equal(await personCount(), before + 1);
    // A client's page in Spanish writes the date of birth in Spanish.
    const made = await create(caseworker, { names: [{ use: 'official', given: 'Junio', family: 'Fechado' }], birth_date: '1957-06-03' });
    const page = await caseworker.get(`/clients/${made.body.id}`, { headers: { Cookie: `${caseworker.auth.cookie}; onedoor_lang=es` } });
    assert.match(page.text, /3 de junio de 1957/);
    assert.doesNotMatch(page.text, /3 June 1957/);
  });

  test('a bad update leaves the record unchanged', T, async () => {
    const made = await create(api, newPerson('Steadfast'));
    const u = made.headers.get('location');
    const b = await rejected(() => api.put(u, newPerson('Steadfast', { emails: [{ value: 'nope' }] }),
      { headers: { 'If-Match': '"1"' } }), 400, { fields: ['emails/0/value'] });
    assert.ok(b);
    const g = await api.get(u);
    assert.equal(g.headers.get('etag'), '"1"');
    assert.deepEqual(g.body.emails, [{ value: 'steadfast@example.org' }]);
  });

  test('an oversize body (max + 1 byte) is refused with 413', T, async () => {
    // The default ONEDOOR_MAX_BODY_BYTES is 1 MiB.
    const filler = 'a'.repeat((1 << 20) + 1 - '{"names":[{"family":""}]}'.length);
    const body = `{"names":[{"family":"${filler}"}]}`;
    assert.equal(Buffer.byteLength(body), (1 << 20) + 1);
    const before = await personCount();
    const r = await api.req('POST', url, { body, headers: { 'Content-Type': 'application/json' } });
    assertProblem(r, 413, { detail: /too large/ });
    assert.equal(await personCount(), before);
  });

  test('a much larger body (2 MiB) gets an HTTP 413 answer, not a dropped connection', T, async () => {
    const body = `{"names":[{"family":"${'b'.repeat(2 << 20)}"}]}`;
    const before = await personCount();
    let r;
    try {
      r = await api.req('POST', url, { body, headers: { 'Content-Type': 'application/json' } });
    } finally {
      assert.equal(await personCount(), before);
    }
    assertProblem(r, 413, { detail: /too large/ });
  });

  test('query and path parameters are checked', T, async () => {
    for (const limit of ['0', '1000', '101', '-1', 'abc', '2.5']) {
      assertProblem(await api.get(`${url}?limit=${limit}`), 400, { fields: ['limit'] });
    }
    assertProblem(await api.get(`${url}?after=xyz`), 400, { fields: ['after'] });
    assert.equal((await api.get(`${url}?limit=100`)).status, 200);
    assert.equal((await api.get(`${url}?limit=1`)).status, 200);
    for (const id of ['abc', '0', '-3', '1.5', '12abc', '9223372036854775808', '18446744073709551615']) {
      assertProblem(await api.get(`${url}/${id}`), 400, { fields: ['id'] });
    }
    assertProblem(await api.get(`${url}/999999`), 404, { detail: /999999/ });
    assertProblem(await api.get(`${url}/999999/history`), 404);
    assertProblem(await api.get('/api/v1/no-such-thing'), 404);
    const wrongMethod = await api.req('DELETE', `${url}/1`);
    assertProblem(wrongMethod, 405);
  });

  test('text that is not UTF-8 is named in the API and refused with a page in a form; nothing is stored', T, async () => {
    assertProblem(await api.get(`${url}?name=Ab%FFc`), 400, { fields: ['name'] });
    assertProblem(await api.get(`${url}/%C0%AF`), 400, { fields: ['path'] });
    const before = await personCount();
    const form = await caseworker.get('/clients/new');
    const r = await caseworker.req('POST', '/clients', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `csrf_token=${encodeURIComponent(hiddenCsrf(form.text))}&given_name=Ab%FFc&family_name=Zed`
        + '&birth_day=1&birth_month=2&birth_year=1990',
    });
    assert.equal(r.status, 400, r.text.slice(0, 300));
    assert.match(r.text, /The form could not be read/);
    assert.equal(await personCount(), before);
  });

  test('428 and 405 problem bodies carry their own status and title', T, async () => {
    const missing = await api.put(`${url}/1`, newPerson('Whoever'));
    assert.equal(missing.status, 428);
    assert.equal(missing.body.status, 428);
    assert.equal(missing.body.title, 'Precondition required');
    const wrongMethod = await api.req('DELETE', `${url}/1`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.body.status, 405);
    assert.equal(wrongMethod.body.title, 'Method not allowed');
    assert.doesNotMatch(wrongMethod.body.detail, /wrong on our side/);
    assert.match(wrongMethod.headers.get('allow') ?? '', /GET/);
  });
});

describe('roles', () => {
  let id;

  before(async () => {
    id = (await create(api, newPerson('Rolewright'))).body.id;
  });

  test('the front desk reads a client but not the history', T, async () => {
    const r = await frontdesk.get(`/api/v1/persons/${id}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.names, newPerson('Rolewright').names);
    assert.ok(r.body.withheld.some((w) => w.category === 'case_notes'), JSON.stringify(r.body.withheld));
    const h = await frontdesk.get(`/api/v1/persons/${id}/history`);
    assertProblem(h, 403, { detail: /front desk/ });
  });

  test('governance and admin may not read a client, and the refusal is audited', T, async () => {
    const g = await governance.get(`/api/v1/persons/${id}`);
    assertProblem(g, 403, { detail: /governance/ });
    assert.equal(g.body.names, undefined);
    const a = await admin.get(`/api/v1/persons/${id}`);
    assertProblem(a, 403, { detail: /admin/ });
    assert.equal(a.body.names, undefined);
    const gs = await governance.get('/api/v1/persons?q=Rolewright');
    assertProblem(gs, 403);

    const items = await accessLog(id);
    const own = items.find((x) => x.action === 'person.read' && x.actor === 'admin.city');
    assert.ok(own, `a person.read entry for admin.city: ${JSON.stringify(items)}`);
    assert.equal(own.allowed, false);
    assert.match(own.reason, /no role/);
    // The health authority's refusal, as the person would see it: no username, no reason.
    const health = items.find((x) => x.action === 'person.read' && x.agency === 'Regional Health Authority');
    assert.ok(health, `a person.read entry of the health authority: ${JSON.stringify(items)}`);
    assert.equal(health.allowed, false);
    assert.ok(!health.actor && !health.reason, JSON.stringify(health));
  });

  test('a token without persons:write may read but not write', T, async () => {
    const secret = await issueToken(admin, { name: 'read-only', roles: ['caseworker'], scopes: ['persons:read'] });
    const ro = new Client(server.url, { token: secret });
    assert.equal((await ro.get(`/api/v1/persons/${id}`)).status, 200);
    const before = await personCount();
    assertProblem(await ro.post('/api/v1/persons', newPerson('Readonly')), 403, { detail: /persons:write/ });
    assertProblem(await ro.put(`/api/v1/persons/${id}`, newPerson('Readonly'), { headers: { 'If-Match': '"1"' } }), 403);
    assert.equal(await personCount(), before);
  });

  test('a role an operation does not list is refused whatever its body says (docs/api.md)', T, async () => {
    const agencyId = Number(await sql(db, "SELECT id FROM agencies WHERE code = 'city-social'"));
    const offices = () => sql(db, 'SELECT count(*) FROM offices');
    const before = await offices();
    const r = await api.post(`/api/v1/agencies/${agencyId}/offices`, {});
    assertProblem(r, 403, { detail: /^createOffice is for callers with one of the roles admin; this caller has caseworker$/ });
    assert.equal(Number(await sql(db, `SELECT count(*) FROM audit_log WHERE request_id = '${r.headers.get('x-request-id')}' AND allowed = 0`)), 1);
    // A missing If-Match too: a role that may never update a client is told so, not asked for it.
    const person = Number(await sql(db, 'SELECT min(id) FROM persons'));
    const noMatch = await admin.put(`/api/v1/persons/${person}`, {});
    assertProblem(noMatch, 403, { detail: /^updatePerson is for callers with one of the roles/ });
    // A person signed in to the portal has no role: refused so too, except where people may make
    // the call about themselves (x-onedoor-people), which their service decides.
    const citizen = await signedInCitizen(server.url, db, { name: 'Api Person', email: 'api.person@example.org' });
    const citizenCsrf = hiddenCsrf((await citizen.go('GET', '/portal')).text);
    const asCitizen = (path) => request(server.url, 'POST', path, {
      headers: { Cookie: [...citizen.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'X-CSRF-Token': citizenCsrf },
      json: {},
    });
    assertProblem(await asCitizen(`/api/v1/agencies/${agencyId}/offices`), 403,
      { detail: /^createOffice is for callers with one of the roles admin; this caller has no role$/ });
    assertProblem(await asCitizen(`/api/v1/persons/${person}/consents`), 403, { detail: /^a person may record consent for themself only$/ });
    // A role that may make it is told what is wrong with the body: admin is one for offices.
    assertProblem(await admin.post(`/api/v1/agencies/${agencyId}/offices`, {}), 400, { fields: ['name'] });
    assert.equal(await offices(), before);
  });

  test('API token scopes are enforced per resource', T, async () => {
    const personsOnly = new Client(server.url, {
      token: await issueToken(admin, { name: 'persons-only', roles: ['caseworker'], scopes: ['persons:read', 'persons:write'] }),
    });
    assertProblem(await personsOnly.post('/api/v1/households', { name: 'Scope check' }), 403);
    assertProblem(await personsOnly.put('/api/v1/source-records/SCOPE-1', { person_id: id, data: {} }), 403);
    const householdsOnly = new Client(server.url, {
      token: await issueToken(admin, { name: 'households-only', roles: ['caseworker'], scopes: ['households:write'] }),
    });
    assert.equal((await householdsOnly.post('/api/v1/households', { name: 'Scope check' })).status, 201);
    const auditorWithoutAuditScope = new Client(server.url, {
      token: await issueToken(admin, { name: 'auditor-no-scope', roles: ['auditor'], scopes: ['persons:read'] }),
    });
    assertProblem(await auditorWithoutAuditScope.get(`/api/v1/persons/${id}/access-log`), 403);
  });

  test('a session-signed write needs X-CSRF-Token', T, async () => {
    const before = await personCount();
    const noCsrf = new Client(server.url, { cookie: caseworker.auth.cookie });
    assertProblem(await noCsrf.post('/api/v1/persons', newPerson('Csrfless')), 403, { detail: /X-CSRF-Token/ });
    const wrong = new Client(server.url, { cookie: caseworker.auth.cookie, csrf: 'not-the-token' });
    assertProblem(await wrong.post('/api/v1/persons', newPerson('Csrfless')), 403);
    assert.equal(await personCount(), before);

    const r = await caseworker.post('/api/v1/persons', newPerson('Csrfful'));
    assert.equal(r.status, 201, r.text);
    assert.equal(await personCount(), before + 1);
    const h = await caseworker.get(`/api/v1/persons/${r.body.id}/history`);
    assert.equal(h.body.items[0].actor, 'caseworker.city');
  });
});

describe('the edit form', () => {
  // The form as the page fills it.
  function formOf(html) {
    const form = new URLSearchParams();
    for (const [tag] of html.matchAll(/<input[^>]*>/g)) {
      const name = /\bname="([^"]+)"/.exec(tag);
      const value = /\bvalue="([^"]*)"/.exec(tag);
      if (!name || !value || (/type="(radio|checkbox)"/.test(tag) && !/\bchecked\b/.test(tag))) continue;
      form.set(name[1], value[1].replaceAll('&#x2F;', '/').replaceAll('&amp;', '&').replaceAll('&#43;', '+'));
    }
    return form;
  }

  test('an edit refused for a mistake keeps the saved name above the form, and a way back', T, async () => {
    const created = (await create(api, newPerson('Steadfast'))).body;
    const page = await caseworker.get(`/clients/${created.id}/edit`);
    assert.match(page.text, new RegExp(`<a class="govuk-link" href="/clients/${created.id}">Cancel</a>`));
    const form = formOf(page.text);
    form.set('family_name', 'Renamed');
    form.set('email', 'not an address');
    const bad = await caseworker.req('POST', `/clients/${created.id}/edit`, {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /<span class="govuk-caption-l">[^<]*Steadfast<\/span>/);
    assert.match(bad.text, /value="Renamed"/, 'what was typed stays in the form');
  });

  test('an edit made on a stale page shows what saving again would change; the history says changes in words', T, async () => {
    const created = (await create(api, newPerson('Stalemate'))).body;
    const page = await caseworker.get(`/clients/${created.id}/edit`);
    assert.equal(page.status, 200);
    const form = formOf(page.text);
    assert.equal(form.get('version'), '1');

    // Meanwhile a partner system changes the phone number.
    const other = await api.put(`/api/v1/persons/${created.id}`,
      newPerson('Stalemate', { phones: [{ use: 'mobile', value: '+61 400 999 000' }] }), { headers: { 'If-Match': '"1"' } });
    assert.equal(other.status, 200, other.text);

    form.set('given_name', 'Zelda');
    const send = () => caseworker.req('POST', `/clients/${created.id}/edit`, {
      body: form.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    const stale = await send();
    assert.equal(stale.status, 409, stale.text.slice(0, 300));
    assert.match(stale.text, /Someone else changed this record while you were editing it/);
    const table = /data-testid="conflict-differences"[\s\S]*?<\/table>/.exec(stale.text)?.[0] ?? '';
    const rows = [...table.matchAll(/<th scope="row"[^>]*>([^<]*)<\/th>\s*<td[^>]*>([^<]*)<\/td>\s*<td[^>]*>([^<]*)<\/td>/g)]
      .map((m) => m.slice(1).map((t) => t.replaceAll('&#43;', '+')));
    assert.deepEqual(rows, [
      ['Name: given name', 'Zephyrine', 'Zelda'],
      ['Phone: number', '+61 400 999 000', '+61 400 123 456'],
    ]);
    // Nothing was saved by the refused form.
    const now = await api.get(`/api/v1/persons/${created.id}`);
    assert.equal(now.headers.get('etag'), '"2"');
    assert.equal(now.body.names[0].given, 'Zephyrine');

    // Saving the refilled form again, having seen the differences, is the caseworker's choice.
    form.set('version', '2');
    const saved = await send();
    assert.equal(saved.status, 303, saved.text.slice(0, 300));

    const history = await caseworker.get(`/clients/${created.id}/history`);
    assert.equal(history.status, 200);
    assert.match(history.text, /<strong>Phone: number<\/strong>: from \+61 400 123 456 to \+61 400 999 000/);
    assert.match(history.text, /<strong>Name: given name<\/strong>: from Zephyrine to Zelda/);
    assert.match(history.text, /<strong>Identifier: kind<\/strong>: to Passport/);
    assert.doesNotMatch(history.text, /names\/0\/given|phones\/0\/value/);
  });
});

describe('households', () => {
  test('create, add members, move a member, end a membership', T, async () => {
    const a = (await create(api, newPerson('Homer'))).body.id;
    const b = (await create(api, newPerson('Marge'))).body.id;

    const h1r = await api.post('/api/v1/households', { name: 'The Homer household' });
    assert.equal(h1r.status, 201, h1r.text);
    const h1 = h1r.body.id;
    assert.equal(h1r.headers.get('location'), `/api/v1/households/${h1}`);
    assert.deepEqual(h1r.body.members, []);
    assert.equal(h1r.body.name, 'The Homer household');

    let r = await api.post(`/api/v1/households/${h1}/members`, { person_id: a, relationship: 'head', since: '2024-01-01' });
    assert.equal(r.status, 200, r.text);
    r = await api.post(`/api/v1/households/${h1}/members`, { person_id: b, relationship: 'partner', since: '2024-01-01' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.members.map((m) => [m.person_id, m.relationship, m.since, m.until]),
      [[a, 'head', '2024-01-01', null], [b, 'partner', '2024-01-01', null]]);

    assertProblem(await api.post(`/api/v1/households/${h1}/members`,
      { person_id: a, relationship: 'head', since: '2024-02-01' }), 409);
    assertProblem(await api.post(`/api/v1/households/${h1}/members`,
      { person_id: a, relationship: 'cousin', since: '2024-02-01' }), 400, { fields: ['relationship'] });
    assertProblem(await api.post(`/api/v1/households/${h1}/members`,
      { person_id: 999999, relationship: 'child', since: '2024-02-01' }), 400, { fields: ['person_id'] });
    assertProblem(await api.post(`/api/v1/households/${h1}/members`,
      { relationship: 'child', since: '2024-02-01' }), 400, { fields: ['person_id'] });
    assertProblem(await api.post(`/api/v1/households/${h1}/members`,
      { person_id: b, relationship: 'child', since: '2024-02-30' }), 400, { fields: ['since'] });
    // A relationship that is none is named beside a date that cannot be read, at once.
    const both = await api.post(`/api/v1/households/${h1}/members`, { person_id: b, relationship: 'cousin', since: 'soon' });
    assertProblem(both, 400, { fields: ['relationship', 'since'] });
    assertProblem(await api.post(`/api/v1/households/${h1}/members`,
      { person_id: b, relationship: 'child', since: '2024-02-01', role: 'x' }), 400, { fields: ['role'] });
    assertProblem(await api.post('/api/v1/households', { name: '   ' }), 400, { fields: ['name'] });
    assertProblem(await api.post('/api/v1/households/999999/members',
      { person_id: a, relationship: 'child', since: '2024-02-01' }), 404);

    const h2 = (await api.post('/api/v1/households', { name: 'The Marge household' })).body.id;
    // Moving must not start before the current membership.
    assertProblem(await api.post(`/api/v1/households/${h2}/members`,
      { person_id: b, relationship: 'head', since: '2023-06-01' }), 400, { fields: ['since'] });
    r = await api.post(`/api/v1/households/${h2}/members`, { person_id: b, relationship: 'head', since: '2024-06-01' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.members.map((m) => [m.person_id, m.until]), [[b, null]]);

    let g = await api.get(`/api/v1/households/${h1}`);
    assert.equal(g.status, 200);
    const byId = (h) => Object.fromEntries(h.members.map((m) => [m.person_id, m]));
    assert.equal(byId(g.body)[a].until, null);
    assert.equal(byId(g.body)[b].until, '2024-06-01');
    assert.equal(byId(g.body)[b].since, '2024-01-01');

    const pb = await api.get(`/api/v1/persons/${b}`);
    assert.deepEqual(pb.body.household, { id: h2, name: 'The Marge household', relationship: 'head' });

    assertProblem(await api.post(`/api/v1/households/${h1}/members/${a}/end`, { until: '2023-01-01' }), 400,
      { fields: ['until'] });
    r = await api.post(`/api/v1/households/${h1}/members/${a}/end`, { until: '2024-12-31' });
    assert.equal(r.status, 200, r.text);
    assert.equal(byId(r.body)[a].until, '2024-12-31');
    assertProblem(await api.post(`/api/v1/households/${h1}/members/${a}/end`, { until: '2025-01-31' }), 404);
    g = await api.get(`/api/v1/households/${h1}`);
    assert.ok(g.body.members.every((m) => m.until !== null));
    const pa = await api.get(`/api/v1/persons/${a}`);
    assert.equal(pa.body.household, undefined);
  });
});

describe('source records', () => {
  test('PUT creates then updates the same record; the person view lists it', T, async () => {
    const pid = (await create(api, newPerson('Sourcely'))).body.id;
    const url = '/api/v1/source-records/CITY-TEST-0001';
    const first = await api.put(url, { person_id: pid, data: { case: 'A1', open: true } });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.local_id, 'CITY-TEST-0001');
    assert.equal(first.body.person_id, pid);
    assert.deepEqual(first.body.data, { case: 'A1', open: true });

    const second = await api.put(url, { person_id: pid, data: { case: 'A1', open: false } });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.body.id, first.body.id);
    assert.deepEqual(second.body.data, { case: 'A1', open: false });
    assert.equal(await countRows(db, "source_records WHERE local_id = 'CITY-TEST-0001'"), 1);

    const before = await countRows(db, 'source_records');
    assertProblem(await api.put('/api/v1/source-records/CITY-TEST-0002', { person_id: 999999, data: {} }), 400,
      { fields: ['person_id'] });
    assertProblem(await api.put('/api/v1/source-records/CITY-TEST-0002', { person_id: pid }), 400, { fields: ['data'] });
    assertProblem(await api.put('/api/v1/source-records/CITY-TEST-0002', { person_id: pid, data: [1] }), 400,
      { fields: ['data'] });
    assertProblem(await api.put('/api/v1/source-records/CITY-TEST-0002', { person_id: 'x', data: {} }), 400,
      { fields: ['person_id'] });
    assertProblem(await api.put(`/api/v1/source-records/${'L'.repeat(65)}`, { person_id: pid, data: {} }), 400,
      { fields: ['local_id'] });
    assert.equal(await countRows(db, 'source_records'), before);

    const view = await api.get(`/api/v1/persons/${pid}`);
    assert.equal(view.status, 200);
    const me = await api.get('/api/v1/me');
    assert.deepEqual(view.body.source_records,
      [{ agency_id: me.body.agency_id, agency_name: 'City Social Services Department', local_id: 'CITY-TEST-0001' }]);
  });

  test('a local id with a slash is addressed with %2F', T, async () => {
    const pid = (await create(api, newPerson('Slashley'))).body.id;
    const url = '/api/v1/source-records/HSG%2F2024%2F7';
    const first = await api.put(url, { person_id: pid, data: { v: 1 } });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.local_id, 'HSG/2024/7');
    const second = await api.put(url, { person_id: pid, data: { v: 2 } });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.body.id, first.body.id);
    assert.deepEqual(second.body.data, { v: 2 });
    assert.equal(await countRows(db, "source_records WHERE local_id = 'HSG/2024/7'"), 1);
    const view = await api.get(`/api/v1/persons/${pid}`);
    assert.deepEqual(view.body.source_records.map((r) => r.local_id), ['HSG/2024/7']);
    // Unencoded, the slashes are the path's own: no such route.
    assert.equal((await api.put('/api/v1/source-records/HSG/2024/7', { person_id: pid, data: {} })).status, 404);
    // An id is one line: a NUL, a line break or a tab is refused, in a PUT and in a batch.
    const before = await countRows(db, 'source_records');
    for (const id of ['x%00y', 'nl%0Ahere', 'tab%09here']) {
      assertProblem(await api.put(`/api/v1/source-records/${id}`, { person_id: pid, data: {} }), 400, { fields: ['local_id'] });
    }
    assertProblem(await api.post('/api/v1/source-records/batch', { records: [{ local_id: 'x\u0000z',
      person: { names: [{ use: 'official', given: 'Ana', family: 'Slashley' }] } }] }), 400, { fields: ['records/0/local_id'] });
    assert.equal(await countRows(db, 'source_records'), before);
  });
});

describe('source record batches', () => {
  test('a batch creates, then reports unchanged and updated; a bad record stores nothing', T, async () => {
    const person = (given, family, line1) => ({
      names: [{ use: 'official', given, family }],
      birth_date: '1984-03-07',
      addresses: [{ use: 'home', line1, city: 'Ashford' }],
    });
    const url = '/api/v1/source-records/batch';
    const events = await countRows(db, 'outbox');
    const first = await api.post(url, { records: [
      { local_id: 'BATCH-1', person: person('Amara', 'Okonkwo', '3 Station Road') },
      { local_id: 'BATCH-2', person: person('Ben', 'Ashby', '1 Mill Lane') },
    ] });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.body, { created: 2, updated: 0, unchanged: 0, results: [
      { local_id: 'BATCH-1', outcome: 'created' }, { local_id: 'BATCH-2', outcome: 'created' }] });
    assert.equal(await countRows(db, 'outbox'), events + 2);

    const second = await api.post(url, { records: [
      { local_id: 'BATCH-1', person: person('Amara', 'Okonkwo', '3 Station Road') },
      { local_id: 'BATCH-2', person: person('Ben', 'Ashby', '8 Harbour View') },
    ] });
    assert.equal(second.status, 200, second.text);
    assert.deepEqual(second.body.results.map((r) => r.outcome), ['unchanged', 'updated']);
    assert.equal(await countRows(db, 'outbox'), events + 3);

    const before = await countRows(db, 'source_records');
    assertProblem(await api.post(url, { records: [
      { local_id: 'BATCH-3', person: person('Cleo', 'Marsh', '2 High Street') },
      { local_id: 'BATCH-4', person: { names: [] } },
      { local_id: 'BATCH-3', person: person('Cleo', 'Marsh', '2 High Street') },
      { person: person('Dev', 'Patel', '4 Quay') },
      'not an object',
      { local_id: 'BATCH-5' },
    ] }), 400, { fields: ['records/1/person/names', 'records/2/local_id', 'records/3/local_id', 'records/4',
      'records/5/person'] });
    // Dates are checked as a single create checks them: none in the future, a living person's
    // birth within 130 years.
    const dated = await api.post(url, { records: [
      { local_id: 'BATCH-6', person: { ...person('Eve', 'Fowler', '5 Quay'), birth_date: '2999-01-01' } },
      { local_id: 'BATCH-7', person: { ...person('Finn', 'Gale', '6 Quay'), birth_date: '1801-01-01' } },
      { local_id: 'BATCH-8', person: { ...person('Gus', 'Hale', '7 Quay'), death_date: '2999-12-31' } },
    ] });
    assertProblem(dated, 400, { fields: ['records/0/person/birth_date', 'records/1/person/birth_date',
      'records/2/person/death_date'] });
    assertProblem(await api.post(url, { records: [
      { local_id: 'BATCH-3', person: person('Cleo', 'Marsh', '2 High Street') },
      { local_id: 'BATCH-3', person: person('Cleo', 'Marsh', '2 High Street') },
    ] }), 400, { fields: ['records/1/local_id'] });
    assertProblem(await api.post(url, { records: [] }), 400, { fields: ['records'] });
    assertProblem(await api.post(url, { rows: [] }), 400, { fields: ['rows'] });
    assert.equal(await countRows(db, 'source_records'), before);
  });
});

describe('match', () => {
  test('a typo finds the registered person first, explained; each candidate is audited', T, async () => {
    const body = {
      names: [{ use: 'official', given: 'Zebedee', family: 'Quillfeather' }],
      birth_date: '1979-11-23',
      addresses: [{ use: 'home', line1: '41 Lantern Walk', city: 'Ashford', postcode: 'TN23 9ZZ' }],
    };
    const made = await create(api, body);
    assert.equal(made.status, 201, made.text);
    const probe = { ...body, names: [{ use: 'official', given: 'Zebedee', family: 'Quilfeather' }] };
    const r = await api.post('/api/v1/match', { person: probe, limit: 3 });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.candidates.length >= 1, r.text);
    const top = r.body.candidates[0];
    assert.equal(top.person_id, made.body.id);
    assert.equal(top.name, 'Zebedee Quillfeather');
    assert.equal(top.birth_date, '1979-11-23');
    assert.ok(top.probability > 0.5, r.text);
    const fields = Object.fromEntries(top.explanation.fields.map((f) => [f.field, f]));
    assert.equal(fields.date_of_birth.level, 'exact');
    assert.ok(fields.family_name.weight > 0, 'a one-letter typo still counts for the family name');
    assert.equal(await countRows(db, `audit_log WHERE action = 'person.match_candidate' AND person_id = ${made.body.id}`), 1);

    const nobody = await api.post('/api/v1/match', { person: { names: [{ use: 'official', given: 'Xq', family: 'Vvvzzz' }] } });
    assert.equal(nobody.status, 200, nobody.text);
    assert.deepEqual(nobody.body.candidates, []);

    assertProblem(await api.post('/api/v1/match', { person: { names: [] } }), 400, { fields: ['names'] });
    assertProblem(await api.post('/api/v1/match', { person: body, limit: 50 }), 400, { fields: ['limit'] });
    assertProblem(await api.post('/api/v1/match', { who: body }), 400, { fields: ['who'] });
  });
});

describe('registering someone already known', () => {
  test('a namesake without a date of birth, and a typo with the same date of birth, are shown as possible duplicates', T, async () => {
    const known = await create(caseworker, { names: [{ use: 'official', given: 'Zéphyrine', family: 'Quillon' }] });
    const dated = await create(caseworker, { names: [{ use: 'official', given: 'Jacques', family: 'Vermandois' }], birth_date: '1977-01-16' });
    const likely = (html) => /data-testid="likely-matches"[\s\S]*?<\/div>\s*<\/div>/.exec(html)?.[0] ?? '';
    const namesake = await caseworker.get('/clients/new?check=1&given_name=Zephyrine&family_name=QUILLON');
    assert.equal(namesake.status, 200);
    assert.match(namesake.text, new RegExp(`href="/clients/${known.body.id}"`), likely(namesake.text) || namesake.text.slice(0, 300));
    const typo = await caseworker.get('/clients/new?check=1&given_name=Jaques&family_name=Vermandois&birth_day=16&birth_month=1&birth_year=1977');
    assert.match(typo.text, new RegExp(`href="/clients/${dated.body.id}"`));
    // Someone else entirely is not.
    const other = await caseworker.get('/clients/new?check=1&given_name=Zephyrine&family_name=Vermandois');
    assert.doesNotMatch(other.text, new RegExp(`href="/clients/(${known.body.id}|${dated.body.id})"`));
  });

  test('someone registered in another script, with the name typed among their other names, is shown as a possible duplicate', T, async () => {
    const known = await create(caseworker, { names: [{ use: 'official', given: 'Мария', family: 'Иванова' },
      { use: 'alias', given: 'Maria', family: 'Ivanova' }] });
    const check = await caseworker.get('/clients/new?check=1&given_name=Maria&family_name=Ivanova');
    assert.equal(check.status, 200);
    assert.match(check.text, new RegExp(`href="/clients/${known.body.id}"`));
    assert.match(check.text, /Same name, or one they are known by/);
    // Registering without looking lists them too, before anything is saved.
    const page = await caseworker.get('/clients/new');
    const sent = await caseworker.req('POST', '/clients', {
      body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), given_name: 'Maria', family_name: 'Ivanova' }).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(sent.status, 200, sent.text.slice(0, 300));
    assert.match(sent.text, new RegExp(`href="/clients/${known.body.id}"`));
  });

  test('someone with the same identity number is shown, however the number is typed; the search finds it too', T, async () => {
    const held = await create(caseworker, { names: [{ use: 'official', given: 'Ethel', family: 'Marchbanks' }],
      identifiers: [{ kind: 'national_id', value: 'QZ 771-204' }] });
    assert.equal(held.status, 201, held.text);
    const same = await caseworker.get('/clients/new?check=1&family_name=Cohen&national_id=qz771204');
    assert.match(same.text, new RegExp(`href="/clients/${held.body.id}"[^<]*</a></td>\\s*<td[^>]*>[^<]*</td>\\s*<td[^>]*>Same identity number`));
    // Registering anyway asks why, as for any likely match.
    const form = await caseworker.get('/clients/new');
    const posted = await caseworker.req('POST', '/clients', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf_token: hiddenCsrf(form.text), family_name: 'Cohen', given_name: 'Ruth',
        national_id: 'QZ771204' }).toString() });
    assert.equal(posted.status, 200, posted.text.slice(0, 300));
    assert.match(posted.text, /This person may already be registered/);
    assert.match(posted.text, new RegExp(`href="/clients/${held.body.id}"`));
    // The search: the number in its own field, or typed where the name goes.
    for (const query of ['identifier=qz-771204', 'q=QZ771204', 'q=qz%20771%20204']) {
      const found = await caseworker.get(`/clients?${query}`);
      assert.equal(found.status, 200);
      assert.match(found.text, new RegExp(`href="/clients/${held.body.id}"`), query);
      assert.match(found.text, /1 client found/, query);
    }
    const api = await caseworker.get('/api/v1/persons?identifier=qz771204');
    assert.deepEqual(api.body.items.map((p) => p.id), [held.body.id]);
    // A day and month without a year say so; they were ignored.
    const noYear = await caseworker.get('/clients?dob_day=12&dob_month=7');
    assert.equal(noYear.status, 400);
    assert.match(noYear.text, /href="#dob_day">Date of birth: the date must include a year/);
  });
});

describe('match reviews', () => {
  test('the queue lists, decides and remembers; bad input is named', T, async () => {
    const list = await api.get('/api/v1/match-reviews?state=pending');
    assert.equal(list.status, 200, list.text);
    assert.ok(Array.isArray(list.body.items));
    assertProblem(await api.get('/api/v1/match-reviews?state=done'), 400, { fields: ['state'] });
    assertProblem(await api.get('/api/v1/match-reviews/x'), 400, { fields: ['id'] });
    assertProblem(await api.get('/api/v1/match-reviews/999999'), 404);
    assertProblem(await api.post('/api/v1/match-reviews/999999/decision', { decision: 'same' }), 404);
    assertProblem(await api.post('/api/v1/match-reviews/1/decision', { decision: 'maybe' }), 400, { fields: ['decision'] });
    assertProblem(await api.post('/api/v1/match-reviews/1/decision', {}), 400, { fields: ['decision'] });
    // The scope the queue's records need can be issued, and works.
    const secret = await issueToken(admin, { name: 'review-system', roles: ['caseworker'], scopes: ['source-records:read', 'persons:read'] });
    const reviewer = new Client(server.url, { token: secret });
    const byToken = await reviewer.get('/api/v1/match-reviews?state=pending');
    assert.equal(byToken.status, 200, byToken.text);
  });
});

// --- Graceful shutdown on its own server --------------------------------------------------

// Sends one create with node:http. Returns {written, done}: `written` settles once the
// request has been handed to the socket, `done` with {status, location, text} or {error}.
function rawCreate(url, headers, body) {
  const payload = JSON.stringify(body);
  let markWritten;
  const written = new Promise((resolve) => { markWritten = resolve; });
  const done = new Promise((resolve) => {
    const req = http.request(`${url}/api/v1/persons`, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
      timeout: 15_000,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location, text }));
      res.on('error', (error) => resolve({ error }));
    });
    req.on('finish', () => markWritten());
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', (error) => { markWritten(); resolve({ error }); });
    req.end(payload);
  });
  return { written, done };
}

describe('graceful shutdown', () => {
  test('creates answered 201 before SIGTERM survive a restart; exit code 0', { timeout: 120_000 }, async (t) => {
    const { db: shutdownDb } = await prepareDatabase({ people: 0, prefix: 'onedoor-http-shutdown-' });
    const env = { ONEDOOR_SHUTDOWN_GRACE_SECONDS: '4' };
    let first = await serve(shutdownDb, { env });
    let second;
    try {
      const adm = await login(first.url, 'admin.city', { purpose: 'administration' });
      const secret = await issueToken(adm, { name: 'shutdown-test', roles: ['caseworker'], scopes: kAllScopes });
      const headers = { Authorization: `Bearer ${secret}` };

      const sends = [];
      for (let i = 0; i < 20; ++i) {
        sends.push(rawCreate(first.url, headers, newPerson(`Shutdown${String.fromCharCode(65 + i)}`)));
      }
      await Promise.all(sends.map((s) => s.written));
      const stopping = first.stop(); // SIGTERM now
      const results = await Promise.all(sends.map((s) => s.done));
      const status = await stopping;
      first = null;
      assert.deepEqual(status, { code: 0, signal: null }, 'the server exits cleanly');

      const created = results.filter((r) => r.status === 201);
      const others = results.filter((r) => r.status !== 201);
      for (const r of others) {
        // Refused or cut off during shutdown is acceptable; a server error is not.
        assert.ok(r.error || r.status === 503, `unexpected answer during shutdown: ${r.status} ${r.text}`);
      }
      t.diagnostic(`${created.length} of 20 creates answered 201 before shutdown`);

      second = await serve(shutdownDb, { env });
      const api2 = new Client(second.url, { token: secret });
      for (const r of created) {
        assert.match(r.location, /^\/api\/v1\/persons\/\d+$/);
        const g = await api2.get(r.location);
        assert.equal(g.status, 200, `${r.location} after restart: ${g.text}`);
        assert.equal(g.body.names[0].family, JSON.parse(r.text).names[0].family);
      }
      assert.ok(await countRows(shutdownDb, 'persons') >= created.length);
    } finally {
      if (first) await first.stop();
      if (second) {
        const s = await second.stop();
        assert.equal(s?.code, 0);
      }
    }
  });
});
