// Limits per caller: each staff user, portal account and API token may make so many requests a
// minute (user_requests_per_minute, token_requests_per_minute); beyond that, 429 with
// Retry-After, and the request is not carried out. docs/operators.md, "Limits per caller".
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/caller_limits.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { Client, assertProblem, binary, countRows, issueToken, login, onedoorEnv, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-caller-limits-' });
  db = prepared.db;
  server = await serve(db, {
    logDir: prepared.dir,
    env: { ONEDOOR_USER_REQUESTS_PER_MINUTE: '5', ONEDOOR_TOKEN_REQUESTS_PER_MINUTE: '8' },
  });
});

after(async () => {
  await server?.stop();
});

test('an API token gets its minute of requests, then 429 with Retry-After, and what it asked is not done', T, async () => {
  const admin = await login(server.url, 'admin.city', { purpose: 'administration' }); // one request, the start page, of the admin's five
  const limited = new Client(server.url, { token: await issueToken(admin, { name: 'busy-system', roles: ['caseworker'], scopes: ['persons:read', 'persons:write'] }) });
  const other = new Client(server.url, { token: await issueToken(admin, { name: 'quiet-system', roles: ['caseworker'], scopes: ['persons:read'] }) });
  for (let i = 0; i < 8; i++) assert.equal((await limited.get('/api/v1/me')).status, 200, `request ${i + 1}`);
  const persons = await countRows(db, 'persons');
  const refused = await limited.post('/api/v1/persons', { names: [{ use: 'official', given: 'Over', family: 'Limit' }] });
  const body = assertProblem(refused, 429, { detail: /at most 8 a minute are accepted from one caller; try again in 8 seconds/ });
  assert.equal(body.title, 'Too many requests');
  assert.equal(body.type, 'https://onedoor.example/problems/resource-exhausted');
  assert.equal(refused.headers.get('retry-after'), '8');
  assert.equal(await countRows(db, 'persons'), persons, 'the refused create wrote nothing');
  assertProblem(await limited.get('/api/v1/me'), 429);
  assert.equal((await other.get('/api/v1/me')).status, 200, 'another token has its own minute');

  // The operator sees which token, by its id only.
  const log = await readFile(server.logPath, 'utf8');
  const line = log.split('\n').find((l) => l.includes('a caller went over its request limit'));
  assert.ok(line, 'a line is logged when a caller goes over');
  const entry = JSON.parse(line);
  assert.match(entry.caller, /^token:\d+$/);
  assert.equal(entry.limit_per_minute, '8');
  assert.ok(!line.includes('busy-system'), 'the log line names the token by id');
  assert.equal(log.split('\n').filter((l) => l.includes('a caller went over its request limit')).length, 1,
    'logged once while it stays over, not at every refusal');
});

test('a signed-in person gets a page saying to wait, pages and API together; public pages stay open', T, async () => {
  const desk = await login(server.url, 'frontdesk.city'); // the start page: one of five
  for (let i = 0; i < 3; i++) assert.equal((await desk.get('/clients')).status, 200, `page ${i + 2}`);
  assert.equal((await desk.get('/api/v1/me')).status, 200, 'request 5, through the API');
  const page = await desk.get('/clients');
  assert.equal(page.status, 429);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(page.text, /Too many requests/);
  assert.match(page.text, /Wait 12 seconds and try again/);
  assert.equal(page.headers.get('retry-after'), '12');
  assertProblem(await desk.get('/api/v1/me'), 429);
  assert.equal((await desk.get('/api/v1/life-events')).status, 200, 'a public route is not counted');
  const caseworker = await login(server.url, 'caseworker.city');
  assert.equal((await caseworker.get('/clients')).status, 200, 'another person is not slowed');
});

// A token's own limit: an administrator may lower the deployment's for one of the agency's tokens
// (API and pages), an operator may set any, or none (onedoor token limit). Its own server, so
// that the administrator's pages are not counted against the five a minute above.
test('a token with a limit of its own is counted against it; an administrator may only lower it, the operator any', T, async () => {
  const prepared = await prepareDatabase({ people: 1, prefix: 'onedoor-token-limits-' });
  const own = await serve(prepared.db, { logDir: prepared.dir, env: { ONEDOOR_TOKEN_REQUESTS_PER_MINUTE: '8' } });
  try {
    const admin = await login(own.url, 'admin.city', { purpose: 'administration' });
    const issued = await admin.post('/api/v1/tokens', { name: 'small-system', roles: ['caseworker'], scopes: ['persons:read'], requests_per_minute: 2 });
    assert.equal(issued.status, 201, issued.text);
    assert.equal(issued.body.requests_per_minute, 2);
    const id = issued.body.id;
    const small = new Client(own.url, { token: issued.body.secret });
    for (let i = 0; i < 2; i++) assert.equal((await small.get('/api/v1/me')).status, 200, `request ${i + 1}`);
    const refused = assertProblem(await small.get('/api/v1/me'), 429, { detail: /at most 2 a minute are accepted from one caller; try again in 30 seconds/ });
    assert.equal(refused.title, 'Too many requests');

    // Above the deployment's is the operator's to give: refused, naming the field, nothing changed.
    assertProblem(await admin.req('PATCH', `/api/v1/tokens/${id}`, { json: { requests_per_minute: 9 } }), 400, { fields: ['requests_per_minute'] });
    assert.deepEqual(await sql(prepared.db, `SELECT requests_per_minute FROM api_tokens WHERE id = ${id}`), '2');

    // The operator takes the limit away while the server runs; the next request is not counted.
    const { stdout } = await promisify(execFile)(binary, ['token', 'limit', '--id', String(id), '--requests-per-minute', '0'],
      { env: { ...process.env, ...onedoorEnv(prepared.db) }, timeout: 60_000 });
    assert.equal(stdout.trim(), `token ${id} (small-system) has no request limit`);
    for (let i = 0; i < 12; i++) assert.equal((await small.get('/api/v1/me')).status, 200, `request ${i + 1} without a limit`);

    // The administrator's page shows it, and gives the token a limit of its own again.
    const list = await admin.get('/tokens');
    assert.equal(list.status, 200);
    assert.match(list.text, /small-system[\s\S]*No limit[\s\S]*Change/);
    const formPage = await admin.get(`/tokens/${id}/limit`);
    assert.equal(formPage.status, 200);
    assert.match(formPage.text, /Now: No limit/);
    const post = (limit) => admin.req('POST', `/tokens/${id}/limit`, {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ limit, csrf_token: admin.auth.csrf }).toString(),
    });
    for (const wrong of ['9', 'lots', '0']) {
      const bad = await post(wrong);
      assert.equal(bad.status, 400, wrong);
      assert.match(bad.text, /Enter a whole number of requests a minute from 1 to 8, or leave it empty/);
      assert.match(bad.text, new RegExp(`value="${wrong}"`), 'what was typed is kept');
    }
    assert.deepEqual(await sql(prepared.db, `SELECT requests_per_minute FROM api_tokens WHERE id = ${id}`), '0');
    const saved = await post('3');
    assert.equal(saved.status, 303);
    assert.equal(saved.headers.get('location'), '/tokens?limit=1');
    assert.match((await admin.get('/tokens?limit=1')).text, /Request limit changed/);
    assert.equal((await admin.get('/api/v1/tokens')).body.items.find((t) => t.id === id).requests_per_minute, 3);
    const cleared = await post('');
    assert.equal(cleared.status, 303);
    assert.deepEqual(await sql(prepared.db, `SELECT requests_per_minute FROM api_tokens WHERE id = ${id}`), '');
    assert.equal(await sql(prepared.db, "SELECT reason FROM audit_log WHERE action = 'token.limit_changed' ORDER BY seq"),
      "no request limit\nat most 3 requests a minute\nthe deployment's request limit");
  } finally {
    await own.stop();
  }
});
