// Apply once over HTTP: a city caseworker screens a household and applies from the screening
// for SNAP (expedited) and the winter fuel grant; each owning agency sees and decides its own
// part by its statutory due date; refusals name the field (400), the state (409) or are not
// found (404); every step is audited on the applicant with an event. Then the same through the
// pages: the form on the screening's page, the agency's list and the decision form.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/applications.test.mjs

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
let screening;

const count = async (where) => Number(await sql(db, `SELECT count(*) FROM ${where}`));

function addDays(iso, days) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-applications-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  city = await login(server.url, 'caseworker.city', { purpose: 'eligibility' });
  state = await login(server.url, 'caseworker.state', { purpose: 'eligibility' });
  ngo = await login(server.url, 'caseworker.ngo', { purpose: 'eligibility' });
  const p = await city.post('/api/v1/persons', { names: [{ use: 'official', given: 'Wiremu', family: 'Applies' }], birth_date: '1980-02-02' });
  assert.equal(p.status, 201, p.text);
  person = p.body.id;
  const h = await city.post('/api/v1/households', { name: 'The Applies household' });
  assert.equal(h.status, 201, h.text);
  const m = await city.post(`/api/v1/households/${h.body.id}/members`, { person_id: person, relationship: 'head', since: '2020-01-01' });
  assert.equal(m.status, 200, m.text);
  const s = await city.post('/api/v1/screenings', {
    household_id: h.body.id,
    inputs: { earned_income: '900', unearned_income: 0, shelter_costs: '700', has_elderly_or_disabled_member: false, countable_assets: '0' },
  });
  assert.equal(s.status, 201, s.text);
  screening = s.body.id;
});

after(async () => {
  await server?.stop();
});

test('one application, each part decided by its own agency by its statutory date', T, async () => {
  assertProblem(await city.post('/api/v1/applications', { screening_id: screening, applicant_id: person, programs: ['snap', 'nope'], expedited: ['winter_fuel_grant'] }),
    400, { fields: ['programs', 'expedited'] });
  assertProblem(await city.post('/api/v1/applications', { screening_id: 999999, applicant_id: person, programs: ['snap'] }), 404);
  const made = await city.post('/api/v1/applications',
    { screening_id: screening, applicant_id: person, programs: ['snap', 'winter_fuel_grant'], expedited: ['snap'] });
  assert.equal(made.status, 201, made.text);
  const id = made.body.id;
  const [snap, fuel] = made.body.parts;
  assert.equal(snap.agency.name, 'State Benefits Agency');
  assert.equal(snap.due, addDays(snap.received, 7), 'SNAP expedited: 7 days');
  assert.equal(fuel.due, addDays(fuel.received, 30), 'no clock in the pack: the default 30 days');
  assert.ok(made.body.answers && typeof made.body.answers === 'object', 'the answers are reused');

  const theirs = await state.get(`/api/v1/applications/${id}`);
  assert.equal(theirs.status, 200, theirs.text);
  assert.deepEqual(theirs.body.parts.map((p) => p.program), ['snap'], 'the state sees its own part only');
  assertProblem(await ngo.get(`/api/v1/applications/${id}`), 404);
  const list = await state.get('/api/v1/applications');
  assert.ok(list.body.items.some((a) => a.id === id));
  assertProblem(await city.post(`/api/v1/application-parts/${snap.id}/decision`, { decision: 'approve', version: 1 }), 404);
  assertProblem(await state.post(`/api/v1/application-parts/${snap.id}/decision`, { decision: 'deny', version: 1 }), 400, { fields: ['note'] });
  const asked = await state.post(`/api/v1/application-parts/${snap.id}/decision`,
    { decision: 'request_information', version: 1, note: 'Payslips for the last 30 days' });
  assert.equal(asked.status, 200, asked.text);
  assert.equal(asked.body.parts[0].state, 'more_information');
  const twice = await state.post(`/api/v1/application-parts/${snap.id}/decision`, { decision: 'request_information', version: 2, note: 'x' });
  assertProblem(twice, 409);
  assert.match(twice.body.detail, /more_information; it may only be given information_received, approve or deny/);
  const approved = await state.post(`/api/v1/application-parts/${snap.id}/decision`, { decision: 'approve', version: 2 });
  assert.equal(approved.status, 200, approved.text);
  assertProblem(await state.post(`/api/v1/application-parts/${snap.id}/decision`, { decision: 'approve', version: 2 }), 409);
  const all = await city.get(`/api/v1/applications/${id}`);
  assert.deepEqual(all.body.parts.map((p) => p.state), ['approved', 'pending']);
  assert.equal(await count(`outbox WHERE type LIKE 'application.%' AND aggregate_id = '${id}'`), 3);
  assert.equal(await count(`audit_log WHERE person_id = ${person} AND action IN ('application.submit', 'application.request_information', 'application.approve')`), 3);

  // The applicant moves: the state, which decided their SNAP, is told, as the city's own
  // change to the record tells every agency that knows them.
  const current = await city.get(`/api/v1/persons/${person}`);
  const { id: _id, version: _v, created_at: _c, updated_at: _u, household: _h, source_records: _s, ...body } = current.body;
  const moved = await city.put(`/api/v1/persons/${person}`,
    { ...body, addresses: [{ use: 'home', line1: '4 New Street', city: 'Northside' }] },
    { headers: { 'If-Match': current.headers.get('etag') } });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(await count(`change_notices n JOIN agencies a ON a.id = n.agency_id WHERE n.person_id = ${person} AND a.code = 'state-benefits'`), 1);
  const known = await city.get(`/api/v1/persons/${person}/agencies`);
  assert.ok(known.body.items.some((k) => k.agency.code === 'state-benefits' && k.capacity === 'applied'), known.text);
});

test('the apply form chooses the head of the household as applicant, whoever is listed first', T, async () => {
  const add = async (given, birth) => (await city.post('/api/v1/persons',
    { names: [{ use: 'official', given, family: 'Firstlisted' }], birth_date: birth })).body.id;
  const child = await add('Tama', '2016-05-05');
  const head = await add('Hine', '1984-03-03');
  const h = await city.post('/api/v1/households', { name: 'The Firstlisted household' });
  for (const [id, relationship] of [[child, 'child'], [head, 'head']]) {
    const m = await city.post(`/api/v1/households/${h.body.id}/members`, { person_id: id, relationship, since: '2020-01-01' });
    assert.equal(m.status, 200, m.text);
  }
  const s = await city.post('/api/v1/screenings', {
    household_id: h.body.id,
    inputs: { earned_income: '900', unearned_income: 0, shelter_costs: '700', has_elderly_or_disabled_member: false, countable_assets: '0' },
  });
  assert.equal(s.status, 201, s.text);
  const page = await city.get(`/screenings/${s.body.id}`);
  assert.equal(page.status, 200);
  const checked = [...page.text.matchAll(/<input[^>]*name="applicant_id"[^>]*>/g)].map((m) => m[0])
    .filter((tag) => /\bchecked\b/.test(tag));
  assert.equal(checked.length, 1);
  assert.match(checked[0], new RegExp(`value="${head}"`));
  assert.ok(page.text.indexOf(`value="${child}"`) < page.text.indexOf(`value="${head}"`), 'the child is listed first');
});

test('the pages: apply from the screening page, then decide from the agency list', T, async () => {
  const page = await city.get(`/screenings/${screening}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /Apply once for several programs/);
  assert.match(page.text, /id="expedited-snap"/);
  const csrf = hiddenCsrf(page.text);
  const body = new URLSearchParams({ csrf_token: csrf, screening_id: String(screening), applicant_id: String(person) });
  // Nothing chosen: back to the screening's page with the reason, nothing saved.
  const none = await city.req('POST', '/applications/new', { body: body.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(none.status, 303);
  assert.match(none.headers.get('location'), new RegExp(`^/screenings/${screening}\\?apply_error=`));
  assert.match((await city.get(none.headers.get('location').replace(/#.*/, ''))).text, /href="#apply">Choose at least one program to apply for/);
  // A mistake keeps what was chosen: the programs ticked (not the likely ones), expedited service, the applicant.
  const wrong = new URLSearchParams(body);
  wrong.append('programs', 'wic');
  wrong.append('expedited', 'snap');
  const mistaken = await city.req('POST', '/applications/new', { body: wrong.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(mistaken.status, 303);
  const back = await city.get(mistaken.headers.get('location').replace(/#.*/, ''));
  assert.match(back.text, /href="#apply">/);
  assert.match(back.text, /id="program-wic" name="programs" type="checkbox" value="wic" checked>/);
  assert.match(back.text, /id="program-snap" name="programs" type="checkbox" value="snap">/);
  assert.match(back.text, /id="expedited-snap" name="expedited" type="checkbox" value="snap" checked>/);
  assert.match(back.text, new RegExp(`id="applicant-${person}" name="applicant_id" type="radio" value="${person}" checked>`));
  body.append('programs', 'snap');
  const made = await city.req('POST', '/applications/new', { body: body.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(made.status, 303, made.text.slice(0, 300));
  const path = made.headers.get('location').split('?')[0];
  const id = Number(path.split('/').pop());
  assert.match((await city.get(made.headers.get('location'))).text, /Application made/);

  const list = await state.get('/applications');
  assert.match(list.text, new RegExp(`href="/applications/${id}">Wiremu Applies`));
  const view = await state.get(path);
  const stateCsrf = hiddenCsrf(view.text);
  const part = view.text.match(/name="part" value="(\d+)"/)[1];
  const decide = (fields) => state.req('POST', path, {
    body: new URLSearchParams({ csrf_token: stateCsrf, part, version: '1', ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const noReason = await decide({ decision: 'deny', note: '' });
  assert.equal(noReason.status, 400);
  assert.match(noReason.text, /Give the reason for the denial/);
  // What was chosen and typed comes back, the mistake beside its field.
  assert.match(noReason.text, new RegExp(`id="decision-${part}-deny" name="decision" type="radio" value="deny" checked`));
  assert.match(noReason.text, new RegExp(`id="note-${part}-error"`));
  const noDecision = await decide({ note: 'Waiting for the payslips of March' });
  assert.equal(noDecision.status, 400);
  assert.match(noDecision.text, />Waiting for the payslips of March<\/textarea>/);
  assert.match(noDecision.text, new RegExp(`id="decision-${part}-error"`));
  const denied = await decide({ decision: 'deny', note: 'Income above the limit for a household of one.' });
  assert.equal(denied.status, 303);
  const after = await state.get(path);
  assert.match(after.text, /Denied/);
  assert.match(after.text, /Income above the limit/);
  assert.doesNotMatch(after.text, /Save the decision/);
});

test('the application page gives its days in the deployment\'s time zone, as the statutory clock counts them', T, async () => {
  // A zone whose calendar day is not UTC's right now: fourteen hours ahead, or twelve behind.
  const day = (zone, at) => new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
  const now = new Date();
  const zone = day('Pacific/Kiritimati', now) !== now.toISOString().slice(0, 10) ? 'Pacific/Kiritimati' : 'Etc/GMT+12';
  const local = await serve(db, { env: { ONEDOOR_TIME_ZONE: zone } });
  try {
    const cw = await login(local.url, 'caseworker.city', { purpose: 'eligibility' });
    const made = await cw.post('/api/v1/applications', { screening_id: screening, applicant_id: person, programs: ['lifeline'] });
    assert.equal(made.status, 201, made.text);
    const today = day(zone, new Date());
    assert.notEqual(today, new Date().toISOString().slice(0, 10), 'the test needs a day other than UTC\'s');
    assert.equal(made.body.parts[0].received, today);
    const page = await cw.get(`/applications/${made.body.id}`);
    assert.equal(page.status, 200);
    assert.ok(page.text.includes(`, ${today}</dd>`), /Made at[\s\S]{0,300}/.exec(page.text)?.[0]);
  } finally {
    await local.stop();
  }
});

test('the agency deciding a part reads the answers on the application, without a link to a screening it may not open', T, async () => {
  // A household of two: the applicant and a child only the city holds.
  const mk = async (given, birth) => (await city.post('/api/v1/persons', { names: [{ use: 'official', given, family: 'Answers' }], birth_date: birth })).body.id;
  const adult = await mk('Hine', '1985-03-03');
  const child = await mk('Aroha', '2021-07-07');
  const h = (await city.post('/api/v1/households', { name: 'The Answers household' })).body.id;
  assert.equal((await city.post(`/api/v1/households/${h}/members`, { person_id: adult, relationship: 'head', since: '2020-01-01' })).status, 200);
  assert.equal((await city.post(`/api/v1/households/${h}/members`, { person_id: child, relationship: 'child', since: '2021-07-07' })).status, 200);
  const s = await city.post('/api/v1/screenings', {
    household_id: h,
    inputs: { earned_income: '1250.50', unearned_income: 0, shelter_costs: '700', has_elderly_or_disabled_member: false, countable_assets: '0' },
  });
  assert.equal(s.status, 201, s.text);
  const made = await city.post('/api/v1/applications', { screening_id: s.body.id, applicant_id: adult, programs: ['snap'] });
  assert.equal(made.status, 201, made.text);
  const path = `/applications/${made.body.id}`;

  // Signed in for service delivery, for which no agreement gives the state household income.
  const state = await login(server.url, 'caseworker.state', { purpose: 'service_delivery' });
  const refusals = () => count(`audit_log WHERE allowed = 0 AND person_id IN (${adult}, ${child})`);
  const before = await refusals();
  const theirs = await state.get(path);
  assert.equal(theirs.status, 200);
  // The screening is named, not linked: its household holds a child the agency does not.
  assert.doesNotMatch(theirs.text, new RegExp(`href="/screenings/${s.body.id}"`));
  assert.match(theirs.text, new RegExp(`Screening ${s.body.id} <span class="govuk-hint">\\(its answers are below\\)</span>`));
  assert.equal((await state.get(`/screenings/${s.body.id}`)).status, 403, 'indeed refused');
  // The answers, as the form asks them.
  assert.match(theirs.text, /The answers given at the screening/);
  assert.match(theirs.text, /<dt class="govuk-summary-list__key">Earned income<\/dt><dd class="govuk-summary-list__value">\$1,250\.50<\/dd>/);
  assert.match(theirs.text, /<dt class="govuk-summary-list__key">Someone aged 60 or over or disabled<\/dt><dd class="govuk-summary-list__value">No<\/dd>/);
  assert.match(theirs.text, /<h2 class="govuk-heading-s">Person 2<\/h2>/);
  assert.match(theirs.text, /<dt class="govuk-summary-list__key">Age in years<\/dt><dd class="govuk-summary-list__value">\d+<\/dd>/);
  // In Spanish too, amounts as the results show them.
  const es = await state.req('GET', path, { headers: { 'Accept-Language': 'es' } });
  assert.match(es.text, /\$1,250\.50/);
  assert.match(es.text, /Las respuestas dadas en la evaluación/);
  // The program's name in the page's language too.
  assert.match(es.text, /SNAP \(Programa de Asistencia Nutricional Suplementaria\)/);
  // Only the state's refused read of the screening above was recorded: none by the page.
  assert.equal(await refusals(), before + 2);
  // The agency that made the screening is offered it.
  assert.match((await city.get(path)).text, new RegExp(`href="/screenings/${s.body.id}"`));
});
