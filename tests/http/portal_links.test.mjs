// Linking a portal account by matching, with review, over HTTP: the person gives their name,
// date of birth and address (mistakes named), then waits; front-desk staff see the request with
// the likely records, link the account to the one that is theirs (a record the match does not
// offer is refused), or decline with a reason the person reads; staff who do not serve people
// are refused. The person's account then shows their record, or why it was not linked.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/portal_links.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { hiddenCsrf, login, prepareDatabase, serve, signedInCitizen, sql } from './helpers.mjs';

const T = { timeout: 90_000 };

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 30, prefix: 'onedoor-links-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
});

// A registered person with a whole date of birth: {id, given, family, year, month, day}.
async function somePerson() {
  const row = await sql(db, "SELECT id, doc FROM persons WHERE length(birth_date) = 10 ORDER BY id LIMIT 1");
  const [id, ...rest] = row.split('|');
  const doc = JSON.parse(rest.join('|'));
  const name = doc.names[0];
  const [year, month, day] = doc.birth_date.split('-');
  return { id: Number(id), given: name.given, family: name.family, year, month: String(Number(month)), day: String(Number(day)) };
}

async function ask(v, fields) {
  const page = await v.go('GET', '/portal/find-my-record');
  assert.equal(page.status, 200, page.text.slice(0, 300));
  return v.go('POST', '/portal/find-my-record', { csrf_token: hiddenCsrf(page.text), ...fields });
}

test('a person asks to be found, staff review the likely records and link the account', T, async () => {
  const person = await somePerson();
  const ana = await signedInCitizen(server.url, db, { name: `${person.given} ${person.family}`, email: 'find.me@example.org' });
  const home = await ana.go('GET', '/portal');
  assert.match(home.text, /href="\/portal\/find-my-record">Ask us to find your record</);

  const bad = await ask(ana, { given: '', family: person.family, dob_day: '31', dob_month: '2', dob_year: '1980' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /href="#given">Enter your given name/);
  assert.match(bad.text, /href="#dob_day">Enter a real date of birth, like 27 3 1985/);
  assert.equal(await sql(db, 'SELECT count(*) FROM portal_link_requests'), '0');

  const asked = await ask(ana, { given: person.given, family: person.family, dob_day: person.day, dob_month: person.month, dob_year: person.year });
  assert.equal(asked.status, 303, asked.text.slice(0, 300));
  assert.equal(asked.headers.get('location'), '/portal?asked=1');
  const waiting = await ana.go('GET', '/portal?asked=1');
  assert.match(waiting.text, /data-testid="link-waiting"/);
  assert.doesNotMatch(waiting.text, /href="\/portal\/find-my-record"/);
  // Nothing of the registry is shown to the person while they wait.
  assert.doesNotMatch(waiting.text, /data-testid="portal-details"/);

  // Staff who do not serve people may not see the requests (and the refusal is audited).
  const auditor = await login(server.url, 'auditor.city', { purpose: 'audit' });
  assert.equal((await auditor.get('/portal-links')).status, 403);
  assert.equal(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'portal.link_requests' AND allowed = 0"), '1');

  const desk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });
  const list = await desk.get('/portal-links');
  assert.equal(list.status, 200);
  const review = /href="(\/portal-links\/(\d+))"/.exec(list.text);
  assert.ok(review, list.text.slice(0, 800));
  const page = await desk.get(review[1]);
  assert.equal(page.status, 200);
  assert.match(page.text, new RegExp(`id="choice-${person.id}"`));
  assert.match(page.text, /find\.me@example\.org/);
  const decide = (fields) => desk.req('POST', review[1], {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const none = await decide({});
  assert.equal(none.status, 400);
  assert.match(none.text, /Choose the person&apos;s record, or none of these|Choose the person's record, or none of these/);
  // A record the match does not offer for these details is refused, whatever its number.
  const other = Number(await sql(db, `SELECT id FROM persons WHERE id <> ${person.id} ORDER BY id DESC LIMIT 1`));
  const typed = await decide({ choice: String(other) });
  assert.equal(typed.status, 400);
  assert.match(typed.text, /not among those that match/);
  const linked = await decide({ choice: String(person.id) });
  assert.equal(linked.status, 303, linked.text.slice(0, 300));
  assert.equal(linked.headers.get('location'), '/portal-links?linked=1');
  assert.match((await desk.get('/portal-links?linked=1')).text, /No one is waiting/);
  assert.equal(await sql(db, `SELECT person_id FROM users WHERE email = 'find.me@example.org'`), String(person.id));
  assert.equal(await sql(db, `SELECT count(*) FROM audit_log WHERE action = 'portal.link' AND person_id = ${person.id} AND reason LIKE '%with review%'`), '1');
  assert.match(await sql(db, "SELECT body FROM outgoing_messages WHERE address = 'find.me@example.org' ORDER BY id DESC LIMIT 1"), /now linked to your record/);

  const mine = await ana.go('GET', '/portal');
  assert.match(mine.text, /data-testid="portal-details"/);
  // Names, addresses, phone numbers and e-mail addresses keep their own direction in a page
  // written right to left.
  const details = /data-testid="portal-details">[\s\S]*?<\/dl>/.exec(mine.text)[0];
  assert.match(details, /<bdi>[^<]+<\/bdi>/);
  assert.doesNotMatch(details.replace(/<(bdi|span dir="ltr")>[^<]*<\/(bdi|span)>/g, ''), /<p class="govuk-body govuk-!-margin-bottom-1">[^<]/);
  // Decided once.
  assert.equal((await decide({ choice: 'none', reason: 'x' })).status, 409);
});

test('staff decline with a reason the person reads, and the person may ask again', T, async () => {
  const bo = await signedInCitizen(server.url, db, { name: 'Bo Nobody', email: 'bo.nobody@example.org' });
  assert.equal((await ask(bo, { given: 'Bo', family: 'Nobody', dob_day: '1', dob_month: '1', dob_year: '1990' })).status, 303);
  const desk = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  const list = await desk.get('/portal-links');
  const review = /href="(\/portal-links\/(\d+))"/.exec(list.text);
  const page = await desk.get(review[1]);
  const decide = (fields) => desk.req('POST', review[1], {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const empty = await decide({ choice: 'none', reason: ' ' });
  assert.equal(empty.status, 400);
  assert.match(empty.text, /href="#reason">Say why the account is not linked/);
  assert.equal((await decide({ choice: 'none', reason: 'We found no record with these details.' })).status, 303);
  const home = await bo.go('GET', '/portal');
  assert.match(home.text, /data-testid="link-declined"[^]*We found no record with these details\./);
  assert.match(home.text, /href="\/portal\/find-my-record"/);
  assert.match(await sql(db, "SELECT body FROM outgoing_messages WHERE address = 'bo.nobody@example.org' ORDER BY id DESC LIMIT 1"), /We found no record with these details\./);
  assert.equal((await ask(bo, { given: 'Bo', family: 'Nobody', dob_day: '2', dob_month: '1', dob_year: '1990' })).status, 303);
});

test('the reason offered to staff is in the language the person asked in, and the page says which', T, async () => {
  const lucia = await signedInCitizen(server.url, db, { name: 'Lucía Nadie', email: 'lucia.nadie@example.org' });
  lucia.extra['Accept-Language'] = 'es-ES,es;q=0.9';
  assert.equal((await ask(lucia, { given: 'Lucía', family: 'Nadie', dob_day: '3', dob_month: '3', dob_year: '1991' })).status, 303);
  const desk = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  const id = await sql(db, "SELECT max(r.id) FROM portal_link_requests r JOIN users u ON u.id = r.user_id WHERE u.email = 'lucia.nadie@example.org'");
  const page = await desk.get(`/portal-links/${id}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /They asked in Spanish: the reason goes to them as you write it\./);
  assert.match(page.text, />Los datos que indicó no coincidían lo suficiente con un único expediente\.<\/textarea>/);
});
