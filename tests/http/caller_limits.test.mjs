// Limits per caller: each staff user, portal account and API token may make so many requests a
// minute (user_requests_per_minute, token_requests_per_minute); beyond that, 429 with
// Retry-After, and the request is not carried out. docs/operators.md, "Limits per caller".
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/caller_limits.test.mjs

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { Client, assertProblem, countRows, issueToken, login, prepareDatabase, serve } from './helpers.mjs';

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
