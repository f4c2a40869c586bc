// Refuse rather than lose, over HTTP: while the audit log cannot be written, a read of a person's
// record answers 503 and releases none of it, and a change is not made; while the outbox cannot
// be written, a change whose event would be lost is not made either. Once the database takes
// writes again, both work. (A trigger that refuses inserts stands in for a full disk.)
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/refuse.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { Client, Visitor, countRows, issueToken, kPassword, login, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };
const execFileP = promisify(execFile);

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 3, prefix: 'onedoor-refuse-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
});

const write = (query) => execFileP('sqlite3', ['-cmd', '.timeout 5000', db, query]);

test('no audit, no data: a read or a change that cannot be audited is refused with 503', T, async () => {
  const staff = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  const person = Number(await sql(db, 'SELECT min(id) FROM persons'));
  const name = await sql(db, `SELECT display_name FROM persons WHERE id = ${person}`);
  const ok = await staff.get(`/api/v1/persons/${person}`);
  assert.equal(ok.status, 200);
  assert.ok(ok.text.includes(name.split(' ')[0]));
  // A partner system's token: its reads are answered by the I/O thread once the entry commits.
  const admin = await login(server.url, 'admin.city', { purpose: 'administration' });
  const api = new Client(server.url, { token: await issueToken(admin, { name: 'refuse-test', roles: ['caseworker'], scopes: ['persons:read'] }) });
  assert.equal((await api.get(`/api/v1/persons/${person}`)).status, 200);

  await write("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
  try {
    const read = await staff.get(`/api/v1/persons/${person}`);
    assert.equal(read.status, 503, read.text);
    assert.equal(read.headers.get('content-type'), 'application/problem+json');
    assert.match(read.body.detail, /the audit log cannot be written, so nothing was released or changed/);
    assert.ok(!read.text.includes(name.split(' ')[0]), 'no part of the record is released');
    const byToken = await api.get(`/api/v1/persons/${person}`);
    assert.equal(byToken.status, 503, byToken.text);
    assert.equal(byToken.headers.get('content-type'), 'application/problem+json');
    assert.match(byToken.body.detail, /the audit log cannot be written, so nothing was released or changed/);
    assert.ok(!byToken.text.includes(name.split(' ')[0]), 'no part of the record is released');
    assert.equal(byToken.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(byToken.body.instance, byToken.headers.get('x-request-id'));
    const page = await staff.get(`/clients/${person}`);
    assert.equal(page.status, 503);
    assert.ok(!page.text.includes(name), 'the page shows nothing of the record');

    const people = await countRows(db, 'persons');
    const made = await staff.post('/api/v1/persons', { names: [{ use: 'official', given: 'Hemi', family: 'Walker' }] });
    assert.equal(made.status, 503, made.text);
    assert.equal(await countRows(db, 'persons'), people);
    // Signing in with the right password is refused as the database's trouble, not as a wrong password.
    const visitor = new Visitor(server.url);
    const signIn = await visitor.submit('/login', '/login', { username: 'caseworker.city', password: kPassword, purpose: 'case_work' });
    assert.equal(signIn.status, 503, signIn.text.slice(0, 300));
    assert.doesNotMatch(signIn.text, /username or password is not right/);
  } finally {
    await write('DROP TRIGGER refuse_audit;');
  }
  assert.equal((await staff.get(`/api/v1/persons/${person}`)).status, 200);
  assert.equal((await api.get(`/api/v1/persons/${person}`)).status, 200);
});

test('no event, no change: a change whose event cannot be queued is refused with 503', T, async () => {
  const staff = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  const people = await countRows(db, 'persons');
  const events = await countRows(db, 'outbox');
  await write("CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
  try {
    const made = await staff.post('/api/v1/persons', { names: [{ use: 'official', given: 'Hemi', family: 'Walker' }] });
    assert.equal(made.status, 503, made.text);
    assert.match(made.body.detail, /the event of this change cannot be queued, so nothing was changed/);
    assert.equal(await countRows(db, 'persons'), people);
    assert.equal(await countRows(db, 'outbox'), events);
  } finally {
    await write('DROP TRIGGER refuse_outbox;');
  }
  const made = await staff.post('/api/v1/persons', { names: [{ use: 'official', given: 'Hemi', family: 'Walker' }] });
  assert.equal(made.status, 201, made.text);
  assert.equal(await countRows(db, 'outbox'), events + 1);
});
