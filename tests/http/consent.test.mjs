// Consent records end to end: given on a signed form by a caseworker, listed and read (gated
// and audited), paused, resumed and withdrawn with events and audit entries, no undo after a
// withdrawal (409), the consent receipt, 400 naming fields, 403 (audited) and 404.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/consent.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { assertProblem, login, prepareDatabase, request, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;
let caseworker;
let frontdesk;
let governance;
let person;
const agency = {};

before(async () => {
  const prepared = await prepareDatabase({ people: 4, prefix: 'onedoor-consent-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  caseworker = await login(server.url, 'caseworker.city');
  frontdesk = await login(server.url, 'frontdesk.city');
  governance = await login(server.url, 'governance.health');
  for (const code of ['state-benefits', 'harbour-trust']) {
    agency[code] = Number(await sql(db, `SELECT id FROM agencies WHERE code = '${code}'`));
  }
  person = Number(await sql(db, 'SELECT min(id) FROM persons'));
});

after(async () => {
  await server?.stop();
});

const count = async (where) => Number(await sql(db, `SELECT count(*) FROM ${where}`));

function grant(overrides = {}) {
  return {
    receiving_agency_id: agency['state-benefits'],
    scope: 'partial',
    categories: ['income', 'child_protection'],
    purpose: 'eligibility',
    legal_basis: 'GDPR art. 6(1)(a) and 9(2)(a): consent',
    valid_from: '2026-01-01',
    valid_to: '2099-12-31',
    how_to_withdraw: 'Tell any caseworker, or use the citizen portal.',
    evidence: 'signed_form',
    document_ref: 'DOC-2026-0042',
    ...overrides,
  };
}

test('a consent is given, listed, read and has a receipt; each step audited with an event', T, async () => {
  const given = await caseworker.post(`/api/v1/persons/${person}/consents`, grant());
  assert.equal(given.status, 201, given.text);
  assert.equal(given.headers.get('location'), `/api/v1/consents/${given.body.id}`);
  assert.equal(given.body.state, 'active');
  assert.equal(given.body.in_force, true);
  assert.equal(given.body.receiving_agency.code, 'state-benefits');
  assert.deepEqual(given.body.categories, ['child_protection', 'income']);
  assert.deepEqual(given.body.events.map((e) => e.event), ['given']);
  assert.equal(given.body.events[0].actor, 'caseworker.city');
  assert.equal(await count(`audit_log WHERE action = 'consent.give' AND allowed = 1 AND person_id = ${person}`), 1);
  assert.equal(await count(`outbox WHERE type = 'consent.given' AND aggregate_id = '${given.body.id}'`), 1);

  const list = await caseworker.get(`/api/v1/persons/${person}/consents`);
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.items.map((c) => c.id), [given.body.id]);
  assert.equal(await count(`audit_log WHERE action = 'consent.list' AND person_id = ${person}`), 1);

  const one = await caseworker.get(`/api/v1/consents/${given.body.id}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.body.document_ref, 'DOC-2026-0042');

  const receipt = await caseworker.get(`/api/v1/consents/${given.body.id}/receipt`);
  assert.equal(receipt.status, 200, receipt.text);
  assert.equal(receipt.body.consent_id, given.body.id);
  assert.ok(receipt.body.receipt_id);
  assert.equal(receipt.body.subject.person_id, person);
  assert.equal(receipt.body.controller.code, 'state-benefits');
  assert.equal(receipt.body.purpose, 'eligibility');
  assert.equal(receipt.body.how_to_withdraw, 'Tell any caseworker, or use the citizen portal.');
  assert.equal(receipt.body.state, 'active');
  assert.deepEqual(receipt.body.data_categories.map((c) => c.id), ['child_protection', 'income']);
  assert.equal(await count(`audit_log WHERE action = 'consent.receipt' AND record_id = '${given.body.id}'`), 1);
  // A role that may not read client records is refused alike for a consent that exists and one
  // that does not; the refusal about the person is in the person's access log.
  assertProblem(await governance.get(`/api/v1/consents/${given.body.id}/receipt`), 403);
  assertProblem(await governance.get('/api/v1/consents/999999/receipt'), 403);
  assert.equal(await count(`audit_log WHERE action = 'consent.receipt' AND record_id = '${given.body.id}' AND allowed = 0 `
    + `AND person_id = ${person}`), 1);
});

test('pause, resume and withdraw; a withdrawal cannot be undone', T, async () => {
  const given = await caseworker.post(`/api/v1/persons/${person}/consents`,
    grant({ receiving_agency_id: undefined, agency_kind: 'nonprofit', scope: 'full', categories: [] }));
  assert.equal(given.status, 201, given.text);
  assert.equal(given.body.agency_kind, 'nonprofit');
  const url = `/api/v1/consents/${given.body.id}/events`;
  assertProblem(await caseworker.post(url, { event: 'resume' }), 409, { detail: /only a paused consent/ });
  assertProblem(await caseworker.post(url, { event: 'pause' }), 400, { fields: ['reason'] });
  assertProblem(await caseworker.post(url, { event: 'undo' }), 400, { fields: ['event'] });
  const paused = await caseworker.post(url, { event: 'pause', reason: 'The person asked for time to think.' });
  assert.equal(paused.status, 200, paused.text);
  assert.equal(paused.body.state, 'paused');
  assert.equal(paused.body.in_force, false);
  const resumed = await caseworker.post(url, { event: 'resume' });
  assert.equal(resumed.body.state, 'active');
  const withdrawn = await caseworker.post(url, { event: 'withdraw', reason: 'Withdrawn by phone.' });
  assert.equal(withdrawn.status, 200, withdrawn.text);
  assert.equal(withdrawn.body.state, 'withdrawn');
  assert.deepEqual(withdrawn.body.events.map((e) => e.event), ['given', 'paused', 'resumed', 'withdrawn']);
  for (const event of ['resume', 'pause']) {
    assertProblem(await caseworker.post(url, { event, reason: 'undo' }), 409, { detail: /must be given anew/ });
  }
  for (const type of ['consent.paused', 'consent.resumed', 'consent.withdrawn']) {
    assert.equal(await count(`outbox WHERE type = '${type}' AND aggregate_id = '${given.body.id}'`), 1, type);
  }
  assert.equal(await count(`audit_log WHERE action = 'consent.withdraw' AND allowed = 1 AND record_id = '${given.body.id}'`), 1);
  const receipt = await caseworker.get(`/api/v1/consents/${given.body.id}/receipt`);
  assert.equal(receipt.body.state, 'withdrawn');
  assert.equal(receipt.body.controller.kind, 'nonprofit');
  assert.ok(!receipt.body.data_categories.some((c) => c.id === 'child_protection'), 'full excludes black');
});

test('invalid fields are named; 403 is audited; 404 for nothing there', T, async () => {
  const before = await count('consents');
  const r = await caseworker.post(`/api/v1/persons/${person}/consents`, grant({
    categories: ['shoe_sizes'], purpose: 'administration', valid_from: '2026-02-01', valid_to: '2026-01-01',
  }));
  assertProblem(r, 400, { fields: ['purpose', 'categories', 'valid_to'] });
  assertProblem(await caseworker.post(`/api/v1/persons/${person}/consents`, grant({ valid_to: 'soon' })), 400,
    { fields: ['valid_to'] });
  // A value that cannot be read is named with every other mistake at once, each field once.
  const all = assertProblem(await caseworker.post(`/api/v1/persons/${person}/consents`, grant({
    purpose: 'fun', receiving_agency_id: 999999, agency_kind: undefined, categories: ['nope'], valid_to: '2020-01-01',
    legal_basis: '', shoe_size: 42,
  })), 400, { fields: ['purpose', 'receiving_agency_id', 'categories', 'valid_to', 'legal_basis', 'shoe_size'] });
  assert.equal(all.errors.filter((e) => e.field === 'purpose').length, 1);
  assertProblem(await caseworker.post(`/api/v1/persons/${person}/consents`, grant({ document_ref: '' })), 400,
    { fields: ['document_ref'] });
  assert.equal(await count('consents'), before);

  const refused = await count(`audit_log WHERE action = 'consent.give' AND allowed = 0 AND person_id = ${person}`);
  assertProblem(await frontdesk.post(`/api/v1/persons/${person}/consents`, grant()), 403);
  assertProblem(await governance.post(`/api/v1/persons/${person}/consents`, grant()), 403);
  assert.equal(await count(`audit_log WHERE action = 'consent.give' AND allowed = 0 AND person_id = ${person}`),
    refused + 2);
  assertProblem(await governance.get(`/api/v1/persons/${person}/consents`), 403);
  assert.ok(await count(`audit_log WHERE action = 'consent.list' AND allowed = 0 AND person_id = ${person}`) >= 1);

  assertProblem(await caseworker.post('/api/v1/persons/999999/consents', grant()), 404);
  assertProblem(await caseworker.get('/api/v1/consents/999999'), 404);
  assertProblem(await caseworker.get('/api/v1/consents/999999/receipt'), 404);
  assertProblem(await caseworker.post('/api/v1/consents/999999/events', { event: 'withdraw', reason: 'x' }), 404);
  assertProblem(await caseworker.get('/api/v1/consents/abc'), 400, { fields: ['id'] });
  assertProblem(await request(server.url, 'GET', `/api/v1/persons/${person}/consents`), 401);
});

test('the consent receipt prints as a page, read through the gate', T, async () => {
  const given = await caseworker.post(`/api/v1/persons/${person}/consents`, grant({ document_ref: 'DOC-PRINT-1' }));
  assert.equal(given.status, 201, given.text);
  const page = await caseworker.get(`/consents/${given.body.id}/receipt`);
  assert.equal(page.status, 200, page.text.slice(0, 300));
  assert.match(page.text, /Your consent to share information/);
  assert.match(page.text, /State Benefits Agency/);
  assert.match(page.text, /GDPR art\. 6\(1\)\(a\) and 9\(2\)\(a\): consent/);
  assert.match(page.text, /Tell any caseworker, or use the citizen portal\./);
  assert.match(page.text, /Signed form DOC-PRINT-1/);
  // The withdrawal form says beforehand what a withdrawal ends.
  assert.match(page.text, /At once, each open referral sent on this consent is closed, and each agency that joined a case on it leaves the case/);
  assert.equal(Number(await sql(db, `SELECT count(*) FROM audit_log WHERE action = 'consent.receipt' AND record_id = '${given.body.id}'`)), 1);
  const governanceView = await governance.get(`/consents/${given.body.id}/receipt`);
  assert.equal(governanceView.status, 403);
  // An unknown id tells someone who may not read consents nothing.
  assertProblem(await governance.get('/api/v1/consents/99999999'), 403);
  assertProblem(await caseworker.get('/api/v1/consents/99999999'), 404);
});
