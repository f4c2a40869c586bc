// Contacts through every channel over HTTP: the city's front desk records a client's contact
// with a note; the state, under the demo's agreement on contacts... or without one, sees where the
// person has been and never the note; the person rates the contact once by the link they were
// given; the agency's day counts its enquiries; the timeline shows the contact.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/contacts.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { assertProblem, hiddenCsrf, login, prepareDatabase, request, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;
let desk;
let state;
let person;
let office;

before(async () => {
  const prepared = await prepareDatabase({ people: 6, prefix: 'onedoor-contacts-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  desk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });
  state = await login(server.url, 'caseworker.state', { purpose: 'service_delivery' });
  person = Number(await sql(db, "SELECT min(id) FROM persons WHERE created_agency = (SELECT id FROM agencies WHERE code = 'city-social')"));
  office = Number(await sql(db, "SELECT min(id) FROM offices WHERE agency_id = (SELECT id FROM agencies WHERE code = 'city-social')"));
});

after(async () => {
  await server?.stop();
});

test('a contact is recorded, with its note for the agency only, and rated once by its link', T, async () => {
  const r = await desk.post('/api/v1/interactions', {
    person_id: person, office_id: office, channel: 'desk', topic: 'Rent arrears', outcome: 'referred',
    duration_minutes: 12, note: 'Eviction notice for the 15th.',
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.office.name, 'Riverside One-Stop Centre');
  assert.equal(r.body.note, 'Eviction notice for the 15th.');
  assert.match(r.body.feedback_url, /^\/feedback\/[A-Za-z0-9_-]{20,}$/);
  const mine = await desk.get(`/api/v1/persons/${person}/interactions`);
  assert.equal(mine.status, 200);
  assert.equal(mine.body.items[0].note, 'Eviction notice for the 15th.');
  // The state: the person's contacts as the gate allows, never the note.
  const theirs = await state.get(`/api/v1/persons/${person}/interactions`);
  if (theirs.status === 200) {
    for (const i of theirs.body.items) assert.equal(i.note, undefined);
  } else {
    assert.equal(theirs.status, 403);
  }
  // The person's link: a page without signing in, once.
  const link = r.body.feedback_url;
  const page = await request(server.url, 'GET', link);
  assert.equal(page.status, 200);
  assert.match(page.text, /Rent arrears/);
  const csrf = hiddenCsrf(page.text);
  const bad = await request(server.url, 'POST', link, { body: new URLSearchParams({ csrf_token: csrf ?? '', score: '9' }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') } });
  assert.ok([400, 403].includes(bad.status), `a bad score is refused: ${bad.status}`);
  const rated = await desk.post(`/api/v1/interactions/${r.body.id}/rating`, { score: 4, comment: 'Helpful.' });
  assert.equal(rated.status, 200, rated.text);
  assert.equal(rated.body.satisfaction, 4);
  assertProblem(await desk.post(`/api/v1/interactions/${r.body.id}/rating`, { score: 5 }), 412);
  assert.equal((await request(server.url, 'GET', link)).status, 404, 'a rated contact\'s link no longer works');
  // On the timeline.
  const timeline = await desk.get(`/api/v1/persons/${person}/timeline`);
  assert.ok(timeline.body.items.some((e) => e.kind === 'contact' && e.text.includes('Rent arrears')), timeline.text);
  assert.ok(Number(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'interaction.create'")) >= 1);
});

test('an enquiry without a client counts in the agency\'s day, and bad fields are named', T, async () => {
  const e = await desk.post('/api/v1/interactions', { channel: 'phone', topic: 'Opening hours', outcome: 'resolved' });
  assert.equal(e.status, 201, e.text);
  assert.equal(e.body.person_id, null);
  const day = await desk.get('/api/v1/interactions');
  assert.equal(day.status, 200);
  assert.ok(day.body.items.some((i) => i.id === e.body.id));
  assert.ok(day.body.items.every((i) => i.note === undefined || i.note === ''));
  const other = await state.get('/api/v1/interactions');
  assert.ok(!other.body.items.some((i) => i.id === e.body.id), 'another agency does not see it');
  assertProblem(await desk.post('/api/v1/interactions', { channel: 'fax', topic: '', outcome: 'maybe', duration_minutes: 999 }), 400,
    { fields: ['channel', 'topic', 'outcome', 'duration_minutes'] });
  assertProblem(await desk.post('/api/v1/interactions', { channel: 'desk', topic: 'x', outcome: 'resolved', office_id: 999 }), 400,
    { fields: ['office_id'] });
  assertProblem(await desk.get('/api/v1/interactions?date=yesterday'), 400, { fields: ['date'] });
  const admin = await login(server.url, 'admin.city', { purpose: 'administration' });
  assertProblem(await admin.post('/api/v1/interactions', { channel: 'desk', topic: 'x', outcome: 'resolved' }), 403);
});

test('the person view shows the newest contacts and entries; the whole timeline is paged and filtered by kind', T, async () => {
  const caseworker = await login(server.url, 'caseworker.city');
  const p = await caseworker.post('/api/v1/persons', {
    names: [{ use: 'official', given: 'Paget', family: 'Longstaff' }], birth_date: '1975-05-05',
  });
  assert.equal(p.status, 201, p.text);
  const id = p.body.id;
  for (let i = 1; i <= 62; i++) {
    const r = await caseworker.post('/api/v1/interactions', { person_id: id, channel: 'phone', topic: `Call number ${i}`, outcome: 'resolved' });
    assert.equal(r.status, 201, r.text);
  }
  const auditBefore = Number(await sql(db, `SELECT count(*) FROM audit_log WHERE person_id = ${id}`));
  const view = await caseworker.get(`/clients/${id}`);
  assert.equal(view.status, 200);
  assert.ok(view.text.includes('Call number 62') && view.text.includes('Call number 53'), 'the ten newest contacts');
  assert.ok(!view.text.includes('Call number 52<'), 'not the older ones');
  assert.ok(view.text.includes('See all 62 contacts'));
  assert.ok(view.text.includes(`href="/clients/${id}/timeline?kind=contact"`));
  assert.ok(view.text.includes('See all 62 entries'));

  const first = await caseworker.get(`/clients/${id}/timeline`);
  assert.equal(first.status, 200);
  assert.ok(first.text.includes('1 to 50 of 62'), 'the first page of all');
  assert.ok(first.text.includes('Call number 62') && first.text.includes('Call number 13') && !first.text.includes('Call number 12 '));
  assert.ok(first.text.includes(`href="/clients/${id}/timeline?page=2"`), 'a link to the older entries');
  const second = await caseworker.get(`/clients/${id}/timeline?page=2`);
  assert.ok(second.text.includes('51 to 62 of 62') && second.text.includes('Call number 1 '));
  assert.ok(second.text.includes(`href="/clients/${id}/timeline?page=1"`), 'a link to the newer entries');
  const referrals = await caseworker.get(`/clients/${id}/timeline?kind=referral`);
  assert.equal(referrals.status, 200);
  assert.ok(referrals.text.includes('Nothing you may see has happened yet.'));
  assert.ok(/aria-current="page">Referrals</.test(referrals.text), 'the kind shown is marked');
  // Each view of the timeline is a gated, audited read of the person's record.
  const auditAfter = Number(await sql(db, `SELECT count(*) FROM audit_log WHERE person_id = ${id}`));
  assert.ok(auditAfter >= auditBefore + 4, `audited: ${auditBefore} then ${auditAfter}`);

  const badKind = await caseworker.get(`/clients/${id}/timeline?kind=gossip`);
  assert.equal(badKind.status, 400);
  assert.ok(badKind.text.includes('Kind must be contact, referral, case, application or document'));
  assert.equal((await caseworker.get(`/clients/${id}/timeline?page=0`)).status, 400);
  assert.equal((await caseworker.get(`/clients/${id}/timeline?page=x`)).status, 400);
  const beyond = await caseworker.get(`/clients/${id}/timeline?page=3`);
  assert.equal(beyond.status, 404);
  assert.ok(beyond.text.includes('there are 2 pages'));
  // Another agency without consent or an agreement on contacts sees none of them.
  const health = await login(server.url, 'caseworker.health');
  const withheld = await health.get(`/clients/${id}/timeline`);
  assert.equal(withheld.status, 200);
  assert.ok(!withheld.text.includes('Call number'), 'no contact of the city is shown');
  assert.ok(withheld.text.includes('Nothing you may see has happened yet.'));
});

test('the contact form names every mistake at once, in page order, and a form sent twice records one contact', T, async () => {
  const page = await desk.get(`/clients/${person}`);
  assert.equal(page.status, 200);
  const send = (fields) => desk.req('POST', `/clients/${person}/contacts`, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const bad = await send({ channel: '', topic: '', outcome: '', minutes: 'abc' });
  assert.equal(bad.status, 400);
  const hrefs = [...bad.text.matchAll(/<a href="(#contact-[a-z-]+)">/g)].map((m) => m[1]);
  assert.deepEqual(hrefs, ['#contact-channel-desk', '#contact-topic', '#contact-outcome-resolved', '#contact-minutes']);
  assert.match(bad.text, /Give the minutes as a whole number, like 10/);

  const before = Number(await sql(db, `SELECT count(*) FROM interactions WHERE person_id = ${person}`));
  const visit = { channel: 'desk', topic: 'Sent twice', outcome: 'resolved', minutes: '12' };
  assert.equal((await send(visit)).status, 201);
  const again = await send(visit);
  assert.equal(again.status, 409);
  assert.match(again.text, /This contact was recorded a moment ago; it is kept once/);
  assert.equal(Number(await sql(db, `SELECT count(*) FROM interactions WHERE person_id = ${person}`)), before + 1);
});
