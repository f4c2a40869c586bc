// The access gate over HTTP: what another agency sees of a person registered elsewhere
// (field by field, under the consortium's agreements), an agreement on consent that opens only
// with the person's consent and closes on the very next request after a withdrawal (the
// refusal audited), break-glass with its review, the reference directory, and a black-class
// canary that never leaves the agency holding it: not in any response, page, log line or event.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/gate.test.mjs

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { assertProblem, hiddenCsrf, linkAsTheIndexWould, login, prepareDatabase, repoRoot, request, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };
const kCanary = 'CANARY-7f3a9c-black';

let server;
let db;
let city;        // caseworker.city: registers the person, so the city holds them
let ngo;         // caseworker.ngo, signed in for service delivery
let ngoCase;     // caseworker.ngo, signed in for case work
let greta;       // governance.city
let person;
const agency = {};

const count = async (where) => Number(await sql(db, `SELECT count(*) FROM ${where}`));

before(async () => {
  const prepared = await prepareDatabase({ people: 4, prefix: 'onedoor-gate-' });
  db = prepared.db;
  // This deployment puts gender in the black-class justice category: the canary's field.
  const categories = (await readFile(path.join(repoRoot, 'config', 'data-categories.yaml'), 'utf8'))
    .replace(/^    gender: identity$/m, '    gender: justice');
  assert.match(categories, /gender: justice/);
  const categoriesFile = path.join(prepared.dir, 'categories.yaml');
  await writeFile(categoriesFile, categories);
  server = await serve(db, { logDir: prepared.dir, env: { ONEDOOR_DATA_CATEGORIES: categoriesFile } });
  city = await login(server.url, 'caseworker.city');
  ngo = await login(server.url, 'caseworker.ngo');
  ngoCase = await login(server.url, 'caseworker.ngo', { purpose: 'case_work' });
  greta = await login(server.url, 'governance.city');
  for (const code of ['city-social', 'harbour-trust']) {
    agency[code] = Number(await sql(db, `SELECT id FROM agencies WHERE code = '${code}'`));
  }
  const created = await city.post('/api/v1/persons', {
    names: [{ use: 'official', given: 'Marama', family: 'Gatekeeper' }],
    birth_date: '1979-09-09',
    gender: kCanary,
    addresses: [{ use: 'home', line1: '9 Tide Street', city: 'Harbourside', postcode: '4001' }],
    phones: [{ use: 'mobile', value: '+61 400 999 001' }],
    needs: { interpreter: true, interpreter_language: 'mi' },
  });
  assert.equal(created.status, 201, created.text);
  person = created.body.id;
});

after(async () => {
  await server?.stop();
});

test('the agency that registered the person sees every field, the canary included', T, async () => {
  const r = await city.get(`/api/v1/persons/${person}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.gender, kCanary);
  assert.equal(r.body.withheld, undefined);
});

test('a client page says what is withheld, and links no history the gate refuses', T, async () => {
  // The state's front desk sees who the person is, not where they live or whom with.
  const desk = await login(server.url, 'frontdesk.state', { purpose: 'front_desk' });
  const page = await desk.get(`/clients/${person}`);
  assert.equal(page.status, 200, page.text.slice(0, 300));
  assert.ok(!page.text.includes('9 Tide Street') && !page.text.includes('+61 400 999 001'));
  const addresses = /Addresses<\/h2>\s*<ul class="govuk-list">\s*<li>([^<]*)<\/li>/.exec(page.text);
  assert.equal(addresses?.[1], 'Withheld from you', page.text.slice(page.text.indexOf('Addresses'), page.text.indexOf('Addresses') + 300));
  assert.match(page.text, /<td class="govuk-table__cell" colspan="2">Withheld from you<\/td>/);
  assert.doesNotMatch(page.text, /href="\/clients\/\d+\/history"/);
  // The agency that holds them: everything, the history linked.
  const own = await city.get(`/clients/${person}`);
  assert.match(own.text, /9 Tide Street/);
  assert.match(own.text, new RegExp(`href="/clients/${person}/history"`));
  assert.doesNotMatch(own.text, /Withheld from you/);
  // A message in a link made elsewhere is not shown as the page's own: it needs the mac that
  // onedoor adds when it redirects with a message.
  for (const url of [`/clients/${person}?portal_error=Call%20555-0100%20with%20your%20bank%20details`,
    `/clients/${person}?document_error=Call%20555-0100&document_error_sig=00`]) {
    const forged = await city.get(url);
    assert.equal(forged.status, 200);
    assert.doesNotMatch(forged.text, /555-0100 with|Call 555-0100/);
  }
});

test('another agency sees what the consortium agreements give it, field by field', T, async () => {
  const r = await ngo.get(`/api/v1/persons/${person}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.names.map((n) => n.family), ['Gatekeeper']);
  assert.equal(r.body.addresses[0].line1, '9 Tide Street');
  assert.equal(r.body.gender, undefined);
  // The trust's agreement for access needs relies on consent, which the person has not given.
  assert.equal(r.body.needs, undefined);
  const withheld = Object.fromEntries(r.body.withheld.map((w) => [w.category, w.reason]));
  assert.match(withheld.justice, /black-class/);
  assert.match(withheld.needs, /has not consented/);
  assert.match(withheld.case_notes, /black-class/);
  // The audit entry says which agreements the read relied on.
  const reason = await sql(db, "SELECT reason FROM audit_log WHERE action = 'person.read' AND actor = 'caseworker.ngo' "
    + 'ORDER BY seq DESC LIMIT 1');
  assert.match(reason, /under sharing agreement \d+/);
});

test('an agreement on consent opens with the consent and closes on the next request after a withdrawal', T, async () => {
  // Without an agreement for case work the trust does not see the person at all.
  assertProblem(await ngoCase.get(`/api/v1/persons/${person}`), 403, { detail: /does not hold this person/ });
  // Governance approves identity for case work, on the person's consent: proposed by one
  // governance user, approved by another.
  const gus = await login(server.url, 'governance.health');
  const proposed = await gus.post('/api/v1/sharing-agreements', {
    receiving_agency_id: agency['harbour-trust'], category: 'identity', purpose: 'case_work', legal_basis: 'consent',
    valid_from: '2026-01-01', description: 'To coordinate support plans with the people who ask the trust for help.',
  });
  assert.equal(proposed.status, 201, proposed.text);
  const approved = await greta.post(`/api/v1/sharing-agreements/${proposed.body.id}/decision`, { decision: 'approve' });
  assert.equal(approved.status, 200, approved.text);
  assertProblem(await ngoCase.get(`/api/v1/persons/${person}`), 403, { detail: /has not consented|does not hold/ });

  const consent = await city.post(`/api/v1/persons/${person}/consents`, {
    receiving_agency_id: agency['harbour-trust'], scope: 'partial', categories: ['identity'], purpose: 'case_work',
    legal_basis: 'GDPR art. 6(1)(a): consent', valid_from: '2026-01-01',
    how_to_withdraw: 'Tell any caseworker.', evidence: 'signed_form', document_ref: 'DOC-GATE-1',
  });
  assert.equal(consent.status, 201, consent.text);
  const open = await ngoCase.get(`/api/v1/persons/${person}`);
  assert.equal(open.status, 200, open.text);
  assert.equal(open.body.names[0].given, 'Marama');
  assert.equal(open.body.addresses, undefined);

  const withdrawn = await city.post(`/api/v1/consents/${consent.body.id}/events`,
    { event: 'withdraw', reason: 'the person asked at the counter' });
  assert.equal(withdrawn.status, 200, withdrawn.text);
  const before = await count("audit_log WHERE action = 'person.read' AND actor = 'caseworker.ngo' AND allowed = 0");
  assertProblem(await ngoCase.get(`/api/v1/persons/${person}`), 403);
  assert.equal(await count("audit_log WHERE action = 'person.read' AND actor = 'caseworker.ngo' AND allowed = 0"),
    before + 1, 'the refusal is audited');
});

test('break-glass opens white and grey data, is flagged, and is reviewed by governance', T, async () => {
  const reason = 'Found unwell at the drop-in; need her contacts and interpreter language now';
  assertProblem(await ngoCase.get(`/api/v1/persons/${person}`, { headers: { 'X-Break-Glass': 'short' } }), 400,
    { fields: ['X-Break-Glass'] });
  const r = await ngoCase.get(`/api/v1/persons/${person}`, { headers: { 'X-Break-Glass': reason } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.needs.interpreter_language, 'mi');
  assert.equal(r.body.gender, undefined, 'never black');
  // The person's access log says it was an emergency access, not an ordinary one.
  const cityManager = await login(server.url, 'manager.city');
  const accessLog = await cityManager.get(`/api/v1/persons/${person}/access-log?limit=200`);
  assert.equal(accessLog.status, 200, accessLog.text);
  const flagged = accessLog.body.items.filter((e) => e.emergency === true);
  assert.ok(flagged.length >= 1, JSON.stringify(accessLog.body.items.slice(0, 5)));
  // Whose it was and the reason given stay with the trust's auditors; that it was an emergency does not.
  assert.ok(flagged.every((e) => e.agency === 'Harbour Community Trust' && e.reason === undefined), JSON.stringify(flagged));
  assert.ok(accessLog.body.items.some((e) => e.emergency === false && e.allowed), 'ordinary reads are not flagged');
  // The front desk may not use emergency access: refused, by the API and by the page, each
  // attempt in the person's access log with the reason it gave.
  const desk = await login(server.url, 'frontdesk.state', { purpose: 'front_desk' });
  assertProblem(await desk.get(`/api/v1/persons/${person}/history`, { headers: { 'X-Break-Glass': 'Desk emergency, need history' } }), 403);
  const deskPage = await desk.get(`/clients/${person}`);
  const refusedPage = await desk.req('POST', `/clients/${person}/emergency`, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(deskPage.text) ?? desk.auth.csrf, justification: 'Desk emergency, by the page' }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(refusedPage.status, 403);
  const attempts = (await cityManager.get(`/api/v1/persons/${person}/access-log?limit=200`)).body.items.filter((e) => !e.allowed && e.action === 'request.refused');
  assert.equal(attempts.length, 2, JSON.stringify(attempts));
  assert.equal(await count(`audit_log WHERE person_id = ${person} AND action = 'request.refused' AND reason LIKE '%Desk emergency%'`), 2);
  const pending = await greta.get('/api/v1/break-glass?state=pending');
  assert.equal(pending.status, 200, pending.text);
  const mine = pending.body.items.filter((g) => g.person_id === person);
  assert.equal(mine.length, 1);
  assert.equal(mine[0].justification, reason);
  assert.equal(mine[0].actor, 'caseworker.ngo');
  // The review page: a mistake keeps what was chosen and typed, with the error beside its field.
  const queue = await greta.get('/break-glass');
  const reviewForm = (fields) => greta.req('POST', `/break-glass/${mine[0].id}/review`, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(queue.text), ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const noNote = await reviewForm({ outcome: 'not_justified', note: '' });
  assert.equal(noNote.status, 400);
  assert.match(noNote.text, new RegExp(`id="outcome-${mine[0].id}-no" name="outcome" type="radio" value="not_justified" checked`));
  assert.match(noNote.text, new RegExp(`href="#note-${mine[0].id}">Say why the access was not justified`));
  assert.match(noNote.text, new RegExp(`id="note-${mine[0].id}-error"`));
  const longNote = await reviewForm({ outcome: 'not_justified', note: 'x'.repeat(1001) });
  assert.equal(longNote.status, 400);
  assert.match(longNote.text, /The note must be at most 1000 characters/);
  assert.match(longNote.text, />x{1001}<\/textarea>/);
  assertProblem(await greta.post(`/api/v1/break-glass/${mine[0].id}/review`, { outcome: 'not_justified' }), 400,
    { fields: ['note'] });
  const reviewed = await greta.post(`/api/v1/break-glass/${mine[0].id}/review`,
    { outcome: 'justified', note: 'Confirmed with the drop-in manager.' });
  assert.equal(reviewed.status, 200, reviewed.text);
  assert.equal(reviewed.body.state, 'justified');
  assertProblem(await greta.post(`/api/v1/break-glass/${mine[0].id}/review`, { outcome: 'justified' }), 409);
  assertProblem(await ngo.get('/api/v1/break-glass'), 403);

  // Reviews are made by people signed in: a manager's token neither lists nor reviews.
  const cityAdmin = await login(server.url, 'admin.city', { purpose: 'administration' });
  const issued = await cityAdmin.post('/api/v1/tokens', { name: 'manager-system', roles: ['manager', 'auditor'], scopes: ['persons:read', 'audit:read'] });
  assert.equal(issued.status, 201, issued.text);
  const managerToken = (method, url, json) => request(server.url, method, url, { headers: { Authorization: `Bearer ${issued.body.secret}` }, json });
  assertProblem(await managerToken('GET', '/api/v1/break-glass'), 403, { detail: /signed in/ });
  assertProblem(await managerToken('POST', `/api/v1/break-glass/${mine[0].id}/review`, { outcome: 'justified' }), 403);

  // The access log: the city holds the person, so its auditors read it, with the trust's entries
  // as the person sees them (no username, no reason: the justification stays with the trust).
  const log = await managerToken('GET', `/api/v1/persons/${person}/access-log?limit=200`);
  assert.equal(log.status, 200, log.text);
  const trusts = log.body.items.filter((e) => e.agency === 'Harbour Community Trust');
  assert.ok(trusts.length > 0, JSON.stringify(log.body.items.slice(0, 3)));
  for (const e of trusts) {
    assert.equal(e.actor, undefined, JSON.stringify(e));
    assert.ok(!JSON.stringify(e).includes('drop-in'), JSON.stringify(e));
  }
  assert.ok(log.body.items.some((e) => e.actor === 'caseworker.city'), "the city's own staff are named");
  // An agency that does not hold the person reads no log of theirs.
  const stateAdmin = await login(server.url, 'admin.state', { purpose: 'administration' });
  const stateIssued = await stateAdmin.post('/api/v1/tokens', { name: 'state-audit', roles: ['auditor'], scopes: ['audit:read'] });
  assert.equal(stateIssued.status, 201, stateIssued.text);
  const stateLog = await request(server.url, 'GET', `/api/v1/persons/${person}/access-log`, { headers: { Authorization: `Bearer ${stateIssued.body.secret}` } });
  assertProblem(stateLog, 403, { detail: /does not hold this client/ });
});

test('the reference directory lists who knows the person', T, async () => {
  const r = await city.get(`/api/v1/persons/${person}/agencies`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((e) => [e.agency.code, e.capacity]), [['city-social', 'registered']]);
  assertProblem(await city.get('/api/v1/persons/99999999/agencies'), 404);
});

test('the black-class canary never leaves the agency that holds it', T, async () => {
  const seen = [];
  const paths = [
    `/api/v1/persons/${person}`, `/api/v1/persons/${person}/history`, `/api/v1/persons/${person}/agencies`,
    `/api/v1/persons/${person}/consents`, `/api/v1/persons/${person}/access-log`, '/api/v1/persons?q=Gatekeeper',
    `/clients/${person}`, `/clients/${person}/history`, `/clients/${person}/edit`, '/clients?q=Gatekeeper',
  ];
  for (const client of [ngo, ngoCase]) {
    for (const p of paths) {
      for (const headers of [{}, { 'X-Break-Glass': 'emergency: checking what can be seen by the trust' }]) {
        const r = await client.get(p, { headers });
        seen.push(`${r.status} ${p}`);
        assert.ok(!r.text.includes(kCanary), `${p} shows the canary: ${r.text.slice(0, 300)}`);
      }
    }
  }
  assert.ok(seen.some((s) => s.startsWith('200 /api/v1/persons/')), seen.join('\n'));
  assert.ok(seen.some((s) => s.startsWith('200 /clients/')), seen.join('\n'));
  // Nor in the events for other agencies, nor in the audit trail, nor in any log line.
  assert.equal(await count(`outbox WHERE payload LIKE '%${kCanary}%'`), 0);
  assert.equal(await count(`audit_log WHERE reason LIKE '%${kCanary}%'`), 0);
  // The holding agency's own reads and changes do not log it either.
  const changed = await city.get(`/api/v1/persons/${person}`);
  const etag = changed.headers.get('etag');
  const upd = await city.put(`/api/v1/persons/${person}`, { ...strip(changed.body), phones: [] }, { headers: { 'If-Match': etag } });
  assert.equal(upd.status, 200, upd.text);
  const log = await readFile(server.logPath, 'utf8');
  assert.ok(log.length > 0);
  assert.ok(!log.includes(kCanary), 'the server log shows the canary');
});

function strip(body) {
  const { id, version, created_at: c, updated_at: u, withheld, source_records: s, household: h, ...rest } = body;
  return rest;
}

test('a page shows another agency only what it may see, with what is withheld and why', T, async () => {
  const page = await ngo.get(`/clients/${person}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /Gatekeeper/);
  assert.match(page.text, /9 Tide Street/);
  assert.match(page.text, /Justice/);
  assert.match(page.text, /black-class/);
  const refused = await request(server.url, 'GET', `/clients/${person}`, { headers: { Cookie: ngoCase.auth.cookie } });
  assert.equal(refused.status, 403);
});

test('a reason too short for emergency access keeps the part of the record already shown, and what was typed', T, async () => {
  const page = await ngo.get(`/clients/${person}`);
  assert.match(page.text, /Emergency access to what is withheld/);
  const before = await count('break_glass_accesses');
  const short = await ngo.req('POST', `/clients/${person}/emergency`, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), justification: 'short' }).toString(),
  });
  assert.equal(short.status, 400);
  assert.match(short.text, /Gatekeeper/);
  assert.match(short.text, /9 Tide Street/);
  assert.match(short.text, /href="#justification">Say why you need this now, in 10 to 500 characters/);
  assert.match(short.text, /<details class="govuk-details" open>/);
  assert.match(short.text, /name="justification" rows="3" aria-describedby="justification-error">short<\/textarea>/);
  assert.doesNotMatch(short.text, /You cannot see this client/);
  assert.equal(await count('break_glass_accesses'), before);
});

test('tell us once: a change reaches every other agency that knows the person, which marks it applied', T, async () => {
  const state = await login(server.url, 'caseworker.state');
  // The state's benefits agency keeps its own record of the person.
  const rec = await state.put('/api/v1/source-records/ST-GATE-1', { data: { case: 'B-1' } });
  assert.ok([200, 201].includes(rec.status), rec.text);
  await linkAsTheIndexWould(db, 'state-benefits', 'ST-GATE-1', person);
  const start = await state.get('/api/v1/changes');
  assert.equal(start.status, 200, start.text);
  const cursor = start.body.cursor;
  // A cursor no answer gave (past every notice) would skip those to come: refused.
  const newest = Number(await sql(db, 'SELECT COALESCE(MAX(id), 0) FROM change_notices'));
  assertProblem(await state.get(`/api/v1/changes?after=${newest + 1000}`), 400, { fields: ['after'] });

  const current = await city.get(`/api/v1/persons/${person}`);
  const moved = await city.put(`/api/v1/persons/${person}`,
    { ...strip(current.body), addresses: [{ use: 'home', line1: '2 Lighthouse Row', city: 'Harbourside', postcode: '4001' }] },
    { headers: { 'If-Match': current.headers.get('etag') } });
  assert.equal(moved.status, 200, moved.text);

  const feed = await state.get(`/api/v1/changes?after=${cursor}`);
  assert.equal(feed.status, 200, feed.text);
  const mine = feed.body.items.filter((n) => n.person_id === person);
  assert.equal(mine.length, 1, JSON.stringify(feed.body.items));
  assert.equal(mine[0].type, 'person.updated');
  assert.deepEqual(mine[0].fields, ['addresses']);
  assert.equal(mine[0].from_agency.name, 'City Social Services Department');
  assert.equal(mine[0].state, 'pending');
  assert.ok(!feed.text.includes('Lighthouse'), 'a notice is thin: no values');
  // The city made the change: it is not told. The trust does not know the person: not told.
  assert.equal((await city.get(`/api/v1/changes?after=${cursor}`)).body.items.filter((n) => n.person_id === person).length, 0);
  assert.equal((await ngo.get('/api/v1/changes')).body.items.filter((n) => n.person_id === person).length, 0);

  let where = await city.get(`/api/v1/persons/${person}/changes`);
  assert.equal(where.status, 200, where.text);
  assert.deepEqual(where.body.items.map((n) => [n.agency.name, n.state]), [['State Benefits Agency', 'pending']]);
  const applied = await state.post(`/api/v1/changes/${mine[0].id}/applied`, { note: 'benefits system updated' });
  assert.equal(applied.status, 200, applied.text);
  assert.equal(applied.body.state, 'applied');
  assertProblem(await state.post(`/api/v1/changes/${mine[0].id}/applied`, {}), 409);
  assertProblem(await ngo.post(`/api/v1/changes/${mine[0].id}/applied`, {}), 404);
  assertProblem(await state.get('/api/v1/changes?limit=0'), 400, { fields: ['limit'] });
  where = await city.get(`/api/v1/persons/${person}/changes`);
  assert.equal(where.body.items[0].state, 'applied');
  assert.equal(where.body.items[0].applied_by, 'caseworker.state');
});

test('a match candidate explains no comparison of a field the caller may not see', T, async () => {
  const made = await city.post('/api/v1/persons', {
    names: [{ use: 'official', given: 'Tamsin', family: 'Quillfeather' }],
    birth_date: '1990-01-01',
    addresses: [{ use: 'home', line1: '7 Kelp Way', city: 'Harbourside', postcode: '4002' }],
  });
  assert.equal(made.status, 201, made.text);
  const probe = {
    names: [{ use: 'official', given: 'Tamsin', family: 'Quillfeather' }],
    birth_date: '1990-01-01',
    addresses: [{ use: 'home', line1: '7 Kelp Way', city: 'Harbourside', postcode: '4002' }],
  };
  const fields = async (client) => {
    const r = await client.post('/api/v1/match', { person: probe });
    assert.equal(r.status, 200, r.text);
    const c = r.body.candidates.find((x) => x.person_id === made.body.id);
    assert.ok(c, JSON.stringify(r.body));
    return c.explanation.fields.map((f) => f.field);
  };
  // The city holds the person: names and address compared.
  const own = await fields(city);
  assert.ok(own.includes('given_name') && own.includes('postcode'), own.join());
  // The state's front desk sees identity (the consortium's agreement) but not contact details.
  const desk = await login(server.url, 'frontdesk.state', { purpose: 'front_desk' });
  const theirs = await fields(desk);
  assert.ok(theirs.includes('given_name'), theirs.join());
  for (const f of ['street_number', 'address_line1', 'address_line2', 'locality', 'postcode', 'region', 'phone']) {
    assert.ok(!theirs.includes(f), `${f} explained to the front desk: ${theirs.join()}`);
  }
});

test("a client's page shows where each change went and the consents with their receipts", T, async () => {
  const page = await city.get(`/clients/${person}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /Where changes went/);
  assert.match(page.text, /<td class="govuk-table__cell">Address<\/td>[\s\S]*City Social Services Department[\s\S]*State Benefits Agency[\s\S]*Updated/);
  assert.match(page.text, /Consents/);
  assert.match(page.text, /\/consents\/\d+\/receipt/);
});

test('a death recorded on the edit form is its own notice to every agency that knows the person', T, async () => {
  const state = await login(server.url, 'caseworker.state');
  const start = await state.get('/api/v1/changes');
  const cursor = start.body.cursor;
  const page = await city.get(`/clients/${person}/edit`);
  assert.equal(page.status, 200);
  assert.match(page.text, /Date of death/);
  // The form as the page fills it, plus the date of death.
  const form = new URLSearchParams();
  for (const [tag] of page.text.matchAll(/<input[^>]*>/g)) {
    const name = /\bname="([^"]+)"/.exec(tag);
    const value = /\bvalue="([^"]*)"/.exec(tag);
    if (!name || !value || (/type="(radio|checkbox)"/.test(tag) && !/\bchecked\b/.test(tag))) continue;
    form.set(name[1], value[1].replaceAll('&#x2F;', '/').replaceAll('&amp;', '&'));
  }
  const send = (fields) => city.req('POST', `/clients/${person}/edit`, {
    body: new URLSearchParams({ ...Object.fromEntries(form), ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  // Before the birth: the form comes back with the error on the date, and nothing is sent.
  const early = await send({ death_day: '1', death_month: '1', death_year: '1970' });
  assert.equal(early.status, 400, early.text.slice(0, 300));
  assert.match(early.text, /href="#death_day">The date of death is before the date of birth/);
  assert.equal((await state.get(`/api/v1/changes?after=${cursor}`)).body.items.length, 0);

  const saved = await send({ death_day: '3', death_month: '2', death_year: '2025' });
  assert.equal(saved.status, 303, saved.text.slice(0, 300));
  const feed = await state.get(`/api/v1/changes?after=${cursor}`);
  const mine = feed.body.items.filter((n) => n.person_id === person);
  assert.deepEqual(mine.map((n) => [n.type, n.fields]), [['person.died', ['death_date']]]);
  const record = await state.get(`/api/v1/persons/${person}`);
  assert.equal(record.body.death_date, '2025-02-03');
  assert.match((await city.get(`/clients/${person}`)).text, /Date of death[\s\S]{0,200}3 February 2025/);
});

test('a possible duplicate shows the other agency\'s record only as the gate lets the person\'s record be seen', T, async () => {
  // The city's record of the person (the canary and access needs among its data) and the
  // trust's own record of someone like them, paired for review.
  const cityRecord = await city.put('/api/v1/source-records/GATE-PAIR-1', {
    person_id: person,
    data: { names: [{ use: 'official', given: 'Marama', family: 'Gatekeeper' }], birth_date: '1979-09-09', gender: kCanary,
      needs: { interpreter: true, interpreter_language: 'mi' } },
  });
  assert.equal(cityRecord.status, 200, cityRecord.text);
  const own = await ngo.post('/api/v1/persons', { names: [{ use: 'official', given: 'Marama', family: 'Gatekeeper-Hale' }] });
  assert.equal(own.status, 201, own.text);
  const ngoRecord = await ngo.put('/api/v1/source-records/GATE-PAIR-2', {
    person_id: own.body.id, data: { names: [{ use: 'official', given: 'Marama', family: 'Gatekeeper-Hale' }] },
  });
  assert.equal(ngoRecord.status, 200, ngoRecord.text);
  await sqlWrite(`INSERT INTO match_reviews (record_a, record_b, weight, probability, explanation, state, created_at) VALUES (${cityRecord.body.id}, ${ngoRecord.body.id}, 5, 0.7, '{"prior_weight":-10,"fields":[]}', 'pending', 0)`);
  const review = Number(await sql(db, 'SELECT max(id) FROM match_reviews'));
  const seen = await ngo.get(`/api/v1/match-reviews/${review}`);
  assert.equal(seen.status, 200, seen.text);
  assert.deepEqual(seen.body.a.data.names.map((n) => n.family), ['Gatekeeper'], 'identity: under the agreement');
  assert.equal(seen.body.a.data.gender, undefined, 'the canary never leaves the city');
  assert.equal(seen.body.a.data.needs?.interpreter_language, undefined, 'access needs: the person has not consented');
  assert.notEqual(seen.body.a.data.needs?.interpreter, true);
  assert.equal(seen.body.b.data.names[0].family, 'Gatekeeper-Hale');
  const page = await ngo.get(`/reviews/${review}`);
  assert.equal(page.status, 200);
  assert.ok(!page.text.includes(kCanary), 'the page shows no canary either');
  // Each view of the city's record is in the person's access log.
  const audited = await sql(db, `SELECT count(*) FROM audit_log WHERE action = 'match_review.read' AND actor = 'caseworker.ngo' AND person_id = ${person}`);
  assert.ok(Number(audited) >= 2, audited);
  // A mistake keeps the choice and the reason typed; a decision without a reason shows none.
  const form = (fields) => ngo.req('POST', `/reviews/${review}`, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const tooLong = await form({ decision: 'same', reason: `Same NI number KEEP ${'x'.repeat(500)}` });
  assert.equal(tooLong.status, 400);
  assert.match(tooLong.text, /name="decision" type="radio" value="same" checked>/);
  assert.match(tooLong.text, /rows="2"[^>]*>Same NI number KEEP x/);
  assert.equal((await form({ decision: 'not_same', reason: '' })).status, 303);
  const decided = await ngo.get(`/reviews/${review}`);
  assert.match(decided.text, /Decided: different people\. /, 'no dash for a reason not given');
});

test('a manager\'s own emergency access is left to someone else to review, without a form that cannot work', T, async () => {
  const theirs = await ngo.post('/api/v1/persons', { names: [{ use: 'official', given: 'Rangi', family: 'Elsewhere' }] });
  assert.equal(theirs.status, 201, theirs.text);
  const manager = await login(server.url, 'manager.city', { purpose: 'case_work' });
  const opened = await manager.get(`/api/v1/persons/${theirs.body.id}`, { headers: { 'X-Break-Glass': 'Collapsed in our waiting room; need next of kin' } });
  assert.equal(opened.status, 200, opened.text);
  const id = Number(await sql(db, `SELECT max(id) FROM break_glass_accesses WHERE person_id = ${theirs.body.id}`));
  assert.ok(id > 0);
  const page = await manager.get('/break-glass');
  assert.equal(page.status, 200);
  assert.match(page.text, /This is your own emergency access: another manager, an auditor or governance reviews it/);
  assert.ok(!page.text.includes(`action="/break-glass/${id}/review"`), 'no form for one\'s own');
});

async function sqlWrite(statement) {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  await promisify(execFile)('sqlite3', ['-cmd', '.timeout 10000', db, statement], { timeout: 15_000 });
}

test('an agreement on households alone shows who lives where by number, not the names it does not give', T, async () => {
  const made = await city.post('/api/v1/households', { name: 'The Gatekeeper household' });
  assert.equal(made.status, 201, made.text);
  const household = made.body.id;
  const joined = await city.post(`/api/v1/households/${household}/members`, { person_id: person, relationship: 'head', since: '2020-01-01' });
  assert.equal(joined.status, 200, joined.text);
  const gus = await login(server.url, 'governance.health');
  const proposed = await gus.post('/api/v1/sharing-agreements', {
    receiving_agency_id: agency['harbour-trust'], category: 'household', purpose: 'case_work',
    legal_basis: 'Family Support Act 2019 s.12', valid_from: '2026-01-01',
    description: 'So that the trust knows which families it supports live together.',
  });
  assert.equal(proposed.status, 201, proposed.text);
  const approved = await greta.post(`/api/v1/sharing-agreements/${proposed.body.id}/decision`, { decision: 'approve' });
  assert.equal(approved.status, 200, approved.text);
  const theirs = await ngoCase.get(`/api/v1/households/${household}`);
  assert.equal(theirs.status, 200, theirs.text);
  assert.equal(theirs.body.members[0].person_id, person);
  assert.equal(theirs.body.members[0].name, undefined, 'the member\'s name is identity data');
  assert.equal(theirs.body.name, undefined, 'nor the household\'s, which is the family\'s');
  const page = await ngoCase.get(`/households/${household}`);
  assert.equal(page.status, 200);
  assert.ok(!page.text.includes('Gatekeeper'), 'the page names nobody');
  assert.match(page.text, new RegExp(`Client ${person}`));
  const record = await ngoCase.get(`/api/v1/persons/${person}`);
  if (record.status === 200) {
    assert.equal(record.body.names, undefined);
    assert.equal(record.body.household?.name, undefined);
  }
  // The city, which holds the person, sees every name.
  const own = await city.get(`/api/v1/households/${household}`);
  assert.equal(own.body.name, 'The Gatekeeper household');
  assert.match(own.body.members[0].name, /Gatekeeper/);
});
