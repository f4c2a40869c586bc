// Tiered work queues over HTTP, with the demo's teams: a referral the city sends to the state
// lands in the state's front-line queue (the intake rules: not urgent), an urgent one in the
// specialists'; a front-line worker claims one on the page, escalates it with a reason, and the
// specialist finishes it; the referral's answer settles the rest.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/work.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { assertProblem, hiddenCsrf, login, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;
let city;
let front;
let specialist;
let person;
let consent;
let state;

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-work-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  city = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  front = await login(server.url, 'caseworker.state', { purpose: 'case_work' });
  specialist = await login(server.url, 'specialist.state', { purpose: 'case_work' });
  state = Number(await sql(db, "SELECT id FROM agencies WHERE code = 'state-benefits'"));
  const p = await city.post('/api/v1/persons', { names: [{ use: 'official', given: 'Rua', family: 'Queue' }] });
  person = p.body.id;
  const c = await city.post(`/api/v1/persons/${person}/consents`, {
    receiving_agency_id: state, scope: 'partial', categories: ['identity', 'contact'], purpose: 'service_delivery',
    legal_basis: 'consent', how_to_withdraw: 'Tell us.', evidence: 'signed_form', document_ref: 'W-1',
  });
  assert.equal(c.status, 201, c.text);
  consent = c.body.id;
});

after(async () => {
  await server?.stop();
});

// Each a referral of its own: the same one sent again at once is refused as sent twice.
let referrals = 0;
const refer = (urgency) => city.post('/api/v1/referrals',
  { person_id: person, to_agency_id: state, urgency, message: `Needs help (${++referrals}).`, consent_id: consent });

test('incoming referrals are routed by the intake rules, claimed, escalated and finished', T, async () => {
  const soon = await refer('soon');
  assert.equal(soon.status, 201, soon.text);
  const urgent = await refer('urgent');
  assert.equal(urgent.status, 201, urgent.text);

  const teams = await front.get('/api/v1/teams');
  assert.deepEqual(teams.body.items.map((t) => [t.name, t.tier]), [['Front line', 'front_line'], ['Specialists', 'specialist']]);
  const mine = await front.get('/api/v1/work');
  assert.equal(mine.status, 200, mine.text);
  assert.deepEqual(mine.body.items.map((w) => [w.source.id, w.tier, w.team.name]), [[soon.body.id, 'front_line', 'Front line']]);
  const theirs = await specialist.get('/api/v1/work');
  assert.deepEqual(theirs.body.items.map((w) => [w.source.id, w.rule]), [[urgent.body.id, 'Urgent referrals go to the specialists']]);

  // On the page: claim, then escalate without and with a reason.
  const page = await front.get('/work');
  assert.equal(page.status, 200);
  assert.match(page.text, /Referral from City Social Services Department/);
  const csrf = hiddenCsrf(page.text);
  const item = mine.body.items[0];
  const post = (fields) => front.req('POST', `/work/${item.id}`, {
    body: new URLSearchParams({ csrf_token: csrf, ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal((await post({ action: 'claim', version: String(item.version) })).status, 303);
  const claimed = (await front.get('/api/v1/work')).body.items[0];
  assert.equal(claimed.assignee, 'caseworker.state');
  const noReason = await post({ action: 'escalate', version: String(claimed.version), note: '' });
  assert.equal(noReason.status, 400);
  assert.match(noReason.text, /Say why it needs a specialist/);
  assert.equal((await post({ action: 'escalate', version: String(claimed.version), note: 'Debts with several creditors' })).status, 303);
  assert.equal((await front.get('/api/v1/work')).body.items.length, 0);
  const up = (await specialist.get('/api/v1/work')).body.items.find((w) => w.id === item.id);
  assert.ok(up.escalated);
  assertProblem(await specialist.post(`/api/v1/work/${item.id}/actions`, { action: 'done', version: up.version }), 403);
  const got = await specialist.post(`/api/v1/work/${item.id}/actions`, { action: 'claim', version: up.version });
  assert.equal(got.status, 200, got.text);
  const done = await specialist.post(`/api/v1/work/${item.id}/actions`, { action: 'done', version: got.body.version });
  assert.equal(done.body.state, 'done');
  assertProblem(await specialist.post(`/api/v1/work/${item.id}/actions`, { action: 'claim', version: done.body.version }), 409);

  // Answering the urgent referral settles its work.
  const r = await specialist.post(`/api/v1/referrals/${urgent.body.id}/actions`, { action: 'accept', version: urgent.body.version });
  assert.equal(r.status, 200, r.text);
  assert.equal((await specialist.get('/api/v1/work')).body.items.length, 0);
  assert.equal(Number(await sql(db, "SELECT count(*) FROM outbox WHERE type LIKE 'work.%'")), 2 + 4);
});

test('a manager sets up a team and adds a member from the teams page', T, async () => {
  const admin = await login(server.url, 'admin.state', { purpose: 'administration' });
  const page = await admin.get('/teams');
  assert.equal(page.status, 200);
  assert.match(page.text, /Front line[\s\S]*Specialists/);
  const csrf = hiddenCsrf(page.text);
  const post = (path, fields) => admin.req('POST', path, {
    body: new URLSearchParams({ csrf_token: csrf, ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const bad = await post('/teams', { name: '', tier: 'front_line', skills: 'Crisis!' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /href="#name">Give the team a name/);
  assert.equal((await post('/teams', { name: 'Housing crisis', tier: 'specialist', skills: 'crisis housing' })).status, 303);
  const team = Number(await sql(db, "SELECT id FROM teams WHERE name = 'Housing crisis'"));
  const user = Number(await sql(db, "SELECT id FROM users WHERE username = 'caseworker.state'"));
  assert.equal((await post(`/teams/${team}/members`, { user_id: String(user) })).status, 303);
  assert.match((await admin.get('/teams')).text, /Housing crisis[\s\S]*Skills: crisis, housing\. Members:[\s\S]*caseworker\.state/);
  assert.equal((await front.get('/teams')).text.includes('Create the team'), false, 'only managers and administrators');
});

test("the person's timeline puts their referrals, as each agency may see them, newest first", T, async () => {
  const t = await city.get(`/api/v1/persons/${person}/timeline`);
  assert.equal(t.status, 200, t.text);
  const texts = t.body.items.map((e) => e.text);
  assert.ok(texts.some((x) => /^Referred by City Social Services Department to State Benefits Agency \(urgent\)$/.test(x)), texts.join('\n'));
  assert.ok(texts.some((x) => x === 'State Benefits Agency accepted the referral'), texts.join('\n'));
  const times = t.body.items.map((e) => e.at);
  assert.deepEqual([...times].sort().reverse(), times, 'newest first');
  assert.match((await city.get(`/clients/${person}`)).text, /What has happened[\s\S]*Referred by City Social Services Department/);
  const ngo = await login(server.url, 'caseworker.ngo', { purpose: 'case_work' });
  assert.deepEqual((await ngo.get(`/api/v1/persons/${person}/timeline`)).body.items, []);
  const auditor = await login(server.url, 'auditor.city', { purpose: 'audit' });
  assertProblem(await auditor.get(`/api/v1/persons/${person}/timeline`), 403);
});

test('a joint team: the state gives its front-line work to a city team, whose member answers for the state', T, async () => {
  const cityManager = await login(server.url, 'manager.city', { purpose: 'service_delivery' });
  const stateManager = await login(server.url, 'admin.state', { purpose: 'administration' });
  const cityId = Number(await sql(db, "SELECT id FROM agencies WHERE code = 'city-social'"));
  const made = await cityManager.post('/api/v1/teams', { name: 'Joint assessment', tier: 'front_line' });
  assert.equal(made.status, 201, made.text);
  const team = made.body.id;
  const worker = Number(await sql(db, "SELECT id FROM users WHERE username = 'caseworker.city'"));
  assert.equal((await cityManager.post(`/api/v1/teams/${team}/members`, { user_id: worker })).status, 200);
  // An agreement in force letting the city receive the state's data for service delivery.
  const agreement = Number(await sql(db, `SELECT min(id) FROM sharing_agreements WHERE receiving_agency_id = ${cityId}
    AND state = 'approved' AND purpose IN ('case_work', 'service_delivery') AND (holding_agency_id IS NULL OR holding_agency_id = ${state})`));
  assertProblem(await front.post(`/api/v1/teams/${team}/joint`, { agreement_id: agreement }), 403);
  assertProblem(await stateManager.post(`/api/v1/teams/${team}/joint`, {}), 400, { fields: ['agreement_id'] });
  const joined = await stateManager.post(`/api/v1/teams/${team}/joint`, { agreement_id: agreement });
  assert.equal(joined.status, 200, joined.text);
  assert.deepEqual(joined.body.joint_for.map((j) => j.agency_id), [state]);
  assert.ok((await stateManager.get('/api/v1/teams')).body.items.some((t) => t.id === team && t.agency_name === 'City Social Services Department'));

  // The state's not-urgent referral goes to the joint team, and the city's member answers it for the state.
  const sent = await refer('soon');
  assert.equal(sent.status, 201, sent.text);
  const work = await city.get('/api/v1/work');
  assert.equal(work.status, 200, work.text);
  const item = work.body.items.find((w) => w.source.id === sent.body.id);
  assert.ok(item, JSON.stringify(work.body.items));
  assert.equal(item.agency_id, state);
  assert.equal(item.team.id, team);
  const claimed = await city.post(`/api/v1/work/${item.id}/actions`, { action: 'claim', version: item.version });
  assert.equal(claimed.status, 200, claimed.text);
  const accepted = await city.post(`/api/v1/referrals/${sent.body.id}/actions`, { action: 'accept', version: sent.body.version });
  assert.equal(accepted.status, 200, accepted.text);
  assert.equal(accepted.body.state, 'accepted');
  assert.match(JSON.stringify(accepted.body.events.at(-1)), /caseworker\.city for State/);
  assert.equal(await sql(db, `SELECT state FROM work_items WHERE id = ${item.id}`), 'done');

  // The teams page shows the joint team to the state's manager, who takes the work back.
  const page = await stateManager.get('/teams');
  assert.match(page.text, /Teams of other agencies that do your work/);
  assert.match(page.text, /Joint assessment, City Social Services Department/);
  const left = await stateManager.req('DELETE', `/api/v1/teams/${team}/joint`);
  assert.equal(left.status, 200, left.text);
  assert.deepEqual(left.body.joint_for, []);
  assertProblem(await stateManager.req('DELETE', `/api/v1/teams/${team}/joint`), 404);
  // A member leaves a team.
  const removed = await cityManager.req('DELETE', `/api/v1/teams/${team}/members/${worker}`);
  assert.equal(removed.status, 200, removed.text);
  assert.deepEqual(removed.body.members, []);
  assertProblem(await cityManager.req('DELETE', `/api/v1/teams/${team}/members/${worker}`), 400, { fields: ['user_id'] });
});
