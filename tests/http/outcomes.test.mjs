// The outcomes framework and the integration diagnostic over HTTP: the demo consortium's
// outcomes; governance defines outcomes and indicators, an agency's manager maps the agency's
// own programs and no other's; where the city's work counts, measured on its month; the
// diagnostic's answers give the model and journey of the study's cases; the pages' forms keep
// what was typed when they fail, and the saved diagnostic is shown, compared and listed.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/outcomes.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { assertProblem, hiddenCsrf, login, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;
let governance;
let manager;

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-outcomes-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  governance = await login(server.url, 'governance.city', { purpose: 'service_delivery' });
  manager = await login(server.url, 'manager.city', { purpose: 'service_delivery' });
});

after(async () => {
  await server?.stop();
});

const cityId = async () => Number(await sql(db, "SELECT id FROM agencies WHERE code = 'city-social'"));

test('outcomes: governance defines them, agencies map their own work, each sees where it counts', T, async () => {
  const demo = await manager.get('/api/v1/outcomes');
  assert.equal(demo.status, 200, demo.text);
  const names = demo.body.items.map((o) => o.name);
  assert.ok(names.includes('Households have enough to live on'), names.join(', '));
  const money = demo.body.items.find((o) => o.name === 'Households have enough to live on');
  assert.deepEqual(money.indicators.map((i) => i.label), ['Decisions within the statutory clock: at least 95%']);
  assert.deepEqual(money.contributions.map((c) => `${c.agency.name}: ${c.name}`).sort(), [
    'City Social Services Department: Riverside winter fuel grant',
    'Harbour Community Trust: Harbour food bank card',
    'State Benefits Agency: Supplemental Nutrition Assistance Program (SNAP)',
  ]);

  // Only governance defines; mistakes are named; nothing is saved from a refused or bad request.
  const refused = await manager.post('/api/v1/outcomes', { name: 'Ours alone' });
  assertProblem(refused, 403);
  assertProblem(await governance.post('/api/v1/outcomes', { name: '', colour: 'red' }), 400, { fields: ['colour', 'name'] });
  const before = Number(await sql(db, 'SELECT count(*) FROM outcomes'));
  const made = await governance.post('/api/v1/outcomes', { name: 'People find work that lasts', description: 'In work a year on.' });
  assert.equal(made.status, 201, made.text);
  assert.equal(Number(await sql(db, 'SELECT count(*) FROM outcomes')), before + 1);
  assertProblem(await governance.post(`/api/v1/outcomes/${made.body.id}/indicators`, { metric: 'joy', comparison: 'at_least', target: 'high' }), 400,
    { fields: ['target'] });
  assertProblem(await governance.post(`/api/v1/outcomes/${made.body.id}/indicators`, { metric: 'joy', comparison: 'at_least', target: 50 }), 400,
    { fields: ['metric'] });
  const indicator = await governance.post(`/api/v1/outcomes/${made.body.id}/indicators`,
    { metric: 'first_contact_resolution_percent', comparison: 'at_least', target: 60 });
  assert.equal(indicator.status, 201, indicator.text);
  assert.equal(indicator.body.label, 'Contacts resolved at the first contact: at least 60%');

  // The city's manager maps the city's program, not the state's.
  const mapped = await manager.post(`/api/v1/outcomes/${made.body.id}/contributions`,
    { kind: 'program', ref: 'winter_fuel_grant', how: 'Warm homes keep people well enough to work' });
  assert.equal(mapped.status, 201, mapped.text);
  assert.equal(mapped.body.agency.id, await cityId());
  assertProblem(await manager.post(`/api/v1/outcomes/${made.body.id}/contributions`, { kind: 'program', ref: 'snap', how: 'Food' }), 400,
    { fields: ['ref'] });
  const state = Number(await sql(db, "SELECT id FROM agencies WHERE code = 'state-benefits'"));
  assertProblem(await manager.post(`/api/v1/outcomes/${made.body.id}/contributions`,
    { agency_id: state, kind: 'program', ref: 'snap', how: 'Food' }), 403);
  assert.equal(Number(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'contribution.add' AND allowed = 0")), 1);

  // Where the city's work counts this month: six contacts, five resolved → 83.3%, above 60%.
  const desk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });
  for (let i = 0; i < 6; ++i) {
    const r = await desk.post('/api/v1/interactions', { channel: 'desk', topic: 'Work', outcome: i < 5 ? 'resolved' : 'follow_up' });
    assert.equal(r.status, 201, r.text);
  }
  const where = await manager.get(`/api/v1/agencies/${await cityId()}/outcomes`);
  assert.equal(where.status, 200, where.text);
  const work = where.body.outcomes.find((o) => o.outcome.id === made.body.id);
  assert.ok(work, 'the new outcome is among the city\'s');
  assert.deepEqual(work.contributions.map((c) => c.name), ['Riverside winter fuel grant']);
  assert.equal(work.indicators[0].status, 'met');
  assert.ok(Math.abs(work.indicators[0].actual - 83.3) < 0.1, String(work.indicators[0].actual));
  assertProblem(await manager.get(`/api/v1/agencies/${await cityId()}/outcomes?month=May`), 400, { fields: ['month'] });
  assertProblem(await manager.get(`/api/v1/agencies/${state}/outcomes`), 403);

  // The page: where the work counts, and the framework's form keeping what was typed.
  const page = await manager.get('/performance/outcomes/agency');
  assert.equal(page.status, 200);
  assert.match(page.text, /People find work that lasts/);
  assert.match(page.text, /govuk-tag--green">Met/);
  const framework = await governance.get('/performance/outcomes');
  assert.equal(framework.status, 200);
  const csrf = hiddenCsrf(framework.text);
  const bad = await governance.req('POST', '/performance/outcome-indicators', {
    body: new URLSearchParams({ csrf_token: csrf, outcome_id: String(made.body.id), metric: 'satisfied_percent', comparison: 'at_least', target: '150' }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /href="#indicator-target">A share from 0 to 100/);
  assert.match(bad.text, /id="indicator-target" name="target" type="text" inputmode="decimal" value="150"/);
  // A manager has no form to define outcomes.
  assert.doesNotMatch((await manager.get('/performance/outcomes')).text, /Define an outcome/);

  // Removing the outcome takes its indicators and map.
  const removed = await governance.req('DELETE', `/api/v1/outcomes/${made.body.id}`);
  assert.equal(removed.status, 204);
  assert.equal(Number(await sql(db, `SELECT count(*) FROM outcome_contributions WHERE outcome_id = ${made.body.id}`)), 0);
});

function answers(range, frequency, nature, expertise, challenge, facility) {
  const complexity = { range, frequency, nature, expertise };
  return { complexity, ratings: null, challenge, facility };
}

test('the integration diagnostic: the study\'s cases, saved, compared and printable', T, async () => {
  const questions = await manager.get('/api/v1/diagnostics/questions');
  assert.equal(questions.status, 200, questions.text);
  assert.deepEqual(questions.body.complexity.map((q) => q.key), ['range', 'frequency', 'nature', 'expertise']);
  const ratings = (challenge, facility) => Object.fromEntries(
    questions.body.statements.map((s) => [s.key, s.kind === 'challenge' ? challenge : facility]));
  const save = (initiative, a) => governance.post('/api/v1/diagnostics', {
    initiative, complexity: a.complexity, ratings: ratings(a.challenge, a.facility),
  });

  // Access Washington: information and signposting for a broad range of services.
  const aw = await save('Portal', answers(2, 2, 1, 1, 2, 3));
  assert.equal(aw.status, 201, aw.text);
  assert.equal(aw.body.assessment.model.key, 'interface');
  // Strengthening Families: complex, many-sided needs served over time by many professionals.
  const sf = await save('Families', answers(4, 4, 4, 4, 3, 2));
  assert.equal(sf.status, 201, sf.text);
  assert.equal(sf.body.assessment.model.name, 'Networked delivery');
  assert.equal(sf.body.assessment.journey, 'evolutionary');
  // Tameside: a complex need but specific tasks, and a strong facility for change.
  const tameside = await save('Pension credit', answers(3, 2, 3, 4, 1, 4));
  assert.equal(tameside.body.assessment.model.key, 'joint');
  assert.equal(tameside.body.assessment.journey, 'transformational');
  assert.equal(tameside.body.assessment.pace, 'quick');

  // Every missing answer is named; a caseworker may not plan; nothing is saved.
  const count = Number(await sql(db, 'SELECT count(*) FROM diagnostics'));
  const missing = await governance.post('/api/v1/diagnostics', { initiative: 'X', complexity: { range: 2, nature: 9 }, ratings: {} });
  assertProblem(missing, 400);
  const fields = missing.body.errors.map((e) => e.field);
  assert.ok(fields.includes('complexity.frequency') && fields.includes('complexity.nature') && fields.includes('ratings.workforce.skills'),
    fields.join(', '));
  const caseworker = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  assertProblem(await caseworker.post('/api/v1/diagnostics', { initiative: 'X', complexity: {}, ratings: {} }), 403);
  assertProblem(await caseworker.get('/api/v1/diagnostics'), 403);
  assert.equal(Number(await sql(db, 'SELECT count(*) FROM diagnostics')), count);

  // The form: a missing answer keeps the others; a complete one shows the result page.
  const form = await manager.get('/performance/diagnostics/new');
  assert.equal(form.status, 200);
  const body = new URLSearchParams({ csrf_token: hiddenCsrf(form.text), initiative: 'Families', note: 'Second workshop' });
  for (const [k, v] of Object.entries({ range: 4, frequency: 4, nature: 4, expertise: 4 })) body.append(`complexity.${k}`, String(v));
  const half = new URLSearchParams(body);
  half.delete('complexity.nature');
  const post = (b) => manager.req('POST', '/performance/diagnostics', { body: b.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  const failed = await post(half);
  assert.equal(failed.status, 400);
  assert.match(failed.text, /href="#complexity-nature">Choose an answer/);
  assert.match(failed.text, /id="complexity-range-4" name="complexity.range" type="radio" value="4" checked/);
  for (const [k, v] of Object.entries(ratings(2, 3))) body.append(`ratings.${k}`, String(v));
  const saved = await post(body);
  assert.equal(saved.status, 303, saved.text.slice(0, 300));
  const view = await manager.get(saved.headers.get('location'));
  assert.equal(view.status, 200);
  assert.match(view.text, /Networked delivery/);
  assert.match(view.text, /Transformational, quick pace/);
  assert.match(view.text, /Compare with the assessment before it/);
  const compare = /href="(\/performance\/diagnostics\/compare\?a=\d+&amp;b=\d+)"/.exec(view.text);
  assert.ok(compare, 'a link to compare with the earlier one');
  const compared = await manager.get(compare[1].replace('&amp;', '&'));
  assert.equal(compared.status, 200);
  assert.match(compared.text, /The journey moved from evolutionary to transformational/);
  const list = await manager.get('/performance/diagnostics');
  assert.match(list.text, /Pension credit/);
});
