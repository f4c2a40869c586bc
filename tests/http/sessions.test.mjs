// Where an account is signed in, over HTTP: staff and portal accounts see their live sessions
// (the browser, the address it was last used from, when) on /account/sessions, and sign out of
// one of the others, or of all of them; forms need the session's CSRF token; another account's
// session cannot be ended from here; each ending is audited.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/sessions.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Visitor, hiddenCsrf, kPassword, prepareDatabase, serve, signedInCitizen, sql } from './helpers.mjs';

const T = { timeout: 60_000 };
const kFirefox = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const kSafari = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 1, prefix: 'onedoor-sessions-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
});

// A browser signed in as `username`, coming from `address` with `agent`.
async function signIn(username, agent, address) {
  const v = new Visitor(server.url, { 'User-Agent': agent, 'X-Forwarded-For': address });
  const r = await v.submit('/login', '/login', { username, password: kPassword, purpose: 'case_work' });
  assert.equal(r.status, 303, r.text.slice(0, 300));
  assert.equal((await v.go('GET', '/')).status, 200);
  return v;
}

// The sessions listed on `page`: ref -> the row's text.
function rows(page) {
  const out = new Map();
  for (const [, ref, row] of page.matchAll(/data-testid="session-([0-9a-f]{16})">([\s\S]*?)<\/tr>/g)) out.set(ref, row);
  return out;
}

const signedIn = async (v) => (await v.go('GET', '/')).status === 200;

test('staff see where they are signed in and sign out one of the other browsers', T, async () => {
  const laptop = await signIn('caseworker.state', kFirefox, '203.0.113.7');
  const phone = await signIn('caseworker.state', kSafari, '198.51.100.20');
  const colleague = await signIn('caseworker.city', kFirefox, '203.0.113.8');

  const home = await laptop.go('GET', '/');
  assert.match(home.text, /href="\/account\/sessions"/);
  assert.match(home.text, /href="\/account\/password"/);
  const page = await laptop.go('GET', '/account/sessions');
  assert.equal(page.status, 200);
  const listed = rows(page.text);
  assert.equal(listed.size, 2, 'the two browsers of this account, not the colleague\'s');
  const [mine, other] = [...listed.entries()];
  assert.match(mine[1], /Firefox on Windows/);
  assert.match(mine[1], /203\.0\.113\.7/);
  assert.match(mine[1], /This browser/);
  assert.doesNotMatch(mine[1], /Sign out there/, 'the session in use is ended by signing out');
  assert.match(other[1], /Safari on iOS/);
  assert.match(other[1], /198\.51\.100\.20/);
  assert.match(other[1], /Sign out there/);
  assert.doesNotMatch(page.text, /203\.0\.113\.8/);

  // Without the form's token nothing ends.
  const forged = await laptop.go('POST', `/account/sessions/${other[0]}/end`, { csrf_token: 'wrong' });
  assert.equal(forged.status, 403);
  assert.ok(await signedIn(phone));

  // The colleague's session cannot be ended from here, even knowing its reference.
  const theirs = [...rows((await colleague.go('GET', '/account/sessions')).text).keys()][0];
  const notMine = await laptop.go('POST', `/account/sessions/${theirs}/end`, { csrf_token: hiddenCsrf(page.text) });
  assert.equal(notMine.status, 404);
  assert.match(notMine.text, /You have no such session/);
  assert.ok(await signedIn(colleague));
  const self = await laptop.go('POST', `/account/sessions/${mine[0]}/end`, { csrf_token: hiddenCsrf(page.text) });
  assert.equal(self.status, 409);
  assert.match(self.text, /This is the session you are using: sign out to end it/);

  const ended = await laptop.go('POST', `/account/sessions/${other[0]}/end`, { csrf_token: hiddenCsrf(page.text) });
  assert.equal(ended.status, 303, ended.text.slice(0, 300));
  assert.equal(ended.headers.get('location'), '/account/sessions?ended=1');
  const after = await laptop.go('GET', '/account/sessions?ended=1');
  assert.match(after.text, /You are signed out there/);
  assert.equal(rows(after.text).size, 1);
  assert.match(after.text, /You are not signed in anywhere else/);
  assert.equal((await phone.go('GET', '/')).status, 303, 'the phone is sent to sign in again');
  assert.ok(await signedIn(laptop));
  assert.equal(await sql(db, `SELECT count(*) FROM audit_log WHERE action = 'session.ended' AND record_id = '${other[0]}' AND actor = 'caseworker.state'`), '1');
});

test('staff sign out everywhere else at once', T, async () => {
  const desk = await signIn('frontdesk.city', kFirefox, '203.0.113.20');
  const others = [await signIn('frontdesk.city', kSafari, '198.51.100.21'), await signIn('frontdesk.city', 'curl/8.5.0', '198.51.100.22')];
  const page = await desk.go('GET', '/account/sessions');
  assert.equal(rows(page.text).size, 3);
  assert.match(page.text, /curl/);
  const r = await desk.go('POST', '/account/sessions/end-others', { csrf_token: hiddenCsrf(page.text) });
  assert.equal(r.status, 303);
  const done = await desk.go('GET', r.headers.get('location'));
  assert.match(done.text, /You are signed out of 2 other sessions/);
  for (const o of others) assert.equal((await o.go('GET', '/')).status, 303);
  assert.ok(await signedIn(desk));
  assert.equal(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'session.ended_others' AND actor = 'frontdesk.city'"), '1');
});

test('a person with a portal account sees their sessions too, from their account page', T, async () => {
  const citizen = await signedInCitizen(server.url, db, { name: 'Ada Sessions', email: 'ada.sessions@example.org' });
  const home = await citizen.go('GET', '/portal');
  assert.equal(home.status, 200);
  assert.match(home.text, /href="\/account\/sessions"/);
  assert.match(home.text, /href="\/account\/password"/);
  const page = await citizen.go('GET', '/account/sessions');
  assert.equal(page.status, 200);
  assert.equal(rows(page.text).size, 1);
  assert.match(page.text, /This browser/);
  assert.doesNotMatch(page.text, /Sign out everywhere else/);
  assert.match(page.text, /href="\/portal">Back to your home page/);
});
