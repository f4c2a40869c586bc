// The authorisation matrix of the web pages: every route that needs signing in (read from the
// route table that `onedoor routes` prints), GET and POST, × every staff role of the demo's city
// agency × a caseworker of another agency (the harbour trust, which holds no consent or agreement
// for the city's client) × a person signed in to the portal, whose account is linked to that
// client. A route without a rule here fails the test: a new page cannot ship without saying who
// may use it.
//
// A GET the rules allow must answer 200 with HTML that has the Sign out button; any other cell must
// be refused (403, or 404 where the record is not the caller's to know of), never with the client's
// data, or sent away where the rule says so (staff opening a portal page go to their home page; the
// person opening the staff home page goes to their account). A POST is sent with the session's
// csrf_token and nothing else: an allowed cell must not be refused (it gets the form back with what
// is missing, or a redirect), a refused cell must be refused before the form is read, and nothing
// may be written: no audit entry that allows something carries the request's id and, where a rule
// names a count, the count is unchanged. Every 403 given to a signed-in caller leaves a
// 'request.refused' entry in the audit log, naming the caller and the route. Without a session
// every page sends the browser to sign in, and a form without its csrf_token is refused.
//
// Signing out, signing out everywhere else, changing one's password and unlinking a portal account
// end or change the sessions of the account, so they are tried last, each on a session of its own.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/authz_pages.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import {
  binary, hiddenCsrf, kPassword, linkedCitizen, login, onedoorEnv, prepareDatabase, request, serve, signedInCitizen,
  sql, Visitor,
} from './helpers.mjs';
import { CASEWORK, CLIENT, kWho } from './authz_columns.mjs';

const T = { timeout: 120_000 };
const run = promisify(execFile);

// The columns: the city's staff and the trust's caseworker (authz_columns.mjs), and `citizen`,
// the city's client, signed in to the portal.
const STAFF = Object.keys(kWho);
const ALL = [...STAFF, 'citizen'];
const MANAGERS = ['manager', 'admin'];
const METRICS = ['manager', 'auditor', 'admin', 'governance'];
const PORTAL = ['citizen'];
// Staff who open a portal page are sent to their home page.
const kStaffAway = Object.fromEntries(STAFF.map((w) => [w, '/']));

let server;
let db;
const who = {};  // role → {cookie, csrf, actor}
const api = {};  // role → an API client of the same account, for set-up
const ids = {};
let seq = 0;
// Each target has a value of its own: an agency has one target of each value.
let targets = 0;
let slotHour = 72;  // each fresh slot an hour after the one before, from three days ahead

async function sqlWrite(statement) {
  await run('sqlite3', ['-cmd', '.timeout 10000', db, statement], { timeout: 15_000 });
}

async function ok(r, status = [200, 201]) {
  assert.ok(status.includes(r.status), `set-up: ${r.status} ${r.text.slice(0, 300)}`);
  return r.body;
}

// Fresh records, for the forms that change or remove what they are sent for.
const fresh = {
  async slot() {
    const first = new Date(Date.now() + ++slotHour * 3600 * 1000);
    first.setUTCMinutes(0, 0, 0);
    const made = await ok(await api.manager.post(`/api/v1/queues/${ids.queue}/slots`,
      { first: first.toISOString().replace('.000Z', 'Z'), count: 1 }));
    return made.items[0].id;
  },
  async appointment(person) {
    const body = { slot_id: await fresh.slot(), contact: 'visitor@example.org' };
    if (person) body.person_id = person;
    return (await ok(await api.caseworker.post('/api/v1/appointments', body))).reference;
  },
  async target() {
    return (await ok(await api.manager.post(`/api/v1/agencies/${ids.agency}/service-targets`,
      { metric: 'satisfied_percent', comparison: 'at_least', value: 40 + (++targets) }))).id;
  },
  async outcome() {
    return (await ok(await api.governance.post('/api/v1/outcomes', { name: `Pages outcome ${++seq}` }))).id;
  },
  async indicator() {
    const o = await fresh.outcome();
    return (await ok(await api.governance.post(`/api/v1/outcomes/${o}/indicators`,
      { metric: 'satisfied_percent', comparison: 'at_least', target: 80 }))).id;
  },
  async contribution() {
    const o = await fresh.outcome();
    return (await ok(await api.manager.post(`/api/v1/outcomes/${o}/contributions`,
      { kind: 'program', ref: 'lifeline', how: 'A phone to find work.' }))).id;
  },
  // A staff account of the city's, for the forms that change or switch off the account they are
  // sent for.
  async staff() {
    const n = ++seq;
    return (await ok(await api.admin.post(`/api/v1/agencies/${ids.agency}/users`, {
      username: `pages.staff.${n}`, display_name: `Pages Staff ${n}`, password: 'a long harbour walk', roles: ['frontdesk'],
    }))).id;
  },
  async token() {
    return (await ok(await api.admin.post('/api/v1/tokens', { name: `Pages token ${++seq}`, roles: ['caseworker'], scopes: ['persons:read'] }))).id;
  },
  async member() {
    const team = (await ok(await api.manager.post('/api/v1/teams', { name: `Pages team ${++seq}`, tier: 'front_line' }))).id;
    await ok(await api.manager.post(`/api/v1/teams/${team}/members`, { user_id: ids.caseworkerUser }));
    return `/teams/${team}/members/${ids.caseworkerUser}/remove`;
  },
  async consent() {
    return (await ok(await api.caseworker.post(`/api/v1/persons/${ids.person}/consents`, {
      receiving_agency_id: ids.state, scope: 'partial', categories: ['identity', 'contact'], purpose: 'service_delivery',
      legal_basis: 'consent', how_to_withdraw: 'Tell any caseworker.', evidence: 'signed_form', document_ref: `P-${++seq}`,
    }))).id;
  },
};

// Whether a page shows the city's client: their name or their address.
const showsClient = (text) => text.includes('Mata Trix') || text.includes('Grid Road');

// 'METHOD pattern' → the rule. `allow`: who may use it. `url`: the address to ask, when the
// pattern alone does not say enough (a query), or a function that makes a fresh record for the
// cell. `away`: role → where a refusal may send the caller instead (a redirect). `leaks`: whether
// the page shows the city's client, which it must not to the trust's caseworker (and does to the
// city's own staff, so that the check is known to see it). `count`: a query whose answer a
// refused POST must leave unchanged. `answer`: role → where an allowed GET sends the caller
// instead of answering 200. `last`: sent at the end, each on a session of its own.
const kRules = {
  // Every signed-in user changes their own password, and signs out.
  'GET /account/password': { allow: ALL },
  'POST /account/password': { allow: ALL, last: 'it would change the password of the session' },
  'POST /logout': { allow: ALL, last: 'it ends the session' },
  // Every signed-in user sees where they are signed in and ends their other sessions (a session
  // that is not theirs is not found: tests/http/sessions.test.mjs).
  'GET /account/sessions': { allow: ALL },
  // Staff accounts: an agency's administrators only (docs/staff.md, "Staff accounts"); the
  // commands each on a fresh account of the city's.
  'GET /staff': { allow: ['admin'] },
  'GET /staff/new': { allow: ['admin'] },
  'POST /staff': { allow: ['admin'], count: 'SELECT count(*) FROM users' },
  'GET /staff/{id}': { allow: ['admin'] },
  'POST /staff/{id}/roles': { allow: ['admin'], url: async () => `/staff/${await fresh.staff()}/roles`, count: 'SELECT count(*) FROM user_roles' },
  'POST /staff/{id}/details': { allow: ['admin'], url: async () => `/staff/${await fresh.staff()}/details`, count: "SELECT count(*) FROM audit_log WHERE action = 'user.details_changed'" },
  'POST /staff/{id}/password': { allow: ['admin'], url: async () => `/staff/${await fresh.staff()}/password`, count: "SELECT count(*) FROM audit_log WHERE action = 'user.password_reset' AND allowed = 1" },
  'POST /staff/{id}/sign-out': { allow: ['admin'], url: async () => `/staff/${await fresh.staff()}/sign-out`, count: "SELECT count(*) FROM audit_log WHERE action = 'user.sessions_ended'" },
  'POST /staff/{id}/switch-off': { allow: ['admin'], url: async () => `/staff/${await fresh.staff()}/switch-off`, count: 'SELECT count(*) FROM users WHERE active = 0' },
  'GET /tokens': { allow: ['admin'] },
  'GET /tokens/new': { allow: ['admin'] },
  'POST /tokens': { allow: ['admin'], count: 'SELECT count(*) FROM api_tokens' },
  'GET /tokens/{id}/limit': { allow: ['admin'], url: async () => `/tokens/${await fresh.token()}/limit` },
  'POST /tokens/{id}/limit': { allow: ['admin'], url: async () => `/tokens/${await fresh.token()}/limit`, count: "SELECT count(*) FROM audit_log WHERE action = 'token.limit_changed'" },
  'POST /tokens/{id}/revoke': { allow: ['admin'], url: async () => `/tokens/${await fresh.token()}/revoke`, count: 'SELECT count(*) FROM api_tokens WHERE revoked_at IS NOT NULL' },
  'POST /staff/{id}/switch-on': { allow: ['admin'], url: async () => `/staff/${await fresh.staff()}/switch-on`, count: "SELECT count(*) FROM audit_log WHERE action = 'user.activated'" },
  'POST /account/sessions/{ref}/end': { allow: ALL },
  'POST /account/sessions/end-others': { allow: ALL, last: 'it would end the sessions the other cells use' },
  // The staff home page; a person is sent to their account.
  'GET /': { allow: STAFF, away: { citizen: '/portal' } },

  // Clients: the roles that work with client records; administrators, auditors and governance
  // staff do not open them (docs/staff.md). The trust's caseworker may search and register, and
  // must not find the city's client.
  'GET /clients': { allow: [...CLIENT, 'ngo'], url: () => '/clients?q=Trix',
    leaks: (text) => text.includes(`href="/clients/${ids.person}"`) },
  'GET /clients/new': { allow: [...CLIENT, 'ngo'],
    url: () => '/clients/new?check=1&given_name=Mata&family_name=Trix&birth_day=7&birth_month=7&birth_year=1970',
    leaks: (text) => text.includes(`href="/clients/${ids.person}"`) },
  'POST /clients': { allow: [...CLIENT, 'ngo'], count: 'SELECT count(*) FROM persons' },
  'GET /clients/{id}': { allow: CLIENT },
  'GET /clients/{id}/edit': { allow: CLIENT },
  'POST /clients/{id}/edit': { allow: CLIENT, count: 'SELECT count(*) FROM person_history' },
  // The change history is black-class: casework roles of the holding agency, not the front desk.
  'GET /clients/{id}/history': { allow: CASEWORK },
  'GET /clients/{id}/timeline': { allow: CLIENT },
  'POST /clients/{id}/documents': { allow: CLIENT, count: 'SELECT count(*) FROM documents' },
  // Emergency access is for casework roles, of any agency: the trust's caseworker is the one who
  // needs it here (the form without a reason comes back).
  'POST /clients/{id}/emergency': { allow: [...CASEWORK, 'ngo'], count: 'SELECT count(*) FROM break_glass_accesses' },
  'GET /households/{id}': { allow: CLIENT },
  // Who lives where is changed by the roles that work with client records, for the clients they see.
  'POST /households/{id}/members': { allow: CLIENT, count: 'SELECT count(*) FROM household_members' },
  'GET /households/{id}/members/{person}/end': { allow: CLIENT },
  'POST /households/{id}/members/{person}/end': { allow: CLIENT, count: 'SELECT count(*) FROM household_members WHERE end_date IS NULL' },
  'GET /households/{id}/members/{person}/remove': { allow: CLIENT },
  'POST /households/{id}/members/{person}/remove': { allow: CLIENT, count: 'SELECT count(*) FROM household_members' },
  'GET /clients/{id}/household/new': { allow: CLIENT },
  'POST /clients/{id}/household/new': { allow: CLIENT, count: 'SELECT count(*) FROM households' },
  // Possible duplicates: casework roles; the trust's list holds only pairs of its own records.
  'GET /reviews': { allow: [...CASEWORK, 'ngo'], leaks: (text) => text.includes(`href="/reviews/${ids.review}"`) },
  'GET /reviews/{id}': { allow: CASEWORK },
  'POST /reviews/{id}': { allow: CASEWORK, count: "SELECT count(*) FROM match_reviews WHERE state <> 'pending'" },
  // Screening with no household is a calculator that names no one; a household's is the household's data.
  'GET /screening': { allow: CLIENT, url: () => `/screening?household=${ids.household}` },
  'POST /screening': { allow: STAFF, count: 'SELECT count(*) FROM screenings' },
  'GET /screenings/{id}': { allow: CLIENT },
  'GET /consents/{id}/receipt': { allow: CASEWORK },
  // Consent is recorded and withdrawn by casework roles (docs/staff.md, "Consents and their receipts").
  'POST /consents/{id}/withdraw': { allow: CASEWORK, count: 'SELECT count(*) FROM consent_events' },
  'GET /clients/{id}/consents/new': { allow: CASEWORK },
  'POST /clients/{id}/consents/new': { allow: CASEWORK, count: 'SELECT count(*) FROM consents' },

  // Sharing agreements: managers propose for their own agency, governance users decide.
  'GET /agreements/new': { allow: ['manager', 'governance'] },
  'POST /agreements/new': { allow: ['manager', 'governance'], count: 'SELECT count(*) FROM sharing_agreements' },
  // The audit log is searched by the agency's auditors only.
  'GET /audit': { allow: ['auditor'] },
  'GET /audit/export.csv': { allow: ['auditor'], csv: true },
  'GET /governance/agreements': { allow: ['governance'] },
  'POST /governance/agreements/{id}': { allow: ['governance'], count: 'SELECT count(*) FROM sharing_agreement_events' },
  // Emergency accesses are reviewed by managers and auditors (their agency's) and governance.
  'GET /break-glass': { allow: ['manager', 'auditor', 'governance'] },
  'POST /break-glass/{id}/review': { allow: ['manager', 'auditor', 'governance'],
    count: "SELECT count(*) FROM break_glass_accesses WHERE state <> 'pending'" },

  // Referrals and cases: casework roles; the city sent the referral and coordinates the case.
  'GET /referrals': { allow: [...CASEWORK, 'ngo'], url: () => '/referrals?box=sent', leaks: showsClient },
  'GET /referrals/new': { allow: CASEWORK, url: () => `/referrals/new?person=${ids.person}` },
  'POST /referrals/new': { allow: [...CASEWORK, 'ngo'], count: 'SELECT count(*) FROM referrals' },
  'GET /referrals/{id}': { allow: CASEWORK },
  'POST /referrals/{id}': { allow: CASEWORK, count: 'SELECT count(*) FROM referral_events' },
  'GET /cases': { allow: [...CASEWORK, 'ngo'], leaks: showsClient },
  'GET /cases/new': { allow: ['coordinator', 'manager'], url: () => `/cases/new?person=${ids.person}` },
  'POST /cases/new': { allow: ['coordinator', 'manager'], count: 'SELECT count(*) FROM cases' },
  'GET /cases/{id}': { allow: CASEWORK },
  'POST /cases/{id}': { allow: CASEWORK, count: 'SELECT count(*) FROM case_events' },
  // Applications: made by the roles that work with clients, decided by casework roles. The list
  // of parts to decide is each agency's own, as in the API.
  'GET /applications': { allow: [...CLIENT, 'ngo'], leaks: showsClient },
  'POST /applications/new': { allow: [...CLIENT, 'ngo'], count: 'SELECT count(*) FROM applications' },
  'GET /applications/{id}': { allow: CLIENT },
  'POST /applications/{id}': { allow: CASEWORK, count: "SELECT count(*) FROM application_parts WHERE state <> 'pending'" },

  // Work queues: the roles that work with clients, each agency its own; teams are set up by
  // managers and administrators, and any member of staff sees their agency's teams (as in the API).
  'GET /work': { allow: [...CLIENT, 'ngo'], leaks: (text) => text.includes(`href="/applications/${ids.application}"`) },
  'POST /work/{id}': { allow: CLIENT, count: 'SELECT count(*) FROM work_events' },
  'GET /teams': { allow: STAFF },
  'POST /teams': { allow: MANAGERS, count: 'SELECT count(*) FROM teams' },
  'POST /teams/{id}/members': { allow: MANAGERS, count: 'SELECT count(*) FROM team_members' },
  'POST /teams/{id}/members/{user_id}/remove': { allow: MANAGERS, url: () => fresh.member(),
    count: 'SELECT count(*) FROM team_members' },
  'POST /teams/joint': { allow: MANAGERS, count: 'SELECT count(*) FROM team_agencies' },
  'POST /teams/{id}/leave': { allow: MANAGERS, count: 'SELECT count(*) FROM team_agencies' },

  // Contacts, the desk and offices: the roles that work with clients, at their own agency's offices;
  // administrators set offices up and see and cancel the day's appointments, and do not book.
  'POST /clients/{id}/contacts': { allow: CLIENT, count: 'SELECT count(*) FROM interactions' },
  'GET /contacts': { allow: [...CLIENT, 'ngo'], leaks: (text) => text.includes('Matrix rent arrears') },
  'POST /contacts': { allow: [...CLIENT, 'ngo'], count: 'SELECT count(*) FROM interactions' },
  'GET /desk': { allow: [...CLIENT, 'ngo'] },
  'POST /desk': { allow: [...CLIENT, 'ngo'], count: 'SELECT count(*) FROM tickets' },
  'GET /offices': { allow: [...CLIENT, 'admin', 'ngo'] },
  'GET /offices/{id}': { allow: [...CLIENT, 'admin'] },
  'POST /offices/{id}/hours': { allow: MANAGERS, count: 'SELECT count(*) FROM office_hours' },
  'POST /offices/{id}/queues': { allow: MANAGERS, count: 'SELECT count(*) FROM queues' },
  'POST /offices/{id}/counters': { allow: MANAGERS, count: 'SELECT count(*) FROM counters' },
  'POST /offices/{id}/slots': { allow: MANAGERS, count: 'SELECT count(*) FROM appointment_slots' },
  'GET /offices/{id}/appointments': { allow: [...CLIENT, 'admin'] },
  'POST /offices/{id}/appointments/{reference}/cancel': { allow: [...CLIENT, 'admin'],
    url: async () => `/offices/${ids.office}/appointments/${await fresh.appointment()}/cancel`,
    count: "SELECT count(*) FROM appointments WHERE state = 'cancelled'" },
  'GET /appointments/book': { allow: CLIENT, url: () => `/appointments/book?slot=${ids.slot}` },
  'POST /appointments/book': { allow: [...CLIENT, 'ngo'], count: 'SELECT count(*) FROM appointments' },

  // Performance: the agency's managers, administrators and auditors, and governance; targets are
  // set by managers, administrators and governance; the outcomes framework is read by all staff,
  // defined by governance, and an agency's work is mapped by its managers and administrators.
  'GET /performance': { allow: METRICS },
  'GET /performance/scorecard': { allow: METRICS },
  'POST /performance/targets': { allow: ['manager', 'admin', 'governance'], count: 'SELECT count(*) FROM service_targets' },
  'POST /performance/targets/{id}/remove': { allow: ['manager', 'admin', 'governance'],
    url: async () => `/performance/targets/${await fresh.target()}/remove`, count: 'SELECT count(*) FROM service_targets' },
  'GET /performance/outcomes': { allow: STAFF },
  'POST /performance/outcomes': { allow: ['governance'], count: 'SELECT count(*) FROM outcomes' },
  'POST /performance/outcomes/{id}/remove': { allow: ['governance'],
    url: async () => `/performance/outcomes/${await fresh.outcome()}/remove`, count: 'SELECT count(*) FROM outcomes' },
  'POST /performance/outcome-indicators': { allow: ['governance'], count: 'SELECT count(*) FROM outcome_indicators' },
  'POST /performance/outcome-indicators/{id}/remove': { allow: ['governance'],
    url: async () => `/performance/outcome-indicators/${await fresh.indicator()}/remove`,
    count: 'SELECT count(*) FROM outcome_indicators' },
  'POST /performance/outcome-contributions': { allow: ['manager', 'admin', 'governance'],
    count: 'SELECT count(*) FROM outcome_contributions' },
  'POST /performance/outcome-contributions/{id}/remove': { allow: ['manager', 'admin', 'governance'],
    url: async () => `/performance/outcome-contributions/${await fresh.contribution()}/remove`,
    count: 'SELECT count(*) FROM outcome_contributions' },
  'GET /performance/outcomes/agency': { allow: METRICS },
  // Diagnostics: saved by governance, managers and administrators; auditors read the saved ones.
  'GET /performance/diagnostics': { allow: METRICS },
  'GET /performance/diagnostics/new': { allow: ['manager', 'admin', 'governance'] },
  'POST /performance/diagnostics': { allow: ['manager', 'admin', 'governance'], count: 'SELECT count(*) FROM diagnostics' },
  'GET /performance/diagnostics/compare': { allow: METRICS, url: () => `/performance/diagnostics/compare?a=${ids.diagnostic}&b=${ids.diagnostic2}` },
  'GET /performance/diagnostics/{id}': { allow: METRICS },

  // The portal: the person's own pages. Staff are sent home from its pages and refused its forms.
  'GET /portal': { allow: PORTAL, away: kStaffAway },
  'POST /portal/link-code': { allow: PORTAL },
  'POST /portal/consents/{id}/withdraw': { allow: PORTAL, url: async () => `/portal/consents/${await fresh.consent()}/withdraw`,
    count: 'SELECT count(*) FROM consent_events' },
  'POST /portal/address': { allow: PORTAL, count: 'SELECT count(*) FROM person_history' },
  'POST /portal/preferred-language': { allow: PORTAL, count: 'SELECT count(*) FROM person_history' },
  'POST /portal/phone': { allow: PORTAL, count: 'SELECT count(*) FROM person_history' },
  'POST /portal/email': { allow: PORTAL, count: 'SELECT count(*) FROM person_history' },
  'POST /portal/representatives': { allow: PORTAL, count: 'SELECT count(*) FROM representatives' },
  'POST /portal/representatives/{id}/end': { allow: PORTAL, count: "SELECT count(*) FROM representatives WHERE ended_at IS NOT NULL" },
  'POST /portal/act-for': { allow: PORTAL },
  'POST /portal/unlink': { allow: PORTAL, last: 'it unlinks the account the matrix signs in with' },
  'GET /portal/check': { allow: PORTAL, away: kStaffAway },
  'POST /portal/check': { allow: PORTAL },
  'GET /portal/screenings/{id}': { allow: PORTAL, away: kStaffAway },
  'POST /portal/screenings/{id}/apply': { allow: PORTAL, count: 'SELECT count(*) FROM applications' },
  'GET /portal/applications': { allow: PORTAL, away: kStaffAway },
  'POST /portal/applications/{id}/documents': { allow: PORTAL, count: 'SELECT count(*) FROM documents' },
  'GET /portal/applications/{id}': { allow: PORTAL, away: kStaffAway },
  'POST /portal/applications/{id}/parts/{part}/answer': { allow: PORTAL,
    count: "SELECT count(*) FROM application_parts WHERE answer <> ''" },
  'GET /portal/appointments': { allow: PORTAL, away: kStaffAway },
  'POST /portal/appointments': { allow: PORTAL, count: 'SELECT count(*) FROM appointments' },
  'GET /portal/appointments/{reference}/move': { allow: PORTAL, away: kStaffAway },
  'POST /portal/appointments/{reference}/move': { allow: PORTAL, count: 'SELECT count(*) FROM appointments' },
  'POST /portal/appointments/{reference}/cancel': { allow: PORTAL,
    url: async () => `/portal/appointments/${await fresh.appointment(ids.person)}/cancel`,
    count: "SELECT count(*) FROM appointments WHERE state = 'cancelled'" },
  // An account already linked has no record to ask for: it is sent to its account.
  'GET /portal/find-my-record': { allow: PORTAL, away: kStaffAway, answer: { citizen: '/portal' } },
  'POST /portal/find-my-record': { allow: PORTAL, count: 'SELECT count(*) FROM portal_link_requests' },
  'GET /portal/consents/new': { allow: PORTAL, away: kStaffAway },
  'POST /portal/consents/new': { allow: PORTAL, count: 'SELECT count(*) FROM consents' },
  // Linking a portal account to a record: the roles that work with clients, who may see the person;
  // requests to be found wait for any agency's staff who link at a desk.
  'POST /clients/{id}/portal-link': { allow: CLIENT },
  'GET /portal-links': { allow: [...CLIENT, 'ngo'] },
  'GET /portal-links/{id}': { allow: [...CLIENT, 'ngo'] },
  'POST /portal-links/{id}': { allow: [...CLIENT, 'ngo'], count: "SELECT count(*) FROM portal_link_requests WHERE state <> 'waiting'" },
};

before(async () => {
  const prepared = await prepareDatabase({ people: 6, prefix: 'onedoor-pages-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  for (const [key, [user, purpose]] of Object.entries(kWho)) {
    api[key] = await login(server.url, user, { purpose });
    who[key] = { cookie: api[key].auth.cookie, csrf: api[key].auth.csrf, actor: user };
  }
  // The records the pages are about, all held by the city, as in the API's matrix.
  const cw = api.caseworker;
  const p = await ok(await cw.post('/api/v1/persons', {
    names: [{ use: 'official', given: 'Mata', family: 'Trix' }], birth_date: '1970-07-07',
    addresses: [{ use: 'home', line1: '1 Grid Road', city: 'Riverside', postcode: '1001' }],
  }), [201]);
  ids.person = p.id;
  ids.household = (await ok(await cw.post('/api/v1/households', { name: 'The Trix household' }), [201])).id;
  await ok(await cw.post(`/api/v1/households/${ids.household}/members`,
    { person_id: ids.person, relationship: 'head', since: '2020-01-01' }));
  const eligibility = await login(server.url, 'caseworker.city', { purpose: 'eligibility' });
  ids.screening = (await ok(await eligibility.post('/api/v1/screenings', {
    household_id: ids.household,
    inputs: { earned_income: '1000', unearned_income: 0, shelter_costs: '500', has_elderly_or_disabled_member: false, countable_assets: '0' },
  }), [201])).id;
  // SNAP is decided by the state agency, Lifeline by the city: the city has a part to decide.
  const applied = await ok(await eligibility.post('/api/v1/applications',
    { screening_id: ids.screening, applicant_id: ids.person, programs: ['snap', 'lifeline'] }), [201]);
  ids.application = applied.id;
  ids.part = applied.parts[0].id;
  await ok(await cw.req('POST', `/api/v1/persons/${ids.person}/documents?kind=payslip&category=income&file_name=p.pdf`,
    { body: '%PDF-1.4\nmatrix\n%%EOF\n', headers: { 'Content-Type': 'application/pdf' } }), [201]);
  ids.state = Number(await sql(db, "SELECT id FROM agencies WHERE code = 'state-benefits'"));
  ids.agency = Number(await sql(db, "SELECT id FROM agencies WHERE code = 'city-social'"));
  ids.consent = await fresh.consent();
  const ref = await ok(await cw.post('/api/v1/referrals', { person_id: ids.person, to_agency_id: ids.state, urgency: 'routine',
    message: 'Needs help with rent.', consent_id: ids.consent }), [201]);
  ids.referral = ref.id;
  ids.case = (await ok(await api.coordinator.post('/api/v1/cases',
    { person_id: ids.person, title: 'Trix family support', criteria: 'Needs from three agencies.' }), [201])).id;
  await ok(await cw.post('/api/v1/interactions',
    { person_id: ids.person, channel: 'desk', topic: 'Matrix rent arrears', outcome: 'resolved' }), [201]);
  ids.office = Number(await sql(db, `SELECT min(id) FROM offices WHERE agency_id = ${ids.agency}`));
  ids.queue = Number(await sql(db, `SELECT min(id) FROM queues WHERE office_id = ${ids.office}`));
  ids.slot = await fresh.slot();
  ids.appointment = await fresh.appointment(ids.person);
  ids.agreement = Number(await sql(db, 'SELECT min(id) FROM sharing_agreements'));
  ids.diagnostic = Number(await sql(db, 'SELECT min(id) FROM diagnostics'));
  ids.diagnostic2 = Number(await sql(db, 'SELECT max(id) FROM diagnostics'));
  ids.team = Number(await sql(db, `SELECT min(id) FROM teams WHERE agency_id = ${ids.agency}`));
  ids.caseworkerUser = Number(await sql(db, "SELECT id FROM users WHERE username = 'caseworker.city'"));
  ids.work = Number(await sql(db, `SELECT min(id) FROM work_items WHERE agency_id = ${ids.agency}`));
  assert.ok(ids.work > 0, 'the city has a part of the application to decide, as work');
  ids.target = await fresh.target();
  ids.outcome = await fresh.outcome();
  ids.indicator = await fresh.indicator();
  ids.contribution = await fresh.contribution();
  // A pair of the city's records waiting for review.
  const a = Number(await sql(db, `SELECT min(id) FROM source_records WHERE agency_id = ${ids.agency}`));
  const b = Number(await sql(db, `SELECT max(id) FROM source_records WHERE agency_id = ${ids.agency}`));
  await sqlWrite(`INSERT INTO match_reviews (record_a, record_b, weight, probability, explanation, state, created_at) VALUES (${a}, ${b}, 5, 0.7, '{"prior_weight":-10,"fields":[]}', 'pending', 0)`);
  ids.review = Number(await sql(db, 'SELECT max(id) FROM match_reviews'));
  // A client of the trust, opened in an emergency by the city's caseworker: waiting for review.
  const held = await ok(await api.ngo.post('/api/v1/persons',
    { names: [{ use: 'official', given: 'Glas', family: 'Brek' }], birth_date: '1981-01-01' }), [201]);
  await ok(await cw.get(`/api/v1/persons/${held.id}`, { headers: { 'X-Break-Glass': 'Found unwell at the drop-in; need her contacts now' } }));
  ids.glass = Number(await sql(db, `SELECT max(id) FROM break_glass_accesses WHERE person_id = ${held.id}`));
  // The person, with a portal account linked to the city's client; another asks to be found,
  // and is named as the person's representative.
  const citizen = await linkedCitizen(server.url, db, ids.person, { name: 'Mata Trix', email: 'mata.trix@example.org' });
  const home = await citizen.go('GET', '/portal');
  who.citizen = {
    cookie: [...citizen.cookies].map(([k, v]) => `${k}=${v}`).join('; '), csrf: hiddenCsrf(home.text),
    actor: await sql(db, "SELECT username FROM users WHERE email = 'mata.trix@example.org'"),
  };
  const seeker = await signedInCitizen(server.url, db, { name: 'Seek Er', email: 'seek.er@example.org' });
  const page = await seeker.go('GET', '/portal/find-my-record');
  assert.equal((await seeker.go('POST', '/portal/find-my-record', { csrf_token: hiddenCsrf(page.text), given: 'Seek',
    family: 'Er', dob_day: '1', dob_month: '2', dob_year: '1990' })).status, 303);
  ids.link = Number(await sql(db, 'SELECT max(id) FROM portal_link_requests'));
  assert.equal((await citizen.go('POST', '/portal/representatives', [['csrf_token', who.citizen.csrf],
    ['rep_email', 'seek.er@example.org'], ['relationship', 'friend'], ['scopes', 'contact']])).status, 303);
  ids.representative = Number(await sql(db, 'SELECT max(id) FROM representatives'));
});

after(async () => {
  await server?.stop();
});

// The route table, as the binary prints it.
async function routeTable() {
  const { stdout } = await run(binary, ['routes'], { env: { ...process.env, ...onedoorEnv(db) }, timeout: 30_000 });
  return stdout.trim().split('\n').map((line) => JSON.parse(line));
}

// The pattern with its parameters filled from the records made in `before`.
function fill(pattern) {
  const byPath = [
    ['/clients/', ids.person], ['/households/', ids.household], ['/reviews/', ids.review],
    ['/screenings/', ids.screening], ['/governance/agreements/', ids.agreement], ['/break-glass/', ids.glass],
    ['/consents/', ids.consent], ['/referrals/', ids.referral], ['/cases/', ids.case],
    ['/applications/', ids.application], ['/teams/', ids.team], ['/work/', ids.work], ['/offices/', ids.office],
    ['/performance/diagnostics/', ids.diagnostic], ['/performance/targets/', ids.target],
    ['/performance/outcomes/', ids.outcome], ['/performance/outcome-indicators/', ids.indicator],
    ['/performance/outcome-contributions/', ids.contribution], ['/portal/consents/', ids.consent],
    ['/portal/representatives/', ids.representative], ['/portal/screenings/', ids.screening],
    ['/portal/applications/', ids.application], ['/portal-links/', ids.link], ['/staff/', ids.caseworkerUser], ['/tokens/', 1],
  ];
  const other = { reference: ids.appointment, part: ids.part, user_id: ids.caseworkerUser, ref: '0123456789abcdef', person: ids.person };
  return pattern.replace(/\{([a-z_]+)\}/g, (_, name) => {
    const value = name === 'id' ? byPath.find(([prefix]) => pattern.startsWith(prefix))?.[1] : other[name];
    assert.ok(value !== undefined, `no value to fill {${name}} of ${pattern}`);
    return String(value);
  });
}

// One request on the session `as` ({cookie, csrf}), with a request id of its own.
async function send(as, method, url, form) {
  const requestId = `pages-${process.pid}-${++seq}`;
  const headers = { Cookie: as.cookie, 'X-Request-Id': requestId };
  let body;
  if (form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const r = await request(server.url, method, url, { headers, body });
  return { ...r, requestId };
}

// Pages without the header and its Sign out button (none today; a screen's or a printer's page
// would be named here).
const kNoHeader = new Set([]);
const isHtml = (r) => (r.headers.get('content-type') ?? '').startsWith('text/html');
// What a page said, for a failure's message: its heading and first paragraph.
const gist = (r) => [/<h1[^>]*>([^<]*)</, /<p class="govuk-body">([^<]*)</]
  .map((re) => re.exec(r.text)?.[1]?.trim()).filter(Boolean).join(': ').slice(0, 200);

test('every page has a rule, and each role gets exactly what the rule allows', T, async () => {
  const routes = (await routeTable()).filter((r) => r.auth === 'page');
  assert.ok(routes.length >= 100, `${routes.length} page routes`);
  const keys = routes.map((r) => `${r.method} ${r.pattern}`);
  assert.deepEqual(keys.filter((k) => !kRules[k]), [], 'page routes without an authorisation rule in this test');
  assert.deepEqual(Object.keys(kRules).filter((k) => !keys.includes(k)), [], 'rules for routes that do not exist');

  const wrong = [];
  const refusals = [];  // {requestId, actor, route, cell}: each must be in the audit log
  const seenByCity = new Set();  // routes whose leak check saw the client on a city role's page
  const refusedIds = new Map();  // request id → cell, of refused cells: none may have written an allowed audit entry
  let cells = 0;
  for (const route of routes) {
    const key = `${route.method} ${route.pattern}`;
    const rule = kRules[key];
    if (rule.last) continue;
    // Without a session, every page sends the browser to sign in: a portal page to the portal's.
    const anonymous = await request(server.url, route.method, fill(route.pattern));
    const signIn = route.pattern === '/portal' || route.pattern.startsWith('/portal/') ? '/portal/sign-in?next=' : '/login?next=';
    if (anonymous.status !== 303 || !(anonymous.headers.get('location') ?? '').startsWith(signIn)) {
      wrong.push(`${key} without a session: ${anonymous.status} ${anonymous.headers.get('location') ?? ''}`);
    }
    // The refused first, so that a form that removes its record leaves it for them.
    const order = [...ALL.filter((w) => !rule.allow.includes(w)), ...ALL.filter((w) => rule.allow.includes(w))];
    for (const role of order) {
      ++cells;
      const cell = `${key} as ${role}`;
      const allowed = rule.allow.includes(role);
      const url = rule.url ? await rule.url(role) : fill(route.pattern);
      const before = !allowed && rule.count ? await sql(db, rule.count) : null;
      const r = route.method === 'GET'
        ? await send(who[role], 'GET', url)
        : await send(who[role], 'POST', url, { csrf_token: who[role].csrf });
      const location = r.headers.get('location') ?? '';
      if (allowed && route.method === 'GET') {
        if (rule.answer?.[role]) {
          if (r.status !== 303 || location !== rule.answer[role]) wrong.push(`${cell}: expected 303 to ${rule.answer[role]}, got ${r.status} ${location}`);
        } else if (rule.csv) {
          // A download: the file, not a page.
          if (r.status !== 200 || !/^text\/csv/.test(r.headers.get('content-type') ?? '')) {
            wrong.push(`${cell}: expected 200 with CSV, got ${r.status} ${gist(r)}`);
          }
        } else if (r.status !== 200 || !isHtml(r)) {
          wrong.push(`${cell}: expected 200 with HTML, got ${r.status} ${gist(r)}`);
        } else if (!kNoHeader.has(key) && !/<form method="post" action="\/logout"/.test(r.text)) {
          wrong.push(`${cell}: the page has no Sign out button`);
        } else if (rule.leaks && role === 'ngo' && rule.leaks(r.text)) {
          wrong.push(`${cell}: the page shows the city's client`);
        } else if (rule.leaks && role !== 'ngo' && rule.leaks(r.text)) {
          seenByCity.add(key);
        }
        continue;
      }
      if (allowed) {
        if (r.status === 403 || r.status >= 500) wrong.push(`${cell}: expected the form's answer, got ${r.status} ${gist(r)}`);
        continue;
      }
      // A refusal: 403, 404, or a redirect the rule names; never the client's data.
      refusedIds.set(r.requestId, cell);
      if (rule.away?.[role]) {
        if (r.status !== 303 || location !== rule.away[role]) wrong.push(`${cell}: expected 303 to ${rule.away[role]}, got ${r.status} ${location}`);
      } else if (![403, 404].includes(r.status)) {
        wrong.push(`${cell}: expected a refusal, got ${r.status} ${location} ${gist(r)}`);
      }
      // (The person's own pages carry their name in the header.)
      if (role !== 'citizen' && showsClient(r.text)) wrong.push(`${cell}: the refusal shows the city's client`);
      if ([403, 404].includes(r.status)) refusals.push({ requestId: r.requestId, actor: who[role].actor, route: key, cell, status: r.status });
      if (before !== null) {
        const now = await sql(db, rule.count);
        if (now !== before) wrong.push(`${cell}: refused, and ${rule.count} went from ${before} to ${now}`);
      }
    }
  }

  for (const key of Object.keys(kRules).filter((k) => kRules[k].leaks && !seenByCity.has(k))) {
    wrong.push(`${key}: no page of the city's staff shows the client, so the trust's page proves nothing`);
  }

  // Each 403 or 404 left its refusal in the audit log, and no refused request was let through anywhere.
  const rows = (await sql(db, `SELECT request_id, actor, record_id FROM audit_log WHERE action = 'request.refused' AND allowed = 0 AND request_id LIKE 'pages-${process.pid}-%'`))
    .split('\n').filter(Boolean).map((line) => line.split('|'));
  const logged = new Set(rows.map(([id, actor, route]) => `${id}|${actor}|${route}`));
  for (const f of refusals) {
    if (!logged.has(`${f.requestId}|${f.actor}|${f.route}`)) wrong.push(`${f.cell}: the ${f.status} left no 'request.refused' entry`);
  }
  const letThrough = (await sql(db, `SELECT DISTINCT request_id FROM audit_log WHERE allowed = 1 AND request_id LIKE 'pages-${process.pid}-%'`))
    .split('\n').filter(Boolean);
  for (const id of letThrough.filter((i) => refusedIds.has(i))) wrong.push(`${refusedIds.get(id)}: refused, and audited as allowed`);

  assert.deepEqual(wrong, [], `${wrong.length} of ${cells} cells differ from the rules`);
  assert.ok(cells >= (routes.length - 4) * ALL.length);
});

test('a form without its csrf_token is refused, recorded, and writes nothing', T, async () => {
  for (const [url, table] of [['/clients', 'persons'], ['/teams', 'teams']]) {
    const before = await sql(db, `SELECT count(*) FROM ${table}`);
    const r = await send(who.manager, 'POST', url, { name: 'No token', family_name: 'Token' });
    assert.equal(r.status, 403, `POST ${url} without csrf_token: ${r.status}`);
    assert.equal(await sql(db, `SELECT count(*) FROM ${table}`), before);
    assert.equal(await sql(db, `SELECT count(*) FROM audit_log WHERE action = 'request.refused' AND allowed = 0 AND actor = 'manager.city' AND request_id = '${r.requestId}' AND record_id = 'POST ${url}'`), '1');
  }
});

// Last, each on a session of its own: the forms that end or change the session they come with, or
// end the other sessions of the account.
// An allowed cell is not refused (an empty password form comes back with what is missing, and the
// password stays as it was); a refused one is a 403, recorded in the audit log.
test('signing out everywhere else, signing out, changing the password and unlinking the portal account, on sessions of their own', T, async () => {
  const kLast = ['POST /account/sessions/end-others', 'POST /portal/unlink', 'POST /account/password', 'POST /logout'];
  assert.deepEqual(Object.keys(kRules).filter((k) => kRules[k].last).sort(), [...kLast].sort());
  const sessions = {};
  for (const [key, [user, purpose]] of Object.entries(kWho)) {
    const c = await login(server.url, user, { purpose });
    sessions[key] = { cookie: c.auth.cookie, csrf: c.auth.csrf, actor: user };
  }
  const person = new Visitor(server.url);
  const signed = await person.submit('/portal/sign-in', '/portal/sign-in', { email: 'mata.trix@example.org', password: 'correct horse battery' });
  assert.equal(signed.status, 303, signed.text.slice(0, 200));
  const home = await person.go('GET', '/portal');
  sessions.citizen = { cookie: [...person.cookies].map(([k, v]) => `${k}=${v}`).join('; '), csrf: hiddenCsrf(home.text), actor: who.citizen.actor };

  const wrong = [];
  for (const role of ALL) {
    const s = sessions[role];
    for (const key of kLast) {
      const r = await send(s, 'POST', key.slice('POST '.length), { csrf_token: s.csrf });
      if (kRules[key].allow.includes(role)) {
        if (r.status === 403 || r.status >= 500) wrong.push(`${key} as ${role}: refused with ${r.status}`);
      } else if (r.status !== 403) {
        wrong.push(`${key} as ${role}: expected 403, got ${r.status}`);
      } else if (await sql(db, `SELECT count(*) FROM audit_log WHERE action = 'request.refused' AND allowed = 0 AND request_id = '${r.requestId}' AND actor = '${s.actor}' AND record_id = '${key}'`) !== '1') {
        wrong.push(`${key} as ${role}: the 403 left no 'request.refused' entry`);
      }
    }
    // Signed out: the same cookie no longer opens a page.
    const after = await send(s, 'GET', '/account/password');
    if (after.status !== 303 || !(after.headers.get('location') ?? '').startsWith('/login')) {
      wrong.push(`after POST /logout as ${role}: the session still opens a page (${after.status})`);
    }
  }
  assert.deepEqual(wrong, []);
  // The person's account is linked no more; every member of staff still signs in with their password.
  assert.equal(await sql(db, "SELECT count(*) FROM users WHERE email = 'mata.trix@example.org' AND person_id IS NOT NULL"), '0');
  for (const [user, purpose] of Object.values(kWho)) await login(server.url, user, { purpose, password: kPassword });
});
