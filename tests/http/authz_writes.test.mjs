// The authorisation matrix for writes: every POST, PUT and DELETE operation of the API (read from
// the OpenAPI document, which tests/openapi_test.cc keeps equal to the route table) × every staff
// role of the demo's city agency × a caseworker of another agency (the harbour trust), which holds
// no consent or agreement for the city's client. Each cell gets records of its own, made afresh,
// and a valid request: an allowed cell must succeed (2xx); every other cell must be refused with
// 403 (or 404 where the record is not the caller's to know of), leave a refusal in the audit log
// and write nothing: no audit entry that allows something is written under that
// request's id. A role an operation does not publish in x-onedoor-roles is refused so even with an
// empty body, which is not valid. Without credentials every operation but the public ones
// answers 401. An operation without a rule here fails the test: a new write cannot ship without
// saying who may make it.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/authz_writes.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { login, prepareDatabase, repoRoot, request, serve, sql } from './helpers.mjs';
import { CASEWORK, CLIENT, kWho } from './authz_columns.mjs';

const T = { timeout: 300_000 };

// The columns: the city's staff and the trust's caseworker (authz_columns.mjs).
const ALL = Object.keys(kWho);
const MANAGERS = ['manager', 'admin'];
// A case is run by the coordinators and managers of the agency that coordinates it.
const COORDINATES = ['coordinator', 'manager'];
// Records an agency makes for itself: the trust's caseworker may make them too.
const OWN = [...CLIENT, 'ngo'];

let server;
let db;
const client = {};
const agency = {};
let office;
let seq = 0;
const unique = (stem) => `${stem}-${process.pid}-${++seq}`;

async function sqlWrite(statement) {
  await promisify(execFile)('sqlite3', ['-cmd', '.timeout 10000', db, statement], { timeout: 15_000 });
}

async function ok(r, status = [200, 201]) {
  const want = Array.isArray(status) ? status : [status];
  assert.ok(want.includes(r.status), `set-up: ${r.status} ${r.text.slice(0, 300)}`);
  return r.body;
}

// Fixtures: each makes a new record held by the city.
const fx = {
  async person() {
    const p = await ok(await client.caseworker.post('/api/v1/persons', {
      names: [{ use: 'official', given: 'Wri', family: unique('Tes') }], birth_date: '1975-05-05',
    }));
    return p.id;
  },
  async household() {
    return (await ok(await client.caseworker.post('/api/v1/households', { name: unique('The Tes household') }))).id;
  },
  async consent(person, categories = ['identity', 'contact'], purpose = 'service_delivery', to = agency.state) {
    return (await ok(await client.caseworker.post(`/api/v1/persons/${person}/consents`, {
      receiving_agency_id: to, scope: 'partial', categories, purpose, legal_basis: 'consent',
      how_to_withdraw: 'Tell any caseworker.', evidence: 'signed_form', document_ref: unique('W'),
    }))).id;
  },
  async openCase() {
    const person = await fx.person();
    const c = await ok(await client.coordinator.post('/api/v1/cases',
      { person_id: person, title: 'Matrix support', criteria: 'Needs from two agencies.' }));
    return { id: c.id, version: c.version, person };
  },
  async referral() {
    const person = await fx.person();
    const consent = await fx.consent(person);
    const r = await ok(await client.caseworker.post('/api/v1/referrals', {
      person_id: person, to_agency_id: agency.state, urgency: 'routine', message: 'Needs help with rent.', consent_id: consent,
    }));
    return r;
  },
  async screening() {
    const person = await fx.person();
    const household = await fx.household();
    await ok(await client.caseworker.post(`/api/v1/households/${household}/members`,
      { person_id: person, relationship: 'head', since: '2020-01-01' }));
    const s = await ok(await client.eligibility.post('/api/v1/screenings', {
      household_id: household,
      inputs: { earned_income: '1000', unearned_income: 0, shelter_costs: '500', has_elderly_or_disabled_member: false, countable_assets: '0' },
    }));
    return { screening: s.id, person, household };
  },
  async team() {
    return (await ok(await client.manager.post('/api/v1/teams', { name: unique('Team'), tier: 'front_line' }))).id;
  },
  async counter() {
    const queue = await fx.queue();
    const c = await ok(await client.manager.post(`/api/v1/offices/${office}/counters`, { name: unique('Desk'), queues: [queue] }));
    return { counter: c.id, queue };
  },
  // A new office each time: an office has at most 26 queues, one per letter.
  async office() {
    return (await ok(await client.admin.post(`/api/v1/agencies/${agency.city}/offices`, { name: unique('Office') }))).id;
  },
  async queue() {
    const at = await fx.office();
    const q = await ok(await client.manager.post(`/api/v1/offices/${at}/queues`, { code: 'A', name: unique('Queue') }));
    office = at;
    return q.id;
  },
  async ticket() {
    const queue = await fx.queue();
    return (await ok(await client.frontdesk.post(`/api/v1/queues/${queue}/tickets`, { priority: 'normal' }))).id;
  },
  // A slot at the next full hour (so that its appointment may be checked in now), in a new queue.
  async slot() {
    const queue = await fx.queue();
    const first = new Date(Date.now() + 3600 * 1000);
    first.setUTCMinutes(0, 0, 0);
    const made = await ok(await client.manager.post(`/api/v1/queues/${queue}/slots`,
      { first: first.toISOString().replace('.000Z', 'Z'), count: 1 }));
    return made.items[0].id;
  },
  async outcome() {
    return (await ok(await client.governance.post('/api/v1/outcomes', { name: unique('Outcome') }))).id;
  },
  async interaction() {
    return (await ok(await client.frontdesk.post('/api/v1/interactions', { channel: 'desk', topic: 'Rent', outcome: 'resolved' }))).id;
  },
  async notice(delivery = 'none') {
    const person = await fx.person();
    await sqlWrite(`INSERT INTO change_notices (person_id, agency_id, from_agency_id, type, fields, version, created_at, state, delivery_state) VALUES (${person}, ${agency.city}, ${agency.state}, 'person.updated', '["addresses"]', 2, 0, 'pending', '${delivery}')`);
    return Number(await sql(db, 'SELECT max(id) FROM change_notices'));
  },
  async review() {
    const a = await fx.person();
    const recA = unique('MX');
    const recB = unique('MX');
    await ok(await client.token.put(`/api/v1/source-records/${recA}`, { person_id: a, data: personBody() }));
    await ok(await client.token.put(`/api/v1/source-records/${recB}`, { person_id: a, data: personBody() }));
    const ids = (await sql(db, `SELECT group_concat(id) FROM source_records WHERE local_id IN ('${recA}', '${recB}')`)).split(',');
    await sqlWrite(`INSERT INTO match_reviews (record_a, record_b, weight, probability, explanation, state, created_at) VALUES (${ids[0]}, ${ids[1]}, 5, 0.7, '{"prior_weight":-10,"fields":[]}', 'pending', 0)`);
    return Number(await sql(db, 'SELECT max(id) FROM match_reviews'));
  },
  async breakGlass() {
    const person = await fx.person();
    const r = await client.ngo.get(`/api/v1/persons/${person}`,
      { headers: { 'X-Break-Glass': 'Found unwell at the drop-in; need her contacts now' } });
    assert.equal(r.status, 200, r.text);
    return Number(await sql(db, `SELECT max(id) FROM break_glass_accesses WHERE person_id = ${person}`));
  },
  // Proposed by the state's manager: the governance user deciding it (the city's) neither
  // proposed it nor works for the agency that would receive the data.
  async agreement() {
    const r = await ok(await client.stateAgreements.post('/api/v1/sharing-agreements', {
      receiving_agency_id: agency.state, category: 'contact', purpose: 'service_delivery', legal_basis: unique('Statute s.'),
    }));
    return r.id;
  },
  async applicationPart() {
    const { screening, person } = await fx.screening();
    // Lifeline is one of the city's programs: its part is decided in the city.
    const a = await ok(await client.eligibility.post('/api/v1/applications',
      { screening_id: screening, applicant_id: person, programs: ['lifeline'] }));
    return a.parts[0];
  },
  async staff() {
    return (await ok(await client.admin.post(`/api/v1/agencies/${agency.city}/users`, {
      username: unique('staff').toLowerCase(), display_name: 'Fresh Staff', password: 'a-long-enough-password-42', roles: ['frontdesk'],
    }))).id;
  },
  async token() {
    return (await ok(await client.admin.post('/api/v1/tokens', { name: unique('system'), roles: ['caseworker'], scopes: ['persons:read'] }))).id;
  },
};

const personBody = () => ({ names: [{ use: 'official', given: 'Newa', family: unique('Person') }], birth_date: '1980-01-01' });
const hsdsService = () => ({
  services: [{ id: crypto.randomUUID(), name: unique('Matrix advice'), status: 'active' }],
});

// operationId → who may make it, and how to make a fresh, valid request for one cell.
// A rule with `pub: true` needs no credentials (the appointment's reference is the key).
const kRules = {
  createPerson: { allow: OWN, make: async () => ({ body: personBody() }) },
  updatePerson: {
    allow: CLIENT,
    make: async () => {
      const id = await fx.person();
      const cur = await client.caseworker.get(`/api/v1/persons/${id}`);
      return { url: `/api/v1/persons/${id}`, body: { names: [{ use: 'official', given: 'Renamed', family: 'Tes' }] },
        headers: { 'If-Match': cur.headers.get('etag') } };
    },
  },
  createHousehold: { allow: OWN, make: async () => ({ body: { name: unique('House') } }) },
  addHouseholdMember: {
    allow: CLIENT,
    make: async () => ({ url: `/api/v1/households/${await fx.household()}/members`,
      body: { person_id: await fx.person(), relationship: 'head', since: '2021-01-01' } }),
  },
  endHouseholdMembership: {
    allow: CLIENT,
    make: async () => {
      const h = await fx.household();
      const p = await fx.person();
      await ok(await client.caseworker.post(`/api/v1/households/${h}/members`, { person_id: p, relationship: 'head', since: '2021-01-01' }));
      return { url: `/api/v1/households/${h}/members/${p}/end`, body: { until: '2022-01-01' } };
    },
  },
  removeHouseholdMember: {
    allow: CLIENT,
    make: async () => {
      const h = await fx.household();
      const p = await fx.person();
      await ok(await client.caseworker.post(`/api/v1/households/${h}/members`, { person_id: p, relationship: 'head', since: '2021-01-01' }));
      return { url: `/api/v1/households/${h}/members/${p}/remove`, body: { reason: 'Typed the wrong client number' } };
    },
  },
  // Matching shows likely persons only as the gate allows each: the trust finds none of the city's.
  matchPerson: { allow: OWN, make: async () => ({ body: { person: personBody() } }) },
  decideMatchReview: {
    allow: CASEWORK,
    make: async () => ({ url: `/api/v1/match-reviews/${await fx.review()}/decision`, body: { decision: 'not_same', reason: 'different people' } }),
  },
  putSourceRecordBatch: {
    allow: OWN,
    make: async () => ({ body: { records: [{ local_id: unique('B'), person: personBody() }] } }),
  },
  // Naming the person: only one the agency holds already (the others are linked by matching).
  putSourceRecord: {
    allow: CLIENT,
    make: async () => ({ url: `/api/v1/source-records/${unique('S')}`, body: { person_id: await fx.person(), data: { open: true } } }),
  },
  createAgency: { allow: ['admin'], make: async () => ({ body: { code: unique('ag').toLowerCase(), name: unique('Agency'), kind: 'nonprofit' } }) },
  createOffice: { allow: ['admin'], make: async () => ({ url: `/api/v1/agencies/${agency.city}/offices`, body: { name: unique('Office') } }) },
  createUser: {
    allow: ['admin'],
    make: async () => ({ url: `/api/v1/agencies/${agency.city}/users`,
      body: { username: unique('user').toLowerCase(), display_name: 'New Staff', password: 'a-long-enough-password-42', roles: ['caseworker'] } }),
  },
  deactivateUser: { allow: ['admin'], make: async () => ({ url: `/api/v1/agencies/${agency.city}/users/${await fx.staff()}/deactivate` }) },
  activateUser: { allow: ['admin'], make: async () => ({ url: `/api/v1/agencies/${agency.city}/users/${await fx.staff()}/activate` }) },
  issueToken: { allow: ['admin'], make: async () => ({ body: { name: unique('sys'), roles: ['caseworker'], scopes: ['persons:read'] } }) },
  updateToken: { allow: ['admin'], make: async () => ({ url: `/api/v1/tokens/${await fx.token()}`, body: { requests_per_minute: 600 } }) },
  revokeToken: { allow: ['admin'], make: async () => ({ url: `/api/v1/tokens/${await fx.token()}` }) },
  // A screening of a registered household, saved to its record. (A household given inline is
  // screened for anyone signed in, like a calculator: nothing about a person is read or kept.)
  createScreening: {
    allow: CLIENT,
    make: async () => {
      const household = await fx.household();
      await ok(await client.caseworker.post(`/api/v1/households/${household}/members`,
        { person_id: await fx.person(), relationship: 'head', since: '2020-01-01' }));
      return { body: { household_id: household, inputs: { earned_income: '1000', unearned_income: 0, shelter_costs: '500', has_elderly_or_disabled_member: false, countable_assets: '0' } } };
    },
  },
  // A manager proposes for the own agency to receive; governance for any agency.
  proposeSharingAgreement: {
    allow: ['manager', 'governance'],
    make: async () => ({ body: { receiving_agency_id: agency.city, category: 'contact', purpose: 'service_delivery', legal_basis: unique('Statute s.') } }),
  },
  decideSharingAgreement: {
    allow: ['governance'],
    make: async () => ({ url: `/api/v1/sharing-agreements/${await fx.agreement()}/decision`, body: { decision: 'approve' } }),
  },
  // Consent is recorded by those who work with the person, not at the front desk.
  giveConsent: {
    allow: CASEWORK,
    make: async () => ({ url: `/api/v1/persons/${await fx.person()}/consents`,
      body: { receiving_agency_id: agency.state, scope: 'partial', categories: ['contact'], purpose: 'service_delivery', legal_basis: 'consent',
        how_to_withdraw: 'Tell any caseworker.', evidence: 'signed_form', document_ref: unique('C') } }),
  },
  recordConsentEvent: {
    allow: CASEWORK,
    make: async () => ({ url: `/api/v1/consents/${await fx.consent(await fx.person())}/events`, body: { event: 'withdraw', reason: 'the person asked' } }),
  },
  reviewBreakGlass: {
    allow: ['governance'],
    make: async () => ({ url: `/api/v1/break-glass/${await fx.breakGlass()}/review`, body: { outcome: 'justified', note: 'Confirmed with the drop-in.' } }),
  },
  markChangeApplied: { allow: CLIENT, make: async () => ({ url: `/api/v1/changes/${await fx.notice()}/applied`, body: { note: 'done' } }) },
  setAgencyWebhook: {
    allow: MANAGERS,
    make: async () => ({ body: { url: 'https://hooks.example.org/onedoor', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } }),
  },
  removeAgencyWebhook: {
    allow: MANAGERS,
    make: async () => {
      await ok(await client.manager.put('/api/v1/agency-webhook',
        { url: 'https://hooks.example.org/onedoor', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }));
      return {};
    },
  },
  redeliverChangeNotice: {
    allow: MANAGERS,
    make: async () => {
      await ok(await client.manager.put('/api/v1/agency-webhook',
        { url: 'https://hooks.example.org/onedoor', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }));
      return { url: `/api/v1/changes/${await fx.notice('dead')}/redeliver` };
    },
  },
  sendReferral: {
    allow: CASEWORK,
    make: async () => {
      const person = await fx.person();
      return { body: { person_id: person, to_agency_id: agency.state, urgency: 'routine', message: 'Needs help.', consent_id: await fx.consent(person) } };
    },
  },
  actOnReferral: {
    allow: CASEWORK,
    make: async () => {
      const r = await fx.referral();
      return { url: `/api/v1/referrals/${r.id}/actions`, body: { action: 'withdraw', version: r.version, note: 'No longer needed.' } };
    },
  },
  openCase: {
    allow: ['coordinator', 'manager'],
    make: async () => ({ body: { person_id: await fx.person(), title: 'Support', criteria: 'Needs from two agencies.' } }),
  },
  addCaseParticipant: {
    allow: COORDINATES,
    make: async () => {
      const c = await fx.openCase();
      const consent = await fx.consent(c.person, ['identity', 'contact'], 'case_work');
      return { url: `/api/v1/cases/${c.id}/participants`, body: { agency_id: agency.state, consent_id: consent, version: c.version } };
    },
  },
  appointCaseLead: {
    allow: COORDINATES,
    make: async () => {
      const c = await fx.openCase();
      return { url: `/api/v1/cases/${c.id}/lead`, body: { agency_id: agency.city, version: c.version } };
    },
  },
  scheduleCaseConference: {
    allow: COORDINATES,
    make: async () => {
      const c = await fx.openCase();
      return { url: `/api/v1/cases/${c.id}/conferences`, body: { scheduled_at: '2027-03-02T10:00', place: 'Riverside', attendees: 'coordinator.city', version: c.version } };
    },
  },
  recordCaseConference: {
    allow: COORDINATES,
    make: async () => {
      const c = await fx.openCase();
      const s = await ok(await client.coordinator.post(`/api/v1/cases/${c.id}/conferences`,
        { scheduled_at: '2026-03-02T10:00', place: 'Riverside', attendees: 'coordinator.city', version: c.version }));
      return { url: `/api/v1/cases/${c.id}/conferences/${s.conferences[0].id}`, body: { outcome: 'held', minutes: 'Met.', decisions: 'The city leads.', version: s.version } };
    },
  },
  addCaseGoal: {
    allow: COORDINATES,
    make: async () => {
      const c = await fx.openCase();
      return { url: `/api/v1/cases/${c.id}/goals`, body: { text: 'A steady income', version: c.version } };
    },
  },
  addCaseAction: {
    allow: COORDINATES,
    make: async () => {
      const c = await fx.openCase();
      return { url: `/api/v1/cases/${c.id}/actions`, body: { text: 'Call the landlord', agency_id: agency.city, version: c.version } };
    },
  },
  updateCasePlanItem: {
    allow: COORDINATES,
    make: async () => {
      const c = await fx.openCase();
      const g = await ok(await client.coordinator.post(`/api/v1/cases/${c.id}/goals`, { text: 'A home', version: c.version }));
      return { url: `/api/v1/cases/${c.id}/items/${g.plan[0].id}`, body: { state: 'achieved', version: g.version } };
    },
  },
  reviewCase: {
    allow: COORDINATES,
    make: async () => {
      const c = await fx.openCase();
      return { url: `/api/v1/cases/${c.id}/reviews`, body: { notes: 'Steady.', version: c.version } };
    },
  },
  closeCase: {
    allow: COORDINATES,
    make: async () => {
      const c = await fx.openCase();
      return { url: `/api/v1/cases/${c.id}/close`, body: { outcome: 'Settled.', reason: 'goals met', version: c.version } };
    },
  },
  removeCaseParticipant: {
    allow: COORDINATES,
    make: async () => {
      const c = await fx.openCase();
      const consent = await fx.consent(c.person, ['identity', 'contact'], 'case_work');
      const added = await ok(await client.coordinator.post(`/api/v1/cases/${c.id}/participants`,
        { agency_id: agency.state, consent_id: consent, version: c.version }));
      return { url: `/api/v1/cases/${c.id}/participants/remove`, body: { agency_id: agency.state, reason: 'Not needed.', version: added.version } };
    },
  },
  applyForPrograms: {
    allow: CLIENT,
    make: async () => {
      const { screening, person } = await fx.screening();
      return { body: { screening_id: screening, applicant_id: person, programs: ['snap'] } };
    },
  },
  decideApplicationPart: {
    allow: CASEWORK,
    make: async () => {
      const part = await fx.applicationPart();
      return { url: `/api/v1/application-parts/${part.id}/decision`, body: { decision: 'approve', version: part.version, note: 'Meets the rules.' } };
    },
  },
  uploadDocument: {
    allow: CLIENT,
    make: async () => ({ url: `/api/v1/persons/${await fx.person()}/documents?kind=payslip&category=income&file_name=p.pdf`,
      raw: '%PDF-1.4\nmatrix\n%%EOF\n', headers: { 'Content-Type': 'application/pdf' } }),
  },
  createTeam: { allow: MANAGERS, make: async () => ({ body: { name: unique('Team'), tier: 'front_line' } }) },
  addTeamMember: {
    allow: MANAGERS,
    make: async () => ({ url: `/api/v1/teams/${await fx.team()}/members`, body: { user_id: Number(await sql(db, "SELECT id FROM users WHERE username = 'caseworker.city'")) } }),
  },
  removeTeamMember: {
    allow: MANAGERS,
    make: async () => {
      const team = await fx.team();
      const user = Number(await sql(db, "SELECT id FROM users WHERE username = 'caseworker.city'"));
      await ok(await client.manager.post(`/api/v1/teams/${team}/members`, { user_id: user }));
      return { url: `/api/v1/teams/${team}/members/${user}` };
    },
  },
  // The city has the state's front-line team do its work, under an agreement that lets the state receive its data.
  joinTeam: { allow: MANAGERS, make: async () => ({ url: `/api/v1/teams/${await fx.stateTeam()}/joint`, body: { agreement_id: await fx.jointAgreement() } }) },
  leaveTeam: {
    allow: MANAGERS,
    make: async () => {
      const team = await fx.stateTeam();
      await ok(await client.manager.post(`/api/v1/teams/${team}/joint`, { agreement_id: await fx.jointAgreement() }));
      return { url: `/api/v1/teams/${team}/joint` };
    },
  },
  // Assigning work is for managers (members claim it; see tests/http/work.test.mjs).
  actOnWork: {
    allow: ['manager'],
    make: async () => {
      const id = await fx.workItem();
      const version = Number(await sql(db, `SELECT version FROM work_items WHERE id = ${id}`));
      const member = Number(await sql(db, `SELECT min(m.user_id) FROM team_members m JOIN work_items w ON w.team_id = m.team_id WHERE w.id = ${id}`));
      return { url: `/api/v1/work/${id}/actions`, body: { action: 'assign', version, user_id: member } };
    },
  },
  importDirectory: { allow: ['admin'], make: async () => ({ body: hsdsService() }) },
  recordInteraction: { allow: OWN, make: async () => ({ body: { channel: 'desk', topic: 'Rent', outcome: 'resolved' } }) },
  rateInteraction: { allow: CLIENT, make: async () => ({ url: `/api/v1/interactions/${await fx.interaction()}/rating`, body: { score: 4 } }) },
  createQueue: { allow: MANAGERS, make: async () => ({ url: `/api/v1/offices/${await fx.office()}/queues`, body: { code: 'A', name: unique('Queue') } }) },
  createCounter: {
    allow: MANAGERS,
    make: async () => {
      const queue = await fx.queue();
      return { url: `/api/v1/offices/${office}/counters`, body: { name: unique('Desk'), queues: [queue] } };
    },
  },
  signInCounter: { allow: CLIENT, make: async () => ({ url: `/api/v1/counters/${(await fx.counter()).counter}/sign-in` }) },
  signOutCounter: {
    allow: CLIENT,
    make: async (who) => {
      const { counter } = await fx.counter();
      if (client[who]) await client[who].post(`/api/v1/counters/${counter}/sign-in`, {});
      return { url: `/api/v1/counters/${counter}/sign-out` };
    },
  },
  callNextTicket: {
    allow: CLIENT,
    make: async (who) => {
      const { counter, queue } = await fx.counter();
      await ok(await client.frontdesk.post(`/api/v1/queues/${queue}/tickets`, { priority: 'normal' }));
      if (client[who]) await client[who].post(`/api/v1/counters/${counter}/sign-in`, {});
      return { url: `/api/v1/counters/${counter}/call-next` };
    },
  },
  checkIn: { allow: CLIENT, make: async () => ({ url: `/api/v1/queues/${await fx.queue()}/tickets`, body: { priority: 'normal' } }) },
  // The one signed in at the counter serves the ticket called there.
  actOnTicket: {
    allow: CLIENT,
    make: async (who) => {
      const { counter, queue } = await fx.counter();
      const ticket = await ok(await client.frontdesk.post(`/api/v1/queues/${queue}/tickets`, { priority: 'normal' }));
      if (client[who]) {
        await client[who].post(`/api/v1/counters/${counter}/sign-in`, {});
        await client[who].post(`/api/v1/counters/${counter}/call-next`, {});
      }
      return { url: `/api/v1/tickets/${ticket.id}/actions`, body: { action: 'serve' } };
    },
  },
  createSlots: {
    allow: MANAGERS,
    make: async () => {
      const first = new Date(Date.now() + (100 + (++seq % 500)) * 3600 * 1000);
      first.setUTCMinutes(0, 0, 0);
      return { url: `/api/v1/queues/${await fx.queue()}/slots`, body: { first: first.toISOString().replace('.000Z', 'Z'), count: 1 } };
    },
  },
  bookAppointment: { allow: CLIENT, make: async () => ({ body: { slot_id: await fx.slot(), contact: 'visitor@example.org' } }) },
  cancelAppointment: { pub: true, make: async () => ({ url: `/api/v1/appointments/${await fx.appointment()}/cancel` }) },
  checkInAppointment: { pub: true, make: async () => ({ url: `/api/v1/appointments/${await fx.appointment()}/check-in` }) },
  setOfficeHours: {
    allow: MANAGERS,
    make: async () => ({ url: `/api/v1/offices/${office}/hours`, body: { time_zone: 'UTC', hours: [{ day: 'monday', opens: '09:00', closes: '17:00' }], closures: [] } }),
  },
  // An agency's managers and administrators set its targets, and so does the consortium's governance.
  addServiceTarget: {
    allow: ['manager', 'admin', 'governance'],
    make: async () => ({ url: `/api/v1/agencies/${agency.city}/service-targets`, body: { metric: 'satisfied_percent', comparison: 'at_least', value: 80 + (++seq % 20) } }),
  },
  removeServiceTarget: {
    allow: ['manager', 'admin', 'governance'],
    make: async () => {
      const t = await ok(await client.manager.post(`/api/v1/agencies/${agency.city}/service-targets`,
        { metric: 'satisfied_percent', comparison: 'at_least', value: 50 + (++seq % 30) }));
      return { url: `/api/v1/service-targets/${t.id}` };
    },
  },
  addOutcome: { allow: ['governance'], make: async () => ({ body: { name: unique('Outcome') } }) },
  removeOutcome: { allow: ['governance'], make: async () => ({ url: `/api/v1/outcomes/${await fx.outcome()}` }) },
  addOutcomeIndicator: {
    allow: ['governance'],
    make: async () => ({ url: `/api/v1/outcomes/${await fx.outcome()}/indicators`, body: { metric: 'satisfied_percent', comparison: 'at_least', target: 80 } }),
  },
  removeOutcomeIndicator: {
    allow: ['governance'],
    make: async () => {
      const o = await fx.outcome();
      const i = await ok(await client.governance.post(`/api/v1/outcomes/${o}/indicators`, { metric: 'satisfied_percent', comparison: 'at_least', target: 80 }));
      return { url: `/api/v1/outcome-indicators/${i.id}` };
    },
  },
  // The city's work is mapped by its managers and administrators, and by the consortium's governance.
  addOutcomeContribution: {
    allow: ['governance', 'manager', 'admin'],
    make: async () => ({ url: `/api/v1/outcomes/${await fx.outcome()}/contributions`, body: { kind: 'program', ref: 'lifeline', how: 'A phone to find work.' } }),
  },
  removeOutcomeContribution: {
    allow: ['governance', 'manager', 'admin'],
    make: async () => {
      const o = await fx.outcome();
      const c = await ok(await client.governance.post(`/api/v1/outcomes/${o}/contributions`, { kind: 'program', ref: 'lifeline', how: 'A phone.' }));
      return { url: `/api/v1/outcome-contributions/${c.id}` };
    },
  },
  saveDiagnostic: { allow: ['manager', 'admin', 'governance'], make: async () => ({ body: await diagnosticBody() }) },
};

// A new team of the state each time, and the agreement under which the state does the city's work.
fx.stateTeam = async () => (await ok(await client.stateManager.post('/api/v1/teams', { name: unique('State team'), tier: 'front_line' }))).id;
fx.jointAgreement = async () => {
  jointAgreement ??= Number(await sql(db, `SELECT min(id) FROM sharing_agreements WHERE receiving_agency_id = ${agency.state} AND (holding_agency_id IS NULL OR holding_agency_id = ${agency.city}) AND purpose IN ('case_work', 'service_delivery') AND state = 'approved'`));
  assert.ok(jointAgreement > 0, 'the demo has an agreement for the state to receive the city\'s data');
  return jointAgreement;
};
let jointAgreement;

fx.appointment = async () => {
  const b = await ok(await client.frontdesk.post('/api/v1/appointments', { slot_id: await fx.slot(), contact: 'visitor@example.org' }));
  return b.reference;
};

// A referral to the city from the state, routed to the city's work queue.
fx.workItem = async () => {
  const p = await ok(await client.state.post('/api/v1/persons', { names: [{ use: 'official', given: 'Wor', family: unique('Kitem') }] }));
  const c = await ok(await client.state.post(`/api/v1/persons/${p.id}/consents`, {
    receiving_agency_id: agency.city, scope: 'partial', categories: ['identity', 'contact'], purpose: 'service_delivery',
    legal_basis: 'consent', how_to_withdraw: 'Tell us.', evidence: 'signed_form', document_ref: unique('WQ'),
  }));
  const r = await ok(await client.state.post('/api/v1/referrals',
    { person_id: p.id, to_agency_id: agency.city, urgency: 'routine', message: 'Needs help.', consent_id: c.id }));
  return Number(await sql(db, `SELECT id FROM work_items WHERE source = 'referral' AND source_id = ${r.id}`));
};

let diagnosticQuestions;
async function diagnosticBody() {
  diagnosticQuestions ??= (await client.manager.get('/api/v1/diagnostics/questions')).body;
  return {
    initiative: unique('Initiative'),
    complexity: Object.fromEntries(diagnosticQuestions.complexity.map((q) => [q.key, 2])),
    ratings: Object.fromEntries(diagnosticQuestions.statements.map((s) => [s.key, 3])),
  };
}

before(async () => {
  const prepared = await prepareDatabase({ people: 4, prefix: 'onedoor-writes-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  for (const [key, [user, purpose]] of Object.entries(kWho)) client[key] = await login(server.url, user, { purpose });
  client.eligibility = await login(server.url, 'caseworker.city', { purpose: 'eligibility' });
  client.state = await login(server.url, 'caseworker.state', { purpose: 'service_delivery' });
  for (const code of ['city-social', 'state-benefits', 'harbour-trust']) {
    agency[{ 'city-social': 'city', 'state-benefits': 'state', 'harbour-trust': 'trust' }[code]] =
      Number(await sql(db, `SELECT id FROM agencies WHERE code = '${code}'`));
  }
  office = Number(await sql(db, `SELECT min(id) FROM offices WHERE agency_id = ${agency.city}`));
  const t = await ok(await client.admin.post('/api/v1/tokens',
    { name: 'matrix-system', roles: ['caseworker'], scopes: ['persons:read', 'persons:write', 'source-records:write'] }));
  client.token = new (client.admin.constructor)(server.url, { token: t.secret ?? t.token });
  client.stateManager = await login(server.url, 'admin.state', { purpose: 'administration' });
  client.stateAgreements = await login(server.url, 'manager.state', { purpose: 'administration' });
});

after(async () => {
  await server?.stop();
});

async function send(who, method, url, spec) {
  const requestId = `mx${++seq}x${Date.now()}`;
  const headers = { 'X-Request-Id': requestId, ...(spec.headers ?? {}) };
  const options = spec.raw !== undefined ? { body: spec.raw, headers } : { json: spec.body ?? (method === 'DELETE' ? undefined : {}), headers };
  const r = who ? await client[who].req(method, url, options) : await request(server.url, method, url, options);
  return { r, requestId };
}

test('every write operation has a rule, and each role can make exactly the writes the rule allows', T, async () => {
  const doc = JSON.parse(await readFile(path.join(repoRoot, 'web', 'openapi.json'), 'utf8'));
  const ops = [];
  for (const [p, methods] of Object.entries(doc.paths)) {
    for (const method of ['post', 'put', 'patch', 'delete']) {
      if (methods[method]) {
        ops.push({ path: p, method: method.toUpperCase(), id: methods[method].operationId, roles: methods[method]['x-onedoor-roles'] });
      }
    }
  }
  const missing = ops.filter((o) => !kRules[o.id]).map((o) => o.id);
  assert.deepEqual(missing, [], 'write operations without an authorisation rule in this test');

  const wrong = [];
  let cells = 0;
  for (const op of ops) {
    const rule = kRules[op.id];
    if (!rule.pub) {
      try {
        const spec = await rule.make(null);
        const { r } = await send(null, op.method, spec.url ?? op.path, spec);
        if (r.status !== 401) wrong.push(`${op.id} without credentials: ${r.status}`);
      } catch (e) {
        wrong.push(`${op.id} without credentials: the set-up failed: ${e.message}`);
      }
    }
    for (const who of ALL) {
      ++cells;
      let spec;
      try {
        spec = await rule.make(who);
      } catch (e) {
        wrong.push(`${op.id} as ${who}: the set-up failed: ${e.message}`);
        continue;
      }
      const url = spec.url ?? op.path;
      const { r, requestId } = await send(who, op.method, url, spec);
      const allowed = rule.pub || rule.allow.includes(who);
      if (allowed) {
        if (r.status < 200 || r.status >= 300) wrong.push(`${op.id} as ${who}: expected success, got ${r.status} ${r.text.slice(0, 200)}`);
        continue;
      }
      if (r.status >= 200 && r.status < 300) {
        wrong.push(`${op.id} as ${who}: expected a refusal, got ${r.status}`);
        continue;
      }
      // A role the operation does not publish (x-onedoor-roles) is refused whatever the request
      // says: an empty body is refused as the valid one is (403, audited), not found wanting.
      const role = who === 'ngo' ? 'caseworker' : who;
      if (op.roles && !op.roles.includes(role)) {
        const empty = await send(who, op.method, url, { body: op.method === 'DELETE' ? undefined : {}, headers: spec.headers });
        const refusedEmpty = Number(await sql(db, `SELECT count(*) FROM audit_log WHERE request_id = '${empty.requestId}' AND allowed = 0`));
        if (empty.r.status !== 403 || !(refusedEmpty > 0)) {
          wrong.push(`${op.id} as ${who} with an empty body: ${empty.r.status}, ${refusedEmpty} refusals recorded: ${empty.r.text.slice(0, 160)}`);
        }
      }
      if (![403, 404].includes(r.status)) {
        wrong.push(`${op.id} as ${who}: refused with ${r.status}, not 403 or 404: ${r.text.slice(0, 200)}`);
        continue;
      }
      const [refused, allowedEntries] = (await sql(db,
        `SELECT sum(allowed = 0), sum(allowed = 1) FROM audit_log WHERE request_id = '${requestId}'`)).split('|').map(Number);
      if (!(refused > 0)) wrong.push(`${op.id} as ${who}: the refusal (${r.status}) was not audited`);
      if (allowedEntries > 0) {
        const what = await sql(db, `SELECT group_concat(action) FROM audit_log WHERE request_id = '${requestId}' AND allowed = 1`);
        wrong.push(`${op.id} as ${who}: refused, yet the audit log allowed ${what}`);
      }
    }
  }
  assert.deepEqual(wrong, [], `${wrong.length} of ${cells} cells differ from the rules`);
});
