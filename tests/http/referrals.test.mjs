// Referrals end to end: sent by the city with the person's consent (400 naming consent_id
// without one), received by the state in its list, accepted, started and completed; a
// transition the state does not allow is 409 naming the state and what it allows; the other
// side's action 403 (audited); a stale version 409; a third agency 404; every step audited on
// the person with an outbox event; and the pages: the list, the referral with its actions, a
// new referral from the client's page.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/referrals.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { assertProblem, hiddenCsrf, login, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;
let city;
let state;
let ngo;
let person;
let consent;
const agency = {};

const count = async (where) => Number(await sql(db, `SELECT count(*) FROM ${where}`));

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-referrals-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  city = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  state = await login(server.url, 'caseworker.state', { purpose: 'case_work' });
  ngo = await login(server.url, 'caseworker.ngo', { purpose: 'case_work' });
  for (const code of ['city-social', 'state-benefits', 'harbour-trust']) {
    agency[code] = Number(await sql(db, `SELECT id FROM agencies WHERE code = '${code}'`));
  }
  const created = await city.post('/api/v1/persons', {
    names: [{ use: 'official', given: 'Rangi', family: 'Referral' }],
    birth_date: '1988-08-08',
    phones: [{ use: 'mobile', value: '+61 400 555 010' }],
    addresses: [{ use: 'home', line1: '4 Ferry Road', city: 'Harbourside', postcode: '4003' }],
  });
  assert.equal(created.status, 201, created.text);
  person = created.body.id;
  const given = await city.post(`/api/v1/persons/${person}/consents`, {
    receiving_agency_id: agency['state-benefits'], scope: 'partial', categories: ['identity', 'contact'],
    purpose: 'service_delivery', legal_basis: 'GDPR art. 6(1)(a): consent', how_to_withdraw: 'Tell any caseworker.',
    evidence: 'signed_form', document_ref: 'REF-CONSENT-1',
  });
  assert.equal(given.status, 201, given.text);
  consent = given.body.id;
});

after(async () => {
  await server?.stop();
});

const referral = (overrides = {}) => ({
  person_id: person, to_agency_id: agency['state-benefits'], service: 'Emergency hardship payment',
  urgency: 'soon', message: 'Lost his job; rent is due on Friday.', consent_id: consent, ...overrides,
});

test('a referral goes from sent to completed, each step audited on the person with an event', T, async () => {
  assertProblem(await city.post('/api/v1/referrals', referral({ consent_id: undefined })), 400, { fields: ['consent_id'] });
  // Every mistake at once, what cannot be read with the rest.
  assertProblem(await city.post('/api/v1/referrals', referral({ urgency: 'now', message: '', to_agency_id: agency['city-social'],
    consent_id: 999999 })), 400, { fields: ['urgency', 'message', 'to_agency_id'] });
  assertProblem(await city.post('/api/v1/referrals', referral({ person_id: 'x', urgency: 'now', message: '' })), 400,
    { fields: ['person_id', 'urgency', 'message'] });
  assertProblem(await city.post('/api/v1/referrals', referral({ to_agency_id: agency['city-social'] })), 400,
    { fields: ['to_agency_id'] });
  const sent = await city.post('/api/v1/referrals', referral());
  assert.equal(sent.status, 201, sent.text);
  assert.equal(sent.headers.get('location'), `/api/v1/referrals/${sent.body.id}`);
  assert.equal(sent.body.state, 'sent');
  assert.equal(sent.body.person.name, 'Rangi Referral');
  assert.deepEqual(sent.body.allowed_actions, ['receive', 'accept', 'decline', 'withdraw']);
  const id = sent.body.id;

  const inbox = await state.get('/api/v1/referrals');
  assert.equal(inbox.status, 200, inbox.text);
  assert.ok(inbox.body.items.some((r) => r.id === id && r.from_agency.id === agency['city-social']));
  assert.ok((await city.get('/api/v1/referrals?box=sent')).body.items.some((r) => r.id === id));
  assert.equal((await ngo.get('/api/v1/referrals')).body.items.length, 0);
  assertProblem(await ngo.get(`/api/v1/referrals/${id}`), 404);
  assertProblem(await state.get('/api/v1/referrals?box=elsewhere&limit=0'), 400, { fields: ['box'] });

  let version = sent.body.version;
  const act = (who, action, note) => who.post(`/api/v1/referrals/${id}/actions`, { action, version, note });
  // Not the receiver's to withdraw, nor the sender's to accept: 403, audited.
  const refusedBefore = await count("audit_log WHERE action LIKE 'referral.%' AND allowed = 0");
  assertProblem(await state.post(`/api/v1/referrals/${id}/actions`, { action: 'withdraw', version, note: 'x' }), 403);
  assertProblem(await city.post(`/api/v1/referrals/${id}/actions`, { action: 'accept', version }), 403);
  assert.equal(await count("audit_log WHERE action LIKE 'referral.%' AND allowed = 0"), refusedBefore + 2);
  // Not yet accepted: cannot be started.
  const early = await act(state, 'start');
  assertProblem(early, 409);
  assert.match(early.body.detail, /the referral is sent; from sent it may only be receive, accept, decline or withdraw/);
  assertProblem(await act(state, 'decline', ''), 400, { fields: ['note'] });

  for (const [action, expected] of [['accept', 'accepted'], ['start', 'in_progress'], ['complete', 'completed']]) {
    const r = await act(state, action, action === 'complete' ? 'Hardship payment made on 3 February.' : undefined);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.state, expected);
    assert.equal(r.body.version, version + 1);
    version = r.body.version;
  }
  // A stale version, then a final state.
  assertProblem(await state.post(`/api/v1/referrals/${id}/actions`, { action: 'close', version: 1, note: 'x' }), 409);
  const done = await act(state, 'close', 'again');
  assertProblem(done, 409);
  assert.match(done.body.detail, /completed, which is final/);

  const one = await city.get(`/api/v1/referrals/${id}`);
  assert.equal(one.status, 200, one.text);
  assert.deepEqual(one.body.events.map((e) => e.action), ['sent', 'received', 'accepted', 'started', 'completed']);
  assert.equal(one.body.outcome, 'Hardship payment made on 3 February.');
  assert.ok(one.body.answered_at);
  const mine = await city.get(`/api/v1/persons/${person}/referrals`);
  assert.deepEqual(mine.body.items.map((r) => r.id), [id]);
  assert.equal((await ngo.get(`/api/v1/persons/${person}/referrals`)).body.items.length, 0);

  assert.equal(await count(`audit_log WHERE person_id = ${person} AND action IN ('referral.send', 'referral.accept', 'referral.start', 'referral.complete') AND allowed = 1`), 4);
  // Accepting a sent referral receives it in the same step: one event for partner systems.
  assert.deepEqual((await sql(db, `SELECT type FROM outbox WHERE aggregate_id = '${id}' AND type LIKE 'referral.%' ORDER BY id`)).split('\n'),
    ['referral.sent', 'referral.accepted', 'referral.started', 'referral.completed']);
  assert.equal(await count(`audit_log WHERE action = 'referral.read' AND person_id = ${person}`), 1);
});

test('the pages: a new referral from the client page, the list, and the actions of each side', T, async () => {
  const client = await city.get(`/clients/${person}`);
  assert.equal(client.status, 200);
  assert.match(client.text, new RegExp(`href="/referrals/new\\?person=${person}"`));
  const form = await city.get(`/referrals/new?person=${person}`);
  assert.equal(form.status, 200);
  assert.match(form.text, new RegExp(`id="consent_id-${consent}"`));
  assert.doesNotMatch(form.text, new RegExp(`<option value="${agency['city-social']}"`), 'not to itself');
  const csrf = hiddenCsrf(form.text);
  const post = (fields) => city.req('POST', '/referrals/new', {
    body: new URLSearchParams({ csrf_token: csrf, person_id: String(person), ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const bad = await post({ to_agency_id: String(agency['harbour-trust']), urgency: 'urgent', message: 'Food parcel', consent_id: String(consent) });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /href="#consent_id-\d+">Consent \d+ does not name Harbour Community Trust/);
  assert.match(bad.text, /Food parcel/, 'what was typed comes back');
  const good = await post({ to_agency_id: String(agency['state-benefits']), urgency: 'urgent', message: 'Needs a food parcel today.', consent_id: String(consent), service: 'Food bank' });
  assert.equal(good.status, 303, good.text.slice(0, 200));
  const where = good.headers.get('location');
  assert.match(where, /^\/referrals\/\d+\?sent=1$/);
  const id = Number(where.match(/\d+/)[0]);

  const page = await city.get(where);
  assert.match(page.text, /Referral sent/);
  assert.match(page.text, /Needs a food parcel today\./);
  assert.match(page.text, /value="withdraw"/);
  assert.doesNotMatch(page.text, /value="accept"/, 'the sender does not accept');

  const list = await state.get('/referrals');
  assert.equal(list.status, 200);
  assert.match(list.text, new RegExp(`href="/referrals/${id}">Rangi Referral`));
  assert.match(list.text, /Urgent/);
  const theirs = await state.get(`/referrals/${id}`);
  assert.match(theirs.text, /value="accept"/);
  const stateCsrf = hiddenCsrf(theirs.text);
  const version = theirs.text.match(/name="version" value="(\d+)"/)[1];
  const act = (fields) => state.req('POST', `/referrals/${id}`, {
    body: new URLSearchParams({ csrf_token: stateCsrf, version, ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const noReason = await act({ action: 'decline', note: '' });
  assert.equal(noReason.status, 400);
  assert.match(noReason.text, /href="#note">Give the reason/);
  const declined = await act({ action: 'decline', note: 'Food bank closed today; sent to the harbour trust.' });
  assert.equal(declined.status, 303);
  const after = await state.get(`/referrals/${id}`);
  assert.match(after.text, /Declined/);
  assert.match(after.text, /Food bank closed today/);
  const stale = await act({ action: 'accept' });
  assert.equal(stale.status, 409);
  assert.match(stale.text, /The referral changed since you loaded it \(you had version 1, it is now version 2\)/);
  const again = await act({ action: 'accept', version: '2' });
  assert.equal(again.status, 409);
  assert.match(again.text, /declined, which is final/);
  assert.equal((await ngo.get(`/referrals/${id}`)).status, 404);
});

test('consent recorded and withdrawn from the pages; withdrawing closes the referral sent on it and refuses the next', T, async () => {
  const form = await city.get(`/clients/${person}/consents/new`);
  assert.equal(form.status, 200);
  assert.doesNotMatch(form.text, /value="child_protection"/, 'black-class categories are not offered');
  const csrf = hiddenCsrf(form.text);
  const post = (path, fields) => city.req('POST', path, {
    body: new URLSearchParams({ csrf_token: csrf, ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const empty = await post(`/clients/${person}/consents/new`, { purpose: 'service_delivery' });
  assert.equal(empty.status, 400);
  assert.match(empty.text, /href="#receiving_agency_id">Choose who may receive the information/);
  assert.match(empty.text, /href="#category-[a-z_]+">Select at least one kind of information/);
  const noForm = await post(`/clients/${person}/consents/new`, {
    receiving_agency_id: `agency:${agency['harbour-trust']}`, categories: 'identity', purpose: 'service_delivery',
    legal_basis: 'Consent', how_to_withdraw: 'Tell us.', document_ref: '',
  });
  assert.equal(noForm.status, 400);
  assert.match(noForm.text, /href="#document_ref">Name the signed form/);
  // Sent by hand, what the form does not offer is refused beside every other mistake, at once.
  const byHand = new URLSearchParams({ csrf_token: csrf, receiving_agency_id: `agency:${agency['city-social']}`,
    purpose: 'service_delivery', legal_basis: 'Consent', how_to_withdraw: 'Tell us.', document_ref: '',
    valid_to: '31/03/2027' });
  byHand.append('categories', 'identity');
  byHand.append('categories', 'child_protection');
  const offered = await city.req('POST', `/clients/${person}/consents/new`, {
    body: byHand.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(offered.status, 400);
  assert.match(offered.text, /href="#receiving_agency_id">Choose another agency than your own/);
  assert.match(offered.text, /href="#category-[a-z_]+">Select only kinds of information the form offers/);
  assert.match(offered.text, /href="#valid_to">Enter the last day like 2027-03-31/);
  assert.match(offered.text, /href="#document_ref">Name the signed form/);
  assert.match(offered.text, /aria-describedby="valid_to-hint valid_to-error"/);
  assert.match(offered.text, /value="31\/03\/2027"/);
  const past = await post(`/clients/${person}/consents/new`, {
    receiving_agency_id: `agency:${agency['harbour-trust']}`, categories: 'identity', purpose: 'service_delivery',
    legal_basis: 'Consent', how_to_withdraw: 'Tell us.', document_ref: 'HT-0', valid_to: '2020-01-01',
  });
  assert.equal(past.status, 400);
  assert.match(past.text, /href="#valid_to">The last day must be today or later/);
  const body = new URLSearchParams({ csrf_token: csrf, receiving_agency_id: `agency:${agency['harbour-trust']}`,
    purpose: 'service_delivery', legal_basis: 'Consent', how_to_withdraw: 'Tell us.', document_ref: 'HT-1' });
  body.append('categories', 'identity');
  body.append('categories', 'contact');
  const recorded = await city.req('POST', `/clients/${person}/consents/new`, {
    body: body.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(recorded.status, 303, recorded.text.slice(0, 300));
  const receiptPath = recorded.headers.get('location');
  const id = Number(receiptPath.match(/\/consents\/(\d+)\/receipt/)[1]);
  const receipt = await city.get(receiptPath);
  assert.match(receipt.text, /Consent recorded/);
  assert.match(receipt.text, /Withdraw the consent/);

  const toTrust = { to_agency_id: agency['harbour-trust'], consent_id: id };
  const sent = await city.post('/api/v1/referrals', referral(toTrust));
  assert.equal(sent.status, 201, sent.text);
  const noReason = await post(`/consents/${id}/withdraw`, { reason: '' });
  assert.equal(noReason.status, 400);
  assert.match(noReason.text, /href="#reason">Give the reason the client gave/);
  // A reason too long is named at the form, and what was typed is kept.
  const long = `She said: ${'no more. '.repeat(60)}`;
  const tooLong = await post(`/consents/${id}/withdraw`, { reason: long });
  assert.equal(tooLong.status, 400);
  assert.match(tooLong.text, /href="#reason">The reason must be at most 500 characters/);
  assert.ok(tooLong.text.includes(`>${long.trim()}</textarea>`));
  assert.match((await city.get(`/consents/${id}/receipt`)).text, /Withdraw the consent/, 'still in force');
  const withdrawn = await post(`/consents/${id}/withdraw`, { reason: 'No longer wants the trust involved.' });
  assert.equal(withdrawn.status, 303);
  assert.doesNotMatch((await city.get(`/consents/${id}/receipt`)).text, /Withdraw the consent/);
  // The referral sent on it is closed with it, saying why.
  const closed = await city.get(`/api/v1/referrals/${sent.body.id}`);
  assert.equal(closed.status, 200);
  assert.equal(closed.body.state, 'closed');
  assert.match(closed.body.outcome, new RegExp(`the person withdrew consent ${id}`));
  const refused = await city.post('/api/v1/referrals', referral(toTrust));
  assertProblem(refused, 400, { fields: ['consent_id'] });
  assert.match(JSON.stringify(refused.body.errors), /was withdrawn; the person must give consent anew/);
});
