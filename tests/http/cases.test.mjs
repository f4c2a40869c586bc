// Multi-agency cases over HTTP: opened by the city's coordinator (a caseworker is refused, 403
// audited), the state joining on the person's consent (400 naming consent_id without one), a
// conference held, the state appointed lead, a goal and an action the state carries out, a
// review, closure refused while a conference is scheduled and then done; a stale version and a
// closed case are 409; an agency not taking part gets 404; every change is on the timeline, in
// the audit log about the person and an outbox event. Then the same through the pages.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/cases.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { assertProblem, hiddenCsrf, login, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;
let coordinator;
let city;
let state;
let ngo;
let person;
let consent;
const agency = {};

const count = async (where) => Number(await sql(db, `SELECT count(*) FROM ${where}`));

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-cases-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  coordinator = await login(server.url, 'coordinator.city', { purpose: 'case_work' });
  city = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  state = await login(server.url, 'caseworker.state', { purpose: 'case_work' });
  ngo = await login(server.url, 'caseworker.ngo', { purpose: 'case_work' });
  for (const code of ['city-social', 'state-benefits', 'harbour-trust']) {
    agency[code] = Number(await sql(db, `SELECT id FROM agencies WHERE code = '${code}'`));
  }
  const created = await city.post('/api/v1/persons', {
    names: [{ use: 'official', given: 'Aroha', family: 'Casework' }],
    phones: [{ use: 'mobile', value: '+61 400 555 020' }],
  });
  assert.equal(created.status, 201, created.text);
  person = created.body.id;
  const given = await city.post(`/api/v1/persons/${person}/consents`, {
    receiving_agency_id: agency['state-benefits'], scope: 'partial', categories: ['identity', 'contact'],
    purpose: 'case_work', legal_basis: 'GDPR art. 6(1)(a): consent', how_to_withdraw: 'Tell the coordinator.',
    evidence: 'signed_form', document_ref: 'CASE-CONSENT-1',
  });
  assert.equal(given.status, 201, given.text);
  consent = given.body.id;
});

after(async () => {
  await server?.stop();
});

test('a case from opening to closure, with its agencies, conference, plan and review', T, async () => {
  const draft = { person_id: person, title: 'Casework family support', criteria: 'Needs from three agencies; the family agrees.' };
  assertProblem(await city.post('/api/v1/cases', draft), 403);
  assert.equal(await count("audit_log WHERE action = 'case.open' AND allowed = 0"), 1);
  assertProblem(await coordinator.post('/api/v1/cases', { ...draft, title: '', review_every_days: 400 }), 400,
    { fields: ['title', 'review_every_days'] });
  const opened = await coordinator.post('/api/v1/cases', draft);
  assert.equal(opened.status, 201, opened.text);
  assert.equal(opened.headers.get('location'), `/api/v1/cases/${opened.body.id}`);
  const id = opened.body.id;
  let version = opened.body.version;
  const post = async (who, path, body, status = 200) => {
    const r = await who.post(`/api/v1/cases/${id}${path}`, { ...body, version });
    assert.equal(r.status, status, r.text);
    if (status === 200) version = r.body.version;
    return r;
  };
  assertProblem(await state.get(`/api/v1/cases/${id}`), 404);
  assertProblem(await coordinator.post(`/api/v1/cases/${id}/participants`, { agency_id: agency['state-benefits'], version }), 400,
    { fields: ['consent_id'] });
  await post(coordinator, '/participants', { agency_id: agency['state-benefits'], consent_id: consent });
  assert.equal((await state.get(`/api/v1/cases/${id}`)).status, 200);
  assertProblem(await ngo.get(`/api/v1/cases/${id}`), 404);

  const scheduled = await post(coordinator, '/conferences',
    { scheduled_at: '2026-03-02T10:00', place: 'Riverside One-Stop Centre', attendees: 'Aroha Casework\ncoordinator.city' });
  const conference = scheduled.body.conferences[0].id;
  const early = await coordinator.post(`/api/v1/cases/${id}/close`, { outcome: 'x', reason: 'y', version });
  assertProblem(early, 409);
  assert.match(early.body.detail, /still scheduled/);
  await post(coordinator, `/conferences/${conference}`,
    { outcome: 'held', minutes: 'Aroha wants work and a home.', decisions: 'The state leads.' });
  assertProblem(await coordinator.post(`/api/v1/cases/${id}/conferences/${conference}`,
    { outcome: 'cancelled', minutes: 'x', version }), 409);
  const lead = await post(coordinator, '/lead', { agency_id: agency['state-benefits'] });
  assert.equal(lead.body.lead_agency.id, agency['state-benefits']);
  const goal = await post(coordinator, '/goals', { text: 'A steady income' });
  const goalId = goal.body.plan[0].id;
  const action = await post(coordinator, '/actions',
    { goal_id: goalId, text: 'Assess for income support', agency_id: agency['state-benefits'], due: '2026-03-20' });
  const actionId = action.body.plan[1].id;
  // An action still open when the case closes: its work leaves the state's queue with the case.
  const open = await post(coordinator, '/actions', { text: 'Check the housing benefit', agency_id: agency['state-benefits'], due: '2026-03-27' });
  const openId = open.body.plan.at(-1).id;
  assert.equal(await count(`work_items WHERE source = 'case_action' AND source_id = ${openId} AND state = 'open'`), 1);
  assertProblem(await state.post(`/api/v1/cases/${id}/goals`, { text: 'More', version }), 403);
  assertProblem(await state.post(`/api/v1/cases/${id}/items/${actionId}`, { state: 'done', version: 1 }), 409);
  await post(state, `/items/${actionId}`, { state: 'done', note: 'Granted.' });
  await post(coordinator, `/items/${goalId}`, { state: 'achieved' });
  await post(coordinator, '/reviews', { notes: 'Income steady.' });
  assertProblem(await coordinator.post(`/api/v1/cases/${id}/close`, { version }), 400, { fields: ['outcome', 'reason'] });
  const closed = await post(coordinator, '/close', { outcome: 'Aroha has a steady income.', reason: 'goals met' });
  assert.equal(closed.body.state, 'closed');
  assert.equal(await count(`work_items WHERE source = 'case_action' AND source_id IN (${actionId}, ${openId}) AND state <> 'done'`), 0);
  const late = await coordinator.post(`/api/v1/cases/${id}/goals`, { text: 'More', version });
  assertProblem(late, 409);
  assert.match(late.body.detail, /the case is closed/);

  assert.deepEqual(closed.body.timeline.map((e) => e.kind), ['opened', 'participant_added', 'conference_scheduled',
    'conference_held', 'lead_appointed', 'goal_added', 'action_added', 'action_added', 'action_done', 'goal_achieved', 'reviewed', 'closed']);
  assert.equal(await count(`outbox WHERE type LIKE 'case.%' AND aggregate_id = '${id}'`), 12);
  assert.equal(await count(`audit_log WHERE person_id = ${person} AND action LIKE 'case.%' AND allowed = 1 AND action NOT IN ('case.read', 'case.list', 'case.person')`), 12);
  assert.deepEqual((await state.get('/api/v1/cases?state=all')).body.items.map((c) => c.id), [id]);
  assert.equal((await ngo.get(`/api/v1/persons/${person}/cases`)).body.items.length, 0);
  assertProblem(await state.get('/api/v1/cases?state=shut'), 400, { fields: ['state'] });
});

test('the pages: opening a case from the client page and changing it with the forms', T, async () => {
  const client = await coordinator.get(`/clients/${person}`);
  assert.match(client.text, new RegExp(`href="/cases/new\\?person=${person}"`));
  const form = await coordinator.get(`/cases/new?person=${person}`);
  assert.equal(form.status, 200);
  const csrf = hiddenCsrf(form.text);
  const send = (path, fields) => coordinator.req('POST', path, {
    body: new URLSearchParams({ csrf_token: csrf, ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const bad = await send('/cases/new', { person_id: String(person), title: '', criteria: '', review_every_days: '28' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /href="#title">Give the case a short title/);
  const fraction = await send('/cases/new', { person_id: String(person), title: 'Half days', criteria: 'Checked.', review_every_days: '7.5' });
  assert.equal(fraction.status, 400, 'a fraction of a day is refused, not read as 7');
  assert.match(fraction.text, /href="#review_every_days">/);
  const made = await send('/cases/new', { person_id: String(person), title: 'Page case', criteria: 'Checked.', review_every_days: '14' });
  assert.equal(made.status, 303, made.text.slice(0, 200));
  const path = made.headers.get('location').split('?')[0];
  // Sent twice (a double click, a reload): one case, and the second is told where it is.
  const twice = await send('/cases/new', { person_id: String(person), title: 'page CASE', criteria: 'Checked.', review_every_days: '14' });
  assert.equal(twice.status, 400);
  assert.match(twice.text, new RegExp(`href="#title">Case ${path.split('/').pop()} of this client has this title and is open`));
  const page = await coordinator.get(path);
  assert.match(page.text, /Case opened/);
  assert.match(page.text, /Every 14 days/);
  const version = () => coordinator.get(path).then((r) => r.text.match(/name="version" value="(\d+)"/)[1]);
  const noAgency = await send(path, { command: 'add_participant', version: await version(), agency_id: '', consent_id: '' });
  assert.equal(noAgency.status, 400);
  assert.match(noAgency.text, /href="#add_participant-agency_id">Choose the agency to add/);
  const added = await send(path, { command: 'add_participant', version: await version(),
    agency_id: String(agency['state-benefits']), consent_id: String(consent) });
  assert.equal(added.status, 303);
  const stale = await send(path, { command: 'add_goal', version: '1', text: 'Late' });
  assert.equal(stale.status, 409);
  assert.match(stale.text, /The case changed since you loaded it/);
  const goal = await send(path, { command: 'add_goal', version: await version(), text: 'A home of their own' });
  assert.equal(goal.status, 303);
  // A mistake costs no one their text: the form comes back with what was typed and chosen.
  const badDue = await send(path, { command: 'add_action', version: await version(), text: 'Apply for the housing list',
    goal_id: '', agency_id: String(agency['state-benefits']), assignee: 'R. Hale', due: '2026-13-01' });
  assert.equal(badDue.status, 400);
  assert.match(badDue.text, /href="#add_action-due">Enter the date like 2026-03-31/);
  assert.match(badDue.text, /id="add_action-text" name="text" type="text" value="Apply for the housing list"/);
  assert.match(badDue.text, /id="add_action-assignee" name="assignee" type="text" value="R\. Hale"/);
  assert.match(badDue.text, /id="add_action-due" name="due" type="date" value="2026-13-01"/);
  assert.match(badDue.text, new RegExp(`id="add_action-agency_id"[^]*?<option value="${agency['state-benefits']}" selected>`));
  const noReason = await send(path, { command: 'close', version: await version(), outcome: 'Housed and working', reason: '' });
  assert.equal(noReason.status, 400, noReason.text.slice(0, 300));
  assert.match(noReason.text, /id="close-outcome" name="outcome" rows="3">Housed and working<\/textarea>/);
  // The conference form keeps its place and attendees.
  const badWhen = await send(path, { command: 'schedule_conference', version: await version(), scheduled_at: '2027-02-30 10:00',
    place: 'Room KEEP', attendees: 'Aroha\nThe state' });
  assert.equal(badWhen.status, 400);
  assert.match(badWhen.text, /id="schedule_conference-place" name="place" type="text" value="Room KEEP"/);
  assert.match(badWhen.text, /id="schedule_conference-attendees" name="attendees" rows="4">Aroha\nThe state<\/textarea>/);
  const nothing = await send(path, { command: 'schedule_conference', version: await version(), scheduled_at: 'soon',
    place: '', attendees: 'Aroha' });
  assert.equal(nothing.status, 400);
  assert.match(nothing.text, /href="#schedule_conference-scheduled_at">Enter the date and time like 2026-03-02 10:00/);
  assert.match(nothing.text, /href="#schedule_conference-place">/, 'the place is named at once too');
  // Recording a conference keeps its minutes after a mistake, and one still to come is not held yet.
  const past = await send(path, { command: 'schedule_conference', version: await version(), scheduled_at: '2026-01-05T10:00',
    place: 'Room 1', attendees: 'Aroha' });
  assert.equal(past.status, 303, past.text.slice(0, 300));
  const ahead = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);  // a month from now
  const future = await send(path, { command: 'schedule_conference', version: await version(), scheduled_at: `${ahead}T10:00`,
    place: 'Room 2', attendees: 'Aroha' });
  assert.equal(future.status, 303, future.text.slice(0, 300));
  const ids = [...(await coordinator.get(path)).text.matchAll(/name="conference" value="(\d+)"/g)].map((m) => m[1]);
  assert.equal(ids.length, 2);
  const noDecisions = await send(path, { command: 'record_conference', version: await version(), conference: ids[0], outcome: 'held',
    minutes: 'Met the family KEEP', decisions: '' });
  assert.equal(noDecisions.status, 400);
  assert.match(noDecisions.text, new RegExp(`href="#record_conference-${ids[0]}-decisions">Write what was decided`));
  assert.match(noDecisions.text, new RegExp(`id="record_conference-${ids[0]}-minutes" name="minutes" rows="4">Met the family KEEP</textarea>`));
  assert.match(noDecisions.text, new RegExp(`id="record_conference-${ids[1]}-minutes" name="minutes" rows="4"></textarea>`), 'the other form is empty');
  const cancelledNoReason = await send(path, { command: 'record_conference', version: await version(), conference: ids[0],
    outcome: 'cancelled', minutes: '' });
  assert.equal(cancelledNoReason.status, 400);
  assert.match(cancelledNoReason.text, new RegExp(`id="record_conference-${ids[0]}-cancelled" name="outcome" type="radio" value="cancelled" checked`));
  const early = await send(path, { command: 'record_conference', version: await version(), conference: ids[1], outcome: 'held',
    minutes: 'Too soon KEEP', decisions: 'Nothing' });
  assert.equal(early.status, 409);
  assert.match(early.text, new RegExp(`The conference is on ${ahead} 10:00 UTC: record it as held once it has taken place, or cancel it`));
  assert.match(early.text, /rows="4">Too soon KEEP<\/textarea>/);
  for (const [id, outcome] of [[ids[0], 'held'], [ids[1], 'cancelled']]) {
    const recorded = await send(path, { command: 'record_conference', version: await version(), conference: id, outcome,
      minutes: 'Done.', decisions: 'Agreed.' });
    assert.equal(recorded.status, 303, recorded.text.slice(0, 300));
  }
  const theirs = await state.get(path);
  assert.equal(theirs.status, 200);
  assert.match(theirs.text, /A home of their own/);
  assert.doesNotMatch(theirs.text, /Close the case/, 'only the coordinating agency closes');
  // A change refused is something they cannot do, not something they cannot see.
  const stateGoal = await state.req('POST', path, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(theirs.text), command: 'add_goal', version: await version(), text: 'Theirs' }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(stateGoal.status, 403, stateGoal.text.slice(0, 200));
  assert.match(stateGoal.text, /<h1[^>]*>You cannot do this<\/h1>/);
  assert.equal((await ngo.get(path)).status, 404);
  const list = await state.get('/cases');
  assert.match(list.text, /Page case/);
  // The coordinator takes the state out of the case, saying why; the state no longer knows it,
  // and the case's work in the state's queue goes with it.
  const caseId = path.split('/').pop();
  const stateAction = await coordinator.post(`/api/v1/cases/${caseId}/actions`,
    { text: 'Pay the first month of arrears', agency_id: agency['state-benefits'], due: '2026-03-27', version: Number(await version()) });
  assert.equal(stateAction.status, 200, stateAction.text);
  const stateActionId = stateAction.body.plan.at(-1).id;
  assert.equal(await count(`work_items WHERE source = 'case_action' AND source_id = ${stateActionId} AND state = 'open'`), 1);
  const noWhy = await send(path, { command: 'remove_participant', version: await version(),
    agency_id: String(agency['state-benefits']), reason: '' });
  assert.equal(noWhy.status, 400);
  assert.match(noWhy.text, /href="#remove_participant-reason">Say why the agency leaves the case/);
  const removed = await send(path, { command: 'remove_participant', version: await version(),
    agency_id: String(agency['state-benefits']), reason: 'Housing is settled' });
  assert.equal(removed.status, 303, removed.text.slice(0, 300));
  assert.match((await coordinator.get(path)).text, /left the case: Housing is settled/);
  assert.equal((await state.get(path)).status, 404);
  assert.equal(await count(`work_items WHERE source = 'case_action' AND source_id = ${stateActionId} AND state <> 'done'`), 0);
  const api = await coordinator.post(`/api/v1/cases/${path.split('/').pop()}/participants/remove`,
    { agency_id: agency['city-social'], reason: 'x', version: Number(await version()) });
  assertProblem(api, 400, { fields: ['agency_id'] });
});
