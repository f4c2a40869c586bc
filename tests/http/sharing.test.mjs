// Data categories and sharing agreements end to end: the categories of the deployment, the
// demo agreements, proposals (a black category refused), the two-approver rule for grey data,
// refusal and revocation with reasons, 403 for anyone but a governance user (audited), 409
// for a decision the state does not allow, and the public register read without signing in.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/sharing.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import {
  assertProblem, binary, issueToken, login, onedoorEnv, prepareDatabase, repoRoot, request, serve, sql,
} from './helpers.mjs';

const run = promisify(execFile);

const T = { timeout: 60_000 };

let server;
let db;
let gus;       // governance.health
let greta;     // governance.city
let manager;   // manager.city
let managerState;  // manager.state
let caseworker;
let admin;
let dir;
const agency = {};

before(async () => {
  const prepared = await prepareDatabase({ people: 6, prefix: 'onedoor-sharing-' });
  db = prepared.db;
  dir = prepared.dir;
  server = await serve(db, { logDir: prepared.dir });
  gus = await login(server.url, 'governance.health');
  greta = await login(server.url, 'governance.city');
  manager = await login(server.url, 'manager.city');
  managerState = await login(server.url, 'manager.state');
  caseworker = await login(server.url, 'caseworker.city');
  admin = await login(server.url, 'admin.city');
  for (const code of ['city-social', 'state-benefits', 'health-authority', 'harbour-trust']) {
    agency[code] = Number(await sql(db, `SELECT id FROM agencies WHERE code = '${code}'`));
  }
});

after(async () => {
  await server?.stop();
});

const count = async (where) => Number(await sql(db, `SELECT count(*) FROM ${where}`));

function proposal(overrides = {}) {
  return {
    receiving_agency_id: agency['city-social'],
    category: 'identity',
    purpose: 'case_work',
    legal_basis: 'GDPR art. 6(1)(e); Social Services Act s.12',
    description: 'To coordinate support for shared clients.',
    ...overrides,
  };
}

test('the data categories of the deployment, each field in one', T, async () => {
  const r = await caseworker.get('/api/v1/data-categories');
  assert.equal(r.status, 200, r.text);
  const byId = Object.fromEntries(r.body.items.map((c) => [c.id, c]));
  assert.deepEqual(Object.keys(byId), ['identity', 'contact', 'needs', 'household', 'housing', 'income', 'assets',
    'health', 'disability', 'justice', 'child_protection', 'contacts', 'case_notes']);
  assert.equal(byId.income.sharing_class, 'grey');
  assert.equal(byId.contact.sharing_class, 'white');
  assert.equal(byId.child_protection.sharing_class, 'black');
  assert.ok(byId.contact.fields.includes('person.addresses'));
  assert.equal(r.body.fields.person.addresses, 'contact');
  assert.equal(r.body.fields.records.screening, 'income');
  assert.equal(r.body.fields.records.history, 'case_notes');
  assert.equal(Object.keys(r.body.fields.person).length, 11);
  assert.equal(r.body.fields.person.death_date, 'identity');
  assert.equal(Object.keys(r.body.fields.records).length, 5);
  assert.equal(r.body.fields.records.interaction, 'contacts');
  assertProblem(await request(server.url, 'GET', '/api/v1/data-categories'), 401);
});

test('the demo agreements are listed and filtered', T, async () => {
  const all = await caseworker.get('/api/v1/sharing-agreements');
  assert.equal(all.status, 200, all.text);
  // Five agreements of their own, and the consortium's common ground: identity at the front
  // desk and in service delivery, and contact details in service delivery, for every agency.
  assert.equal(all.body.items.length, 16);
  assert.equal(all.body.items.filter((a) => a.legal_basis.includes('Consortium Partnership Agreement')).length, 11);
  assert.equal(all.body.next, null);
  const income = all.body.items.find((a) => a.category === 'income');
  assert.equal(income.state, 'approved');
  assert.equal(income.sharing_class, 'grey');
  assert.equal(income.approvals, 2);
  assert.deepEqual(income.events.filter((e) => e.action === 'approved').map((e) => e.actor),
    ['governance.health', 'governance.city']);
  assert.equal(income.receiving_agency.code, 'state-benefits');
  assert.equal(income.in_force, true);
  assert.equal(income.holding, 'any');
  const inForce = await caseworker.get('/api/v1/sharing-agreements?state=in_force');
  assert.deepEqual(inForce.body.items.map((a) => a.category).slice(0, 3), ['contact', 'income', 'needs']);
  assert.equal(inForce.body.items.length, 14);
  const proposed = await caseworker.get('/api/v1/sharing-agreements?state=proposed');
  assert.equal(proposed.body.items.length, 1);
  assert.equal(proposed.body.items[0].category, 'household');
  const harbour = await caseworker.get(`/api/v1/sharing-agreements?receiving_agency_id=${agency['harbour-trust']}`);
  assert.deepEqual(harbour.body.items.map((a) => a.state), ['approved', 'refused', 'approved', 'approved', 'approved']);
  assert.equal(harbour.body.items[0].consent_required, true);
  const page = await caseworker.get('/api/v1/sharing-agreements?limit=2');
  assert.equal(page.body.items.length, 2);
  const next = await caseworker.get(`/api/v1/sharing-agreements?limit=2&after=${page.body.next}`);
  assert.equal(next.body.items[0].id, page.body.items[1].id + 1);
  assertProblem(await caseworker.get('/api/v1/sharing-agreements?state=pending'), 400, { fields: ['state'] });
  assertProblem(await caseworker.get('/api/v1/sharing-agreements?limit=0'), 400, { fields: ['limit'] });
  assertProblem(await caseworker.get('/api/v1/sharing-agreements?limit=500'), 400, { fields: ['limit'] });
  assertProblem(await caseworker.get('/api/v1/sharing-agreements/99999'), 404);
  assertProblem(await caseworker.get('/api/v1/sharing-agreements/abc'), 400, { fields: ['id'] });
});

test('grey data needs the approval of two different governance users, each audited', T, async () => {
  const audits = await count("audit_log WHERE action = 'agreement.approve' AND allowed = 1");
  const p = await managerState.post('/api/v1/sharing-agreements', proposal({
    receiving_agency_id: agency['state-benefits'], category: 'income', purpose: 'eligibility',
    valid_from: '2026-01-01', valid_to: '2030-12-31',
  }));
  assert.equal(p.status, 201, p.text);
  assert.equal(p.headers.get('location'), `/api/v1/sharing-agreements/${p.body.id}`);
  assert.equal(p.body.state, 'proposed');
  assert.equal(p.body.sharing_class, 'grey');
  assert.equal(p.body.approvals_needed, 2);
  assert.equal(p.body.valid_to, '2030-12-31');
  assert.equal(p.body.events[0].actor, 'manager.state');
  const decide = (who, body) => who.post(`/api/v1/sharing-agreements/${p.body.id}/decision`, body);

  const first = await decide(gus, { decision: 'approve', reason: 'meets the regional protocol' });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.body.state, 'proposed');
  assert.equal(first.body.approvals, 1);
  assert.equal(first.body.in_force, false);
  assertProblem(await decide(gus, { decision: 'approve' }), 409, { detail: /second, different governance user/ });
  const second = await decide(greta, { decision: 'approve' });
  assert.equal(second.status, 200, second.text);
  assert.equal(second.body.state, 'approved');
  assert.equal(second.body.approvals, 2);
  assert.equal(second.body.in_force, true);
  assert.ok(second.body.decided_at);
  assert.equal(await count("audit_log WHERE action = 'agreement.approve' AND allowed = 1"), audits + 2);
  assert.equal(await count(`outbox WHERE type = 'agreement.approval_recorded' AND aggregate_id = '${p.body.id}'`), 1);
  assert.equal(await count(`outbox WHERE type = 'agreement.approved' AND aggregate_id = '${p.body.id}'`), 1);
});

test('a black category cannot be the subject of an agreement', T, async () => {
  const before = await count('sharing_agreements');
  const r = await gus.post('/api/v1/sharing-agreements', proposal({ category: 'child_protection' }));
  const problem = assertProblem(r, 400, { fields: ['category'] });
  assert.match(problem.errors[0].message, /Child protection is a black-class category: it never leaves the agency/);
  assert.equal(await count('sharing_agreements'), before);
});

test('an invalid proposal names every wrong field', T, async () => {
  const r = await gus.post('/api/v1/sharing-agreements', {
    category: 'shoe_sizes', purpose: 'snooping', legal_basis: '', valid_to: 'next year', colour: 'blue',
  });
  assertProblem(r, 400, { fields: ['receiving_agency_id', 'purpose', 'legal_basis', 'valid_to', 'colour'] });
  const unknown = await gus.post('/api/v1/sharing-agreements',
    proposal({ receiving_agency_id: 9999, category: 'shoe_sizes', purpose: 'administration', valid_from: '2026-01-01', valid_to: '2025-12-31' }));
  assertProblem(unknown, 400, { fields: ['receiving_agency_id', 'category', 'purpose', 'valid_to'] });
});

test('only managers and governance users propose, managers for their own agency; refusals are audited', T, async () => {
  const refused = await count("audit_log WHERE action = 'agreement.propose' AND allowed = 0");
  assertProblem(await caseworker.post('/api/v1/sharing-agreements', proposal()), 403);
  assertProblem(await manager.post('/api/v1/sharing-agreements', proposal({ receiving_agency_id: agency['state-benefits'] })),
    403, { detail: /their own agency/ });
  assert.equal(await count("audit_log WHERE action = 'agreement.propose' AND allowed = 0"), refused + 2);
});

test('only governance users decide, signed in; refusals of permission are audited', T, async () => {
  const p = await gus.post('/api/v1/sharing-agreements', proposal({ category: 'contact' }));
  assert.equal(p.status, 201, p.text);
  const refused = await count(`audit_log WHERE action = 'agreement.approve' AND allowed = 0 AND record_id = '${p.body.id}'`);
  assertProblem(await caseworker.post(`/api/v1/sharing-agreements/${p.body.id}/decision`, { decision: 'approve' }), 403,
    { detail: /governance/ });
  assertProblem(await manager.post(`/api/v1/sharing-agreements/${p.body.id}/decision`, { decision: 'approve' }), 403);
  // Decisions are personal: no token has the governance role, and a token's decision is refused.
  assertProblem(await admin.post('/api/v1/tokens', { name: 'governance-sync', roles: ['governance'], scopes: ['persons:read'] }),
    400, { fields: ['roles/0'] });
  const secret = await issueToken(admin, { name: 'manager-sync', roles: ['manager'], scopes: ['persons:read'] });
  const token = await request(server.url, 'POST', `/api/v1/sharing-agreements/${p.body.id}/decision`, {
    headers: { Authorization: `Bearer ${secret}` }, json: { decision: 'approve' },
  });
  assertProblem(token, 403);
  assert.equal(await count(`audit_log WHERE action = 'agreement.approve' AND allowed = 0 AND record_id = '${p.body.id}'`),
    refused + 3);
  const still = await caseworker.get(`/api/v1/sharing-agreements/${p.body.id}`);
  assert.equal(still.body.state, 'proposed');
});

test('nobody approves what they proposed, or what their own agency would receive; the page says so', T, async () => {
  const refusals = await count("audit_log WHERE action = 'agreement.approve' AND allowed = 0");
  const own = await gus.post('/api/v1/sharing-agreements',
    proposal({ receiving_agency_id: agency['state-benefits'], category: 'contact', purpose: 'case_work' }));
  assert.equal(own.status, 201, own.text);
  assertProblem(await gus.post(`/api/v1/sharing-agreements/${own.body.id}/decision`, { decision: 'approve' }), 403,
    { detail: /you proposed agreement/ });

  const forCity = await manager.post('/api/v1/sharing-agreements', proposal({ category: 'needs', purpose: 'case_work' }));
  assert.equal(forCity.status, 201, forCity.text);
  const url = `/api/v1/sharing-agreements/${forCity.body.id}/decision`;
  assertProblem(await greta.post(url, { decision: 'approve' }), 403, { detail: /for your own agency to receive data/ });
  assert.equal(await count("audit_log WHERE action = 'agreement.approve' AND allowed = 0"), refusals + 2);

  // Each sees the reason instead of the button; the other governance user may approve.
  const block = (html, id) => {
    const start = html.indexOf(`action="/governance/agreements/${id}"`);
    return html.slice(html.lastIndexOf('govuk-summary-list', start), html.indexOf('</form>', start));
  };
  const gretaPage = (await greta.get('/governance/agreements')).text;
  assert.match(block(gretaPage, forCity.body.id), /for your own agency to receive data/);
  assert.doesNotMatch(block(gretaPage, forCity.body.id), /value="approve"/);
  assert.match(block(gretaPage, own.body.id), /value="approve"/);
  const gusPage = (await gus.get('/governance/agreements')).text;
  assert.match(block(gusPage, own.body.id), /You proposed this agreement/);
  assert.doesNotMatch(block(gusPage, own.body.id), /value="approve"/);
  assert.match(block(gusPage, forCity.body.id), /value="approve"/);

  const approved = await gus.post(url, { decision: 'approve' });
  assert.equal(approved.status, 200, approved.text);
  assert.equal(approved.body.state, 'approved');
  const withdrawn = await gus.post(`/api/v1/sharing-agreements/${own.body.id}/decision`,
    { decision: 'refuse', reason: 'Withdrawn: proposed by mistake.' });
  assert.equal(withdrawn.status, 200, withdrawn.text);
  assert.equal(withdrawn.body.state, 'refused');
});

test("the governance page's banner announces only what is so", T, async () => {
  const approved = Number(await sql(db, "SELECT min(id) FROM sharing_agreements WHERE state = 'approved'"));
  const pending = Number(await sql(db, "SELECT min(id) FROM sharing_agreements WHERE state = 'proposed'"));
  const banner = async (query) => /govuk-notification-banner/.test((await greta.get(`/governance/agreements?${query}`)).text);
  assert.equal(await banner(`done=approved&id=${approved}`), true);
  assert.equal(await banner('done=approved&id=999999'), false);
  assert.equal(await banner(`done=approved&id=${pending}`), false);
  assert.equal(await banner(`done=revoked&id=${approved}`), false);
});

test('refusal and revocation need reasons; a decision the state does not allow is a 409', T, async () => {
  const p = await gus.post('/api/v1/sharing-agreements', proposal({ category: 'housing', purpose: 'service_delivery' }));
  assert.equal(p.status, 201, p.text);
  const url = `/api/v1/sharing-agreements/${p.body.id}/decision`;
  assertProblem(await greta.post(url, { decision: 'refuse' }), 400, { fields: ['reason'] });
  assertProblem(await greta.post(url, { decision: 'maybe' }), 400, { fields: ['decision'] });
  assertProblem(await greta.post(url, { decision: 'revoke', reason: 'not approved yet' }), 409,
    { detail: /only an approved agreement can be revoked/ });
  const refused = await greta.post(url, { decision: 'refuse', reason: 'The housing protocol is not signed yet.' });
  assert.equal(refused.status, 200, refused.text);
  assert.equal(refused.body.state, 'refused');
  assert.equal(refused.body.reason, 'The housing protocol is not signed yet.');
  assertProblem(await gus.post(url, { decision: 'approve' }), 409, { detail: /is refused/ });
  assert.equal(await count(`outbox WHERE type = 'agreement.refused' AND aggregate_id = '${p.body.id}'`), 1);

  const q = await gus.post('/api/v1/sharing-agreements',
    proposal({ receiving_agency_id: agency['state-benefits'], category: 'household', purpose: 'front_desk' }));
  const approved = await greta.post(`/api/v1/sharing-agreements/${q.body.id}/decision`, { decision: 'approve' });
  assert.equal(approved.body.state, 'approved');
  assert.equal(approved.body.in_force, true);
  const revokeUrl = `/api/v1/sharing-agreements/${q.body.id}/decision`;
  assertProblem(await gus.post(revokeUrl, { decision: 'revoke', reason: '' }), 400, { fields: ['reason'] });
  const revoked = await gus.post(revokeUrl, { decision: 'revoke', reason: 'The front desk no longer needs it.' });
  assert.equal(revoked.status, 200, revoked.text);
  assert.equal(revoked.body.state, 'revoked');
  assert.equal(revoked.body.in_force, false);
  assert.deepEqual(revoked.body.events.map((e) => e.action), ['proposed', 'approved', 'revoked']);
  assertProblem(await gus.post(revokeUrl, { decision: 'revoke', reason: 'again' }), 409);
  assert.equal(await count(`audit_log WHERE action = 'agreement.revoke' AND record_id = '${q.body.id}'`), 1);
  assert.equal(await count(`outbox WHERE type = 'agreement.revoked' AND aggregate_id = '${q.body.id}'`), 1);
});

test('the public register is read without signing in and names no person or staff member', T, async () => {
  const r = await request(server.url, 'GET', '/agreements');
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.match(r.headers.get('content-type'), /text\/html/);
  assert.match(r.text, /Register of sharing agreements/);
  assert.match(r.text, /State Benefits Agency/);
  assert.match(r.text, /Social Security Act s\.45/);
  assert.doesNotMatch(r.text, /Sign out/);
  // Revoked, refused and proposed agreements are not on it.
  assert.doesNotMatch(r.text, /The front desk no longer needs it/);
  assert.doesNotMatch(r.text, /Health and Care Act s\.82/);
  for (const name of ['governance.health', 'governance.city', 'manager.city', 'Gus Governance', 'Greta Governance']) {
    assert.ok(!r.text.includes(name), `the register does not name ${name}`);
  }
  const rows = (r.text.match(/data-agreement="/g) ?? []).length;
  const inForce = await caseworker.get('/api/v1/sharing-agreements?state=in_force');
  assert.equal(rows, inForce.body.items.length);
});

test('a categories file with a field mapped to an undeclared category stops the server, naming the place', T, async () => {
  const shipped = await readFile(path.join(repoRoot, 'config', 'data-categories.yaml'), 'utf8');
  assert.match(shipped, /\n    phones: contact\n/);
  const bad = path.join(dir, 'bad-categories.yaml');
  await writeFile(bad, shipped.replace('\n    phones: contact\n', '\n    phones: telecoms\n'));
  const line = shipped.slice(0, shipped.indexOf('    phones: contact')).split('\n').length;
  const env = { ...process.env, ...onedoorEnv(db, { ONEDOOR_DATA_CATEGORIES: bad, ONEDOOR_LISTEN: '127.0.0.1:0' }) };
  const failed = await run(binary, ['serve'], { env, timeout: 30_000 }).then(() => null, (error) => error);
  assert.ok(failed, 'the server must not start');
  assert.equal(failed.code, 1);
  const expected = `data categories: ${bad}:${line}:13: the person field 'phones' is mapped to 'telecoms', which is not a declared category`;
  assert.ok(failed.stderr.includes(expected), failed.stderr);
});
