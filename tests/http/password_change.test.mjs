// Changing one's own password, over HTTP: the current password is needed (a wrong one named, and
// counted as a failed sign-in), the new one is held to the password rules and typed twice; once
// changed, every session of the account ends, the old password no longer signs in and the new one
// does.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/password_change.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { hiddenCsrf, kPassword, login, prepareDatabase, request, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 1, prefix: 'onedoor-password-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
});

test('staff change their own password, giving the current one', T, async () => {
  const staff = await login(server.url, 'caseworker.state', { purpose: 'case_work' });
  const other = await login(server.url, 'caseworker.state', { purpose: 'case_work' });
  const page = await staff.get('/account/password');
  assert.equal(page.status, 200);
  const change = (fields) => request(server.url, 'POST', '/account/password', {
    headers: { Cookie: staff.auth.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), ...fields }).toString(),
  });
  const wrong = await change({ current: 'not the password', password: 'a long walk on the beach', confirm: 'a long walk on the beach' });
  assert.equal(wrong.status, 400);
  assert.match(wrong.text, /href="#current">The current password is not right/);
  assert.equal(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'login.failed' AND actor = 'caseworker.state'"), '1');
  const mismatch = await change({ current: kPassword, password: 'a long walk on the beach', confirm: 'a long walk on the sand' });
  assert.match(mismatch.text, /href="#confirm">The two new passwords are not the same/);
  // Every mistake at once: a wrong current password beside new ones that differ.
  const both = await change({ current: 'not the password', password: 'a long walk on the beach', confirm: 'a long walk on the sand' });
  assert.equal(both.status, 400);
  assert.match(both.text, /href="#current">The current password is not right[\s\S]*href="#confirm">The two new passwords are not the same/);
  // Checking a right current password leaves no session behind when the change is refused.
  const userId = await sql(db, "SELECT id FROM users WHERE username = 'caseworker.state'");
  const sessions = await sql(db, `SELECT count(*) FROM sessions WHERE user_id = ${userId}`);
  assert.equal((await change({ current: kPassword, password: 'qwerty123456', confirm: 'qwerty123456' })).status, 400);
  assert.equal(await sql(db, `SELECT count(*) FROM sessions WHERE user_id = ${userId}`), sessions);
  const common = await change({ current: kPassword, password: 'qwerty123456', confirm: 'qwerty123456' });
  assert.equal(common.status, 400);
  assert.match(common.text, /href="#password">This password is on a list of passwords known to attackers/);

  const done = await change({ current: kPassword, password: 'a long walk on the beach', confirm: 'a long walk on the beach' });
  assert.equal(done.status, 303, done.text.slice(0, 300));
  assert.equal(done.headers.get('location'), '/login?changed=1');
  assert.equal(done.headers.get('clear-site-data'), '"cache", "storage"');
  assert.match((await request(server.url, 'GET', '/login?changed=1')).text, /Your password is changed. Sign in with the new one./);
  // Every session of the account has ended, the other browser's too.
  assert.equal((await staff.get('/')).status, 303);
  assert.equal((await other.get('/')).status, 303);
  await assert.rejects(login(server.url, 'caseworker.state', { purpose: 'case_work' }));
  const again = await login(server.url, 'caseworker.state', { purpose: 'case_work', password: 'a long walk on the beach' });
  assert.equal((await again.get('/')).status, 200);
  assert.equal(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'user.password_changed'"), '1');
});
