// The authorisation matrix: every GET operation of the API (read from the OpenAPI document,
// which tests/openapi_test.cc keeps equal to the route table) × every staff role of the demo ×
// the own agency and another agency without an agreement or consent for the purpose. A cell
// the rules below allow must answer 200 with data; every other cell must be refused (403, or 404
// where the record is not the caller's to know of), never 2xx, and every refusal must leave its
// entry in the audit log. An operation without a rule here fails the test:
// a new route cannot ship without saying who may read it.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/authz_matrix.test.mjs

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { login, prepareDatabase, repoRoot, request, serve, sql } from './helpers.mjs';
import { CASEWORK, CLIENT, kWho } from './authz_columns.mjs';

const T = { timeout: 120_000 };

// The columns: the city's staff and the trust's caseworker (authz_columns.mjs).
const ALL = Object.keys(kWho);

// operationId → who gets 200. `personal`: the answer is about a person, and the access gate
// decides it. `leaks`: what the trust's caseworker's answer must not hold.
const kRules = {
  getHealth: { allow: ALL, public: true },
  getReadiness: { allow: ALL, public: true },
  getMetrics: { allow: ALL, public: true },
  getOpenApi: { allow: ALL, public: true },
  getMe: { allow: ALL },
  listPrograms: { allow: ALL },
  listDataCategories: { allow: ALL },
  listSharingAgreements: { allow: ALL },  // the register is public information
  getSharingAgreement: { allow: ALL },
  listAgencies: { allow: ALL },
  getAgency: { allow: ALL },
  listOffices: { allow: ALL },
  listUsers: { allow: ['admin'] },
  listTokens: { allow: ['admin'] },
  // The trust's caseworker may search, and must not find the city's client.
  listPersons: { allow: [...CLIENT, 'ngo'], personal: true, leaks: (body) => body.items.some((i) => i.id === ids.person) },
  getPerson: { allow: CLIENT, personal: true },
  getPersonHistory: { allow: CASEWORK, personal: true },
  getPersonAccessLog: { allow: ['manager', 'auditor'], personal: true },
  getPersonAgencies: { allow: CLIENT, personal: true },
  listPersonChanges: { allow: CLIENT, personal: true },
  // Consents name the agencies a client deals with: casework roles read them (docs/staff.md).
  listConsents: { allow: CASEWORK, personal: true },
  getConsent: { allow: CASEWORK, personal: true },
  getConsentReceipt: { allow: CASEWORK, personal: true },
  getHousehold: { allow: CLIENT, personal: true },
  getScreening: { allow: CLIENT, personal: true },
  listHouseholdScreenings: { allow: CLIENT, personal: true },
  // Pairs that involve one of the agency's own records; the pair read here is the city's.
  listMatchReviews: { allow: [...CASEWORK, 'ngo'],
    leaks: (body) => body.items.some((r) => r.id === ids.review) },
  getMatchReview: { allow: CASEWORK },
  listBreakGlass: { allow: ['manager', 'auditor', 'governance'] },
  listChangeNotices: { allow: [...CLIENT, 'ngo'] },  // each agency reads its own feed
  getAgencyWebhook: { allow: ['manager', 'admin'] },
  // Referrals: the casework roles of the two agencies; the city sent the one read here.
  listReferrals: { allow: [...CASEWORK, 'ngo'], leaks: (body) => body.items.some((r) => r.id === ids.referral) },
  getReferral: { allow: CASEWORK },
  listPersonReferrals: { allow: [...CASEWORK, 'ngo'], personal: true, leaks: (body) => body.items.length > 0 },
  // Cases: the casework roles of the agencies taking part; the city coordinates the one read here.
  listCases: { allow: [...CASEWORK, 'ngo'], leaks: (body) => body.items.some((c) => c.id === ids.case) },
  getCase: { allow: CASEWORK },
  listPersonCases: { allow: [...CASEWORK, 'ngo'], personal: true, leaks: (body) => body.items.length > 0 },
  // Applications: client roles of the agency where it was made, or of one that decides a part.
  listApplicationsToDecide: { allow: [...CLIENT, 'ngo'], leaks: (body) => body.items.some((a) => a.id === ids.application) },
  getApplication: { allow: CLIENT },
  listPersonApplications: { allow: [...CLIENT, 'ngo'], personal: true, leaks: (body) => body.items.length > 0 },
  // Documents: as the gate allows the person's data, category by category.
  listDocuments: { allow: CLIENT, personal: true },
  getDocumentContent: { allow: CLIENT, personal: true },
  // Teams: any staff member of an agency sees its teams; the work queue is for client roles.
  listTeams: { allow: [...CLIENT, 'auditor', 'admin', 'governance', 'ngo'] },
  listWork: { allow: [...CLIENT, 'ngo'] },
  // The person's timeline: each source as its own rules allow; the trust sees nothing of it.
  getPersonTimeline: { allow: [...CLIENT, 'ngo'], personal: true, leaks: (body) => body.items.length > 0 },
  // The service directory is public information: the HSDS API and the export need no sign-in.
  getHsdsInfo: { allow: ALL, public: true },
  getHsdsInfoSlash: { allow: ALL, public: true },
  listHsdsServices: { allow: ALL, public: true },
  getHsdsService: { allow: ALL, public: true },
  listHsdsOrganizations: { allow: ALL, public: true },
  getHsdsOrganization: { allow: ALL, public: true },
  listHsdsServiceAtLocations: { allow: ALL, public: true },
  getHsdsServiceAtLocation: { allow: ALL, public: true },
  listHsdsTaxonomies: { allow: ALL, public: true },
  getHsdsTaxonomy: { allow: ALL, public: true },
  listHsdsTaxonomyTerms: { allow: ALL, public: true },
  getHsdsTaxonomyTerm: { allow: ALL, public: true },
  exportDirectory: { allow: ALL, public: true },
  listLifeEvents: { allow: ALL, public: true },
  // Contacts: the agency's own day for client roles; a person's as the gate allows.
  listAgencyInteractions: { allow: [...CLIENT, 'ngo'], leaks: (body) => body.items.some((i) => i.id === ids.interaction) },
  listPersonInteractions: { allow: CLIENT, personal: true },
  // Queues: waits, tickets (without the person) and the display's events are public.
  listOfficeQueues: { allow: ALL, public: true },
  listCounters: { allow: ALL },
  getTicket: { allow: ALL, public: true },
  listQueueEvents: { allow: ALL, public: true },
  getOfficeHours: { allow: ALL, public: true },
  // An office's appointments: its own agency's staff who work with clients, and its administrators.
  listOfficeAppointments: { allow: [...CLIENT, 'admin'] },
  // Service metrics: the agency's managers, administrators and auditors, and the consortium's governance.
  getServiceMetrics: { allow: ['manager', 'admin', 'auditor', 'governance'] },
  getScorecard: { allow: ['manager', 'admin', 'auditor', 'governance'] },
  listServiceTargets: { allow: ['manager', 'admin', 'auditor', 'governance'] },
  // The outcomes framework holds no personal data: every staff user reads it.
  listOutcomes: { allow: ALL },
  getOutcome: { allow: ALL },
  getAgencyOutcomes: { allow: ['manager', 'admin', 'auditor', 'governance'] },
  getDiagnosticQuestions: { allow: ['manager', 'admin', 'auditor', 'governance'] },
  listDiagnostics: { allow: ['manager', 'admin', 'auditor', 'governance'] },
  getDiagnostic: { allow: ['manager', 'admin', 'auditor', 'governance'] },
  listFreeSlots: { allow: ALL, public: true },
  getAppointment: { allow: ALL, public: true },
  getLifeEvent: { allow: ALL, public: true },
};

let server;
let db;
const client = {};
const ids = {};

before(async () => {
  const prepared = await prepareDatabase({ people: 6, prefix: 'onedoor-matrix-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir, env: { ONEDOOR_AGENCY_WEBHOOKS_INTERNAL: 'true' } });
  for (const [key, [user, purpose]] of Object.entries(kWho)) client[key] = await login(server.url, user, { purpose });
  // The records the matrix reads, all held by the city.
  const cw = client.caseworker;
  const p = await cw.post('/api/v1/persons', {
    names: [{ use: 'official', given: 'Mata', family: 'Trix' }], birth_date: '1970-07-07',
    addresses: [{ use: 'home', line1: '1 Grid Road', city: 'Riverside', postcode: '1001' }],
  });
  assert.equal(p.status, 201, p.text);
  ids.person = p.body.id;
  const h = await cw.post('/api/v1/households', { name: 'The Trix household' });
  assert.equal(h.status, 201, h.text);
  ids.household = h.body.id;
  const m = await cw.post(`/api/v1/households/${ids.household}/members`,
    { person_id: ids.person, relationship: 'head', since: '2020-01-01' });
  assert.equal(m.status, 200, m.text);
  const eligibility = await login(server.url, 'caseworker.city', { purpose: 'eligibility' });
  const s = await eligibility.post('/api/v1/screenings', {
    household_id: ids.household,
    inputs: { earned_income: '1000', unearned_income: 0, shelter_costs: '500', has_elderly_or_disabled_member: false, countable_assets: '0' },
  });
  assert.equal(s.status, 201, s.text);
  ids.screening = s.body.id;
  const applied = await eligibility.post('/api/v1/applications', {
    screening_id: ids.screening, applicant_id: ids.person, programs: ['snap'],
  });
  assert.equal(applied.status, 201, applied.text);
  ids.application = applied.body.id;
  const uploaded = await cw.req('POST', `/api/v1/persons/${ids.person}/documents?kind=payslip&category=income&file_name=p.pdf`,
    { body: '%PDF-1.4\nmatrix\n%%EOF\n', headers: { 'Content-Type': 'application/pdf' } });
  assert.equal(uploaded.status, 201, uploaded.text);
  ids.document = uploaded.body.id;
  const c = await cw.post(`/api/v1/persons/${ids.person}/consents`, {
    receiving_agency_id: Number(await sql(db, "SELECT id FROM agencies WHERE code = 'state-benefits'")),
    scope: 'partial', categories: ['income'], purpose: 'eligibility', legal_basis: 'consent',
    valid_from: '2026-01-01', how_to_withdraw: 'Tell any caseworker.', evidence: 'signed_form', document_ref: 'M-1',
  });
  assert.equal(c.status, 201, c.text);
  ids.consent = c.body.id;
  const stateId = Number(await sql(db, "SELECT id FROM agencies WHERE code = 'state-benefits'"));
  const sd = await cw.post(`/api/v1/persons/${ids.person}/consents`, {
    receiving_agency_id: stateId, scope: 'partial', categories: ['identity', 'contact'], purpose: 'service_delivery',
    legal_basis: 'consent', how_to_withdraw: 'Tell any caseworker.', evidence: 'signed_form', document_ref: 'M-2',
  });
  assert.equal(sd.status, 201, sd.text);
  const ref = await cw.post('/api/v1/referrals', {
    person_id: ids.person, to_agency_id: stateId, urgency: 'routine', message: 'Needs help with rent.',
    consent_id: sd.body.id,
  });
  assert.equal(ref.status, 201, ref.text);
  ids.referral = ref.body.id;
  const opened = await client.coordinator.post('/api/v1/cases', {
    person_id: ids.person, title: 'Trix family support', criteria: 'Needs from three agencies.',
  });
  assert.equal(opened.status, 201, opened.text);
  ids.case = opened.body.id;
  const contact = await cw.post('/api/v1/interactions', { person_id: ids.person, channel: 'desk', topic: 'Rent', outcome: 'resolved' });
  assert.equal(contact.status, 201, contact.text);
  ids.interaction = contact.body.id;
  ids.office = Number(await sql(db, "SELECT min(o.id) FROM offices o JOIN agencies a ON a.id = o.agency_id WHERE a.code = 'city-social'"));
  const queue = Number(await sql(db, `SELECT min(id) FROM queues WHERE office_id = ${ids.office}`));
  const ticket = await cw.post(`/api/v1/queues/${queue}/tickets`, { priority: 'normal' });
  assert.equal(ticket.status, 201, ticket.text);
  ids.ticket = ticket.body.id;
  ids.queue = queue;
  const first = new Date(Date.now() + 48 * 3600 * 1000);
  first.setUTCMinutes(0, 0, 0);
  const slots = await client.manager.post(`/api/v1/queues/${queue}/slots`, { first: first.toISOString().replace('.000Z', 'Z'), count: 2 });
  assert.equal(slots.status, 201, slots.text);
  const booked = await cw.post('/api/v1/appointments', { slot_id: slots.body.items[0].id, contact: 'visitor@example.org' });
  assert.equal(booked.status, 201, booked.text);
  ids.appointment = booked.body.reference;
  ids.agency = Number(await sql(db, "SELECT id FROM agencies WHERE code = 'city-social'"));
  ids.agreement = Number(await sql(db, 'SELECT min(id) FROM sharing_agreements'));
  ids.outcome = Number(await sql(db, 'SELECT min(id) FROM outcomes'));
  ids.diagnostic = Number(await sql(db, 'SELECT min(id) FROM diagnostics'));
  const hook = await client.manager.put('/api/v1/agency-webhook',
    { url: 'http://127.0.0.1:9/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
  assert.equal(hook.status, 200, hook.text);
  // A pair of records waiting for review.
  const city = "(SELECT id FROM agencies WHERE code = 'city-social')";
  const a = Number(await sql(db, `SELECT min(id) FROM source_records WHERE agency_id = ${city}`));
  const b = Number(await sql(db, `SELECT max(id) FROM source_records WHERE agency_id = ${city}`));
  await sqlWrite(`INSERT INTO match_reviews (record_a, record_b, weight, probability, explanation, state, created_at) VALUES (${a}, ${b}, 5, 0.7, '{"prior_weight":-10,"fields":[]}', 'pending', 0)`);
  ids.review = Number(await sql(db, 'SELECT max(id) FROM match_reviews'));
  for (const table of ['service', 'organization', 'service_at_location', 'taxonomy', 'taxonomy_term']) {
    ids[`hsds_${table}`] = await sql(db, `SELECT min(id) FROM directory_records WHERE tbl = '${table}'`);
  }
});

async function sqlWrite(statement) {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  await promisify(execFile)('sqlite3', ['-cmd', '.timeout 10000', db, statement], { timeout: 15_000 });
}

after(async () => {
  await server?.stop();
});

function fill(p) {
  const byOp = {
    '/api/v1/persons/{id}': ids.person, '/api/v1/persons/{id}/history': ids.person,
    '/api/v1/persons/{id}/access-log': ids.person, '/api/v1/persons/{id}/agencies': ids.person,
    '/api/v1/persons/{id}/changes': ids.person, '/api/v1/persons/{id}/consents': ids.person,
    '/api/v1/consents/{id}': ids.consent, '/api/v1/consents/{id}/receipt': ids.consent,
    '/api/v1/households/{id}': ids.household, '/api/v1/households/{id}/screenings': ids.household,
    '/api/v1/screenings/{id}': ids.screening, '/api/v1/agencies/{id}': ids.agency,
    '/api/v1/agencies/{id}/offices': ids.agency, '/api/v1/agencies/{id}/users': ids.agency,
    '/api/v1/sharing-agreements/{id}': ids.agreement, '/api/v1/match-reviews/{id}': ids.review,
    '/api/v1/referrals/{id}': ids.referral, '/api/v1/persons/{id}/referrals': ids.person,
    '/api/v1/cases/{id}': ids.case, '/api/v1/persons/{id}/cases': ids.person,
    '/api/v1/applications/{id}': ids.application, '/api/v1/persons/{id}/applications': ids.person,
    '/api/v1/persons/{id}/documents': ids.person, '/api/v1/documents/{id}/content': ids.document,
    '/api/v1/persons/{id}/timeline': ids.person, '/api/v1/persons/{id}/interactions': ids.person,
    '/api/v1/offices/{id}/queues': ids.office, '/api/v1/offices/{id}/counters': ids.office,
    '/api/v1/offices/{id}/hours': ids.office, '/api/v1/offices/{id}/appointments': ids.office,
    '/api/v1/agencies/{id}/service-targets': ids.agency, '/api/v1/agencies/{id}/outcomes': ids.agency,
    '/api/v1/outcomes/{id}': ids.outcome, '/api/v1/diagnostics/{id}': ids.diagnostic,
    '/api/v1/tickets/{id}': ids.ticket, '/api/v1/offices/{id}/queue-events': ids.office,
    '/api/v1/queues/{id}/slots': ids.queue, '/api/v1/appointments/{reference}': ids.appointment,
    '/hsds/services/{id}': ids.hsds_service, '/hsds/organizations/{id}': ids.hsds_organization,
    '/hsds/service_at_locations/{id}': ids.hsds_service_at_location, '/hsds/taxonomies/{id}': ids.hsds_taxonomy,
    '/hsds/taxonomy_terms/{id}': ids.hsds_taxonomy_term, '/api/v1/life-events/{id}': 'lost-job',
  };
  if (!p.includes('{')) return p;
  assert.ok(byOp[p] !== undefined, `no id to fill ${p}`);
  return p.replace(/\{[a-z_]+\}/, String(byOp[p]));
}

test('every GET operation has a rule, and each role gets exactly what the rule allows', T, async () => {
  const doc = JSON.parse(await readFile(path.join(repoRoot, 'web', 'openapi.json'), 'utf8'));
  const ops = [];
  for (const [p, methods] of Object.entries(doc.paths)) {
    if (methods.get) ops.push({ path: p, id: methods.get.operationId });
  }
  const missing = ops.filter((o) => !kRules[o.id]).map((o) => o.id);
  assert.deepEqual(missing, [], 'GET operations without an authorisation rule in this test');

  const wrong = [];
  let cells = 0;
  for (const op of ops) {
    const rule = kRules[op.id];
    const url = fill(op.path);
    if (!rule.public) {
      const anonymous = await request(server.url, 'GET', url);
      if (anonymous.status !== 401) wrong.push(`${op.id} without credentials: ${anonymous.status}`);
    }
    for (const who of ALL) {
      ++cells;
      const refusedBefore = Number(await sql(db, `SELECT count(*) FROM audit_log WHERE allowed = 0 AND actor = '${kWho[who][0]}'`));
      const r = await client[who].get(url);
      const allowed = rule.allow.includes(who);
      if (allowed) {
        if (r.status !== 200) wrong.push(`${op.id} as ${who}: expected 200, got ${r.status} ${r.text.slice(0, 160)}`);
        else if (rule.leaks && who === 'ngo' && rule.leaks(r.body)) {
          wrong.push(`${op.id} as ngo: the answer shows what the agency may not see`);
        }
        continue;
      }
      if (r.status >= 200 && r.status < 300) {
        wrong.push(`${op.id} as ${who}: expected a refusal, got ${r.status}`);
        continue;
      }
      if (![403, 404].includes(r.status)) wrong.push(`${op.id} as ${who}: refused with ${r.status}, not 403 or 404`);
      {
        const refusedAfter = Number(await sql(db,
          `SELECT count(*) FROM audit_log WHERE allowed = 0 AND actor = '${kWho[who][0]}'`));
        if (refusedAfter <= refusedBefore) wrong.push(`${op.id} as ${who}: the refusal was not audited`);
      }
    }
  }
  assert.deepEqual(wrong, [], `${wrong.length} of ${cells} cells differ from the rules`);
  assert.ok(cells >= ops.length * ALL.length);
});
