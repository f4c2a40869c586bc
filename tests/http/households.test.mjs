// Households on the staff pages: a caseworker starts a household from a client's page, adds the
// people who live there by client number and records that one left; every mistake is named at
// its field at once and changes nothing; a date after today or before a member's birth is
// refused (pages and API alike); a role that may not change households is refused and recorded.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/households.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { assertProblem, hiddenCsrf, login, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;
let worker;
let governance;
let adult;
let baby;
let other;

// A day `days` from today, as the date field sends it. Two days ahead is after today in every
// time zone.
const day = (days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

const person = async (given, family, birth) => {
  const r = await worker.post('/api/v1/persons', { names: [{ use: 'official', given, family }], birth_date: birth });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
};

// Sends a page's form as a browser does: with the CSRF token of the page it came from.
const send = async (client, page, path, fields) => {
  const form = await client.get(page);
  assert.equal(form.status, 200, `${page}: ${form.text.slice(0, 200)}`);
  return client.req('POST', path, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(form.text), ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
};

const count = async (where) => Number(await sql(db, `SELECT count(*) FROM ${where}`));
const add = (household, fields) => send(worker, `/households/${household}`, `/households/${household}/members`, fields);
const summary = (html) => [...html.matchAll(/<li><a href="(#[^"]+)">([^<]+)<\/a><\/li>/g)].map((m) => `${m[1]} ${m[2]}`);

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-households-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  worker = await login(server.url, 'caseworker.city');
  governance = await login(server.url, 'governance.city', { purpose: 'administration' });
  adult = await person('Wanjiru', 'Kamau', '1984-03-09');
  baby = await person('Njeri', 'Kamau', '2025-06-14');
  other = await person('Otieno', 'Kamau', '1979-11-30');
});

after(async () => {
  await server?.stop();
});

test('a household is started from the client page, every mistake named at once and nothing kept', T, async () => {
  const client = await worker.get(`/clients/${adult}`);
  assert.match(client.text, /Not recorded as part of a household/);
  assert.match(client.text, new RegExp(`href="/clients/${adult}/household/new">Start a household with them`));

  const form = await worker.get(`/clients/${adult}/household/new`);
  assert.equal(form.status, 200);
  assert.match(form.text, /Wanjiru Kamau \(client \d+\)/);
  assert.match(form.text, /name="name" type="text" aria-describedby="start-name-hint" value="Kamau household"/);
  assert.match(form.text, /<option value="head" selected>head<\/option>/);
  assert.match(form.text, new RegExp(`name="since" type="date" value="${day(0)}"|name="since" type="date" value="${day(-1)}"`));

  const before = await count('households');
  const bad = await send(worker, `/clients/${adult}/household/new`, `/clients/${adult}/household/new`,
    { name: '  ', relationship: '', since: '' });
  assert.equal(bad.status, 400);
  assert.deepEqual(summary(bad.text), [
    '#start-name Enter a name for the household',
    '#start-relationship Select how they are related to the household',
    '#start-since Enter the date they joined',
  ]);
  const later = await send(worker, `/clients/${adult}/household/new`, `/clients/${adult}/household/new`,
    { name: 'Kamau household', relationship: 'head', since: day(2) });
  assert.equal(later.status, 400);
  assert.deepEqual(summary(later.text), ['#start-since The date they joined must be today or in the past']);
  assert.match(later.text, /value="Kamau household"/, 'what was typed is kept');
  const early = await send(worker, `/clients/${adult}/household/new`, `/clients/${adult}/household/new`,
    { name: 'Kamau household', relationship: 'head', since: '1984-03-08' });
  assert.deepEqual(summary(early.text), ['#start-since The date they joined must not be before their date of birth']);
  assert.equal(await count('households'), before, 'no household is left behind by a refused start');

  const made = await send(worker, `/clients/${adult}/household/new`, `/clients/${adult}/household/new`,
    { name: 'Kamau household', relationship: 'head', since: '2019-05-01' });
  assert.equal(made.status, 303, made.text.slice(0, 300));
  const location = made.headers.get('location');
  assert.match(location, /^\/households\/\d+\?done=/);
  const page = await worker.get(location);
  assert.equal(page.status, 200);
  assert.match(page.text, /Household started: Wanjiru Kamau \(client \d+\) lives here from 2019-05-01/);
  assert.match(page.text, /<h1 class="govuk-heading-l">Kamau household<\/h1>/);
  const household = Number(/\/households\/(\d+)/.exec(location)[1]);
  assert.equal(await count(`household_members WHERE household_id = ${household} AND person_id = ${adult} AND relationship = 'head' AND start_date = '2019-05-01' AND end_date IS NULL`), 1);
  assert.match((await worker.get(`/clients/${adult}`)).text, new RegExp(`href="/households/${household}">View household`));
});

test('members are added by client number and leave on a date, with their mistakes named', T, async () => {
  const household = Number(await sql(db, `SELECT household_id FROM household_members WHERE person_id = ${adult} AND end_date IS NULL`));
  const page = `/households/${household}`;
  const add = (fields) => send(worker, page, `${page}/members`, fields);

  const empty = await add({ person_id: '', relationship: '', since: '' });
  assert.equal(empty.status, 400);
  assert.deepEqual(summary(empty.text), [
    '#add-person_id Enter the client number of the person joining',
    '#add-relationship Select how they are related to the household',
    '#add-since Enter the date they joined',
  ]);
  const words = await add({ person_id: 'Njeri', relationship: 'child', since: 'yesterday' });
  assert.deepEqual(summary(words.text), [
    '#add-person_id Enter the client number in figures, like 301',
    '#add-since Enter the date they joined as a real date, like 2026-03-01',
  ]);
  assert.match(words.text, /value="Njeri"/);
  assert.match(words.text, /id="add-person_id" [^>]*aria-describedby="add-person_id-error"/);
  const nobody = await add({ person_id: '99999999', relationship: 'child', since: '2025-07-01' });
  assert.deepEqual(summary(nobody.text), ['#add-person_id There is no client with that number']);
  const unborn = await add({ person_id: String(baby), relationship: 'child', since: '2025-06-13' });
  assert.deepEqual(summary(unborn.text), ['#add-since The date they joined must not be before their date of birth']);
  const again = await add({ person_id: String(adult), relationship: 'head', since: '2025-01-01' });
  assert.deepEqual(summary(again.text), ['#add-person_id They are already a member of this household']);
  assert.equal(await count(`household_members WHERE household_id = ${household}`), 1, 'nothing was added');

  const born = await add({ person_id: String(baby), relationship: 'child', since: '2025-06-14' });
  assert.equal(born.status, 303, born.text.slice(0, 300));
  const shown = await worker.get(born.headers.get('location'));
  assert.match(shown.text, /Njeri Kamau \(client \d+\) joined the household on 2025-06-14/);
  assert.match(shown.text, new RegExp(`href="/households/${household}/members/${baby}/end"`));

  // Someone who lives elsewhere moves in: their membership there ends on the day they joined.
  const flat = (await worker.post('/api/v1/households', { name: 'Otieno flat' })).body.id;
  assert.equal((await worker.post(`/api/v1/households/${flat}/members`, { person_id: other, relationship: 'head', since: '2015-01-01' })).status, 200);
  // The move is made once it is confirmed: a mistyped number would take a stranger out of their home.
  const asked = await add({ person_id: String(other), relationship: 'partner', since: '2024-02-01' });
  assert.equal(asked.status, 400);
  assert.deepEqual(summary(asked.text), [`#add-move Client ${other} lives in another household now. If they have moved here, confirm it: they leave that household on 2024-02-01`]);
  assert.match(asked.text, /<option value="partner" selected>/, 'what was chosen is kept');
  assert.equal(await sql(db, `SELECT end_date IS NULL FROM household_members WHERE household_id = ${flat} AND person_id = ${other}`), '1');
  // The box confirms the move of the client it asked about, not of a number typed after it.
  assert.match(asked.text, new RegExp(`name="move" type="checkbox" value="${other}"`));
  const other_number = await add({ person_id: String(other), relationship: 'partner', since: '2024-02-01', move: String(other + 1) });
  assert.equal(other_number.status, 400);
  const moved = await add({ person_id: String(other), relationship: 'partner', since: '2024-02-01', move: String(other) });
  assert.equal(moved.status, 303, moved.text.slice(0, 300));
  assert.equal(await sql(db, `SELECT end_date FROM household_members WHERE household_id = ${flat} AND person_id = ${other}`), '2024-02-01');

  const leave = `${page}/members/${other}/end`;
  const form = await worker.get(leave);
  assert.equal(form.status, 200);
  assert.match(form.text, /Otieno Kamau \(client \d+\)/);
  assert.match(form.text, /They joined on 2024-02-01/);
  const future = await send(worker, leave, leave, { until: day(2) });
  assert.deepEqual(summary(future.text), ['#end-until The date they left must be today or in the past']);
  const before = await send(worker, leave, leave, { until: '2024-01-31' });
  assert.deepEqual(summary(before.text), ['#end-until The date they left must not be before they joined']);
  const missing = await send(worker, leave, leave, { until: '' });
  assert.deepEqual(summary(missing.text), ['#end-until Enter the date they left']);
  assert.equal(await count(`household_members WHERE household_id = ${household} AND person_id = ${other} AND end_date IS NULL`), 1);
  const left = await send(worker, leave, leave, { until: '2025-09-30' });
  assert.equal(left.status, 303, left.text.slice(0, 300));
  const after = await worker.get(left.headers.get('location'));
  assert.match(after.text, /Otieno Kamau \(client \d+\) left the household on 2025-09-30/);
  assert.doesNotMatch(after.text, new RegExp(`/members/${other}/end`), 'a past member has no link to leave again');
  assert.equal((await worker.get(leave)).status, 404);
  // The agencies that know them were told of each change.
  assert.ok(await count(`outbox WHERE type IN ('household.member_added', 'household.member_moved', 'household.member_left') AND aggregate_id = '${household}'`) >= 3);
});

test('a form sent again, or from a second tab, changes nothing it should not', T, async () => {
  const household = Number(await sql(db, `SELECT household_id FROM household_members WHERE person_id = ${adult} AND end_date IS NULL`));
  const households = await count('households');
  // Back and send on "Start a household": she lives in one now, so no second one is made.
  const again = await send(worker, `/clients/${adult}/household/new`, `/clients/${adult}/household/new`,
    { name: 'Kamau household', relationship: 'head', since: '2019-05-01' });
  assert.equal(again.status, 409);
  assert.match(again.text, /They live in a household already/);
  assert.match(again.text, new RegExp(`href="/households/${household}">View their household`));
  assert.equal(await count('households'), households);
  assert.equal(await count(`household_members WHERE person_id = ${adult} AND end_date IS NULL AND household_id = ${household}`), 1);
  // Two tabs on "Record that they left": the first records it, the household changes, and the
  // second's form, on the household as it was, saves nothing.
  const leave = `/households/${household}/members/${baby}/end`;
  const first = await worker.get(leave);
  const second = await worker.get(leave);
  const post = (page) => worker.req('POST', leave, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), version: /name="version" value="(\d+)"/.exec(page.text)[1], until: '2025-10-01' }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal((await post(first)).status, 303);
  const back = await add(household, { person_id: String(baby), relationship: 'child', since: '2025-11-01' });
  assert.equal(back.status, 303, back.text.slice(0, 300));
  const stale = await post(second);
  assert.equal(stale.status, 409);
  assert.deepEqual(summary(stale.text), ['#members The household changed since you opened the page (this form may have been sent already), so this one saved nothing: check who lives here now']);
  assert.equal(await count(`household_members WHERE person_id = ${baby} AND end_date IS NULL AND household_id = ${household}`), 1);
});

test('a household is changed only by someone who may see it whole, and a form cut short saves nothing', T, async () => {
  const household = Number(await sql(db, `SELECT household_id FROM household_members WHERE person_id = ${adult} AND end_date IS NULL`));
  // The trust's caseworker registers a client of its own, whom it may see, but not the city's
  // clients who live in the household.
  const ngo = await login(server.url, 'caseworker.ngo', { purpose: 'case_work' });
  const own = (await ngo.post('/api/v1/persons', { names: [{ use: 'official', given: 'Tevita', family: 'Lodger' }], birth_date: '1990-04-04' })).body.id;
  const members = await count(`household_members WHERE household_id = ${household}`);
  const csrf = hiddenCsrf((await ngo.get('/')).text);
  const added = await ngo.req('POST', `/households/${household}/members`, {
    body: new URLSearchParams({ csrf_token: csrf, person_id: String(own), relationship: 'lodger', since: '2025-01-01' }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(added.status, 403);
  assertProblem(await ngo.post(`/api/v1/households/${household}/members`, { person_id: own, relationship: 'lodger', since: '2025-01-01' }), 403);
  assert.equal(await count(`household_members WHERE household_id = ${household}`), members);
  assert.ok(await count(`audit_log WHERE action = 'household.add_member' AND allowed = 0 AND reason LIKE '%member you may not see%'`) >= 1);
  // The start form is not offered for someone whose household the reader may not see.
  assert.equal((await ngo.get(`/clients/${adult}/household/new`)).status, 403);

  // A version edited or cut short matches none.
  const leave = `/households/${household}/members/${baby}/end`;
  const page = await worker.get(leave);
  const cut = await worker.req('POST', leave, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), version: '1x', until: '2025-12-01' }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(cut.status, 409);
  assert.equal(await count(`household_members WHERE person_id = ${baby} AND end_date IS NULL AND household_id = ${household}`), 1);
});

test('a screening form opened before someone joined does not give its rows to the wrong members', T, async () => {
  const household = Number(await sql(db, `SELECT household_id FROM household_members WHERE person_id = ${adult} AND end_date IS NULL`));
  const form = await worker.get(`/screening?household=${household}`);
  assert.equal(form.status, 200);
  const version = /name="household_version" value="(\d+)"/.exec(form.text)[1];
  const newcomer = await person('Wambui', 'Kamau', '1950-02-02');
  assert.equal((await add(household, { person_id: String(newcomer), relationship: 'grandparent', since: '2025-12-01' })).status, 303);
  const screenings = await count(`screenings WHERE household_id = ${household}`);
  const sent = await worker.req('POST', `/screening?household=${household}`, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(form.text), household_version: version, earned_income: '1000' }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(sent.status, 400);
  assert.deepEqual(summary(sent.text), ['#members-hint The household changed since you opened the page, so its members&apos; answers were not used: check them and screen again']);
  assert.equal(await count(`screenings WHERE household_id = ${household}`), screenings, 'nothing saved');
});

test('a screening form sent again (a reload) shows the screening it saved instead of saving a second', T, async () => {
  const household = Number(await sql(db, `SELECT household_id FROM household_members WHERE person_id = ${adult} AND end_date IS NULL`));
  const form = await worker.get(`/screening?household=${household}`);
  const field = (name) => new RegExp(`name="${name}" value="([^"]+)"`).exec(form.text)[1];
  const body = new URLSearchParams({
    csrf_token: hiddenCsrf(form.text), household_version: field('household_version'), form_token: field('form_token'),
    'in.earned_income': '1000',
  }).toString();
  const send = () => worker.req('POST', `/screening?household=${household}`, {
    body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const before = await count(`screenings WHERE household_id = ${household}`);
  const first = await send();
  assert.equal(first.status, 200);
  assert.match(first.text, /Screening saved with the household\./);
  const saved = Number(/View screening (\d+)/.exec(first.text)[1]);
  // The page the answer shows keeps the key: pressing again without a change finds it too.
  assert.equal(/name="form_token" value="([^"]+)"/.exec(first.text)[1], field('form_token'));
  const again = await send();
  assert.equal(again.status, 200);
  assert.match(again.text, /This page was sent again: the screening it saved is shown, not saved twice\./);
  assert.equal(Number(/View screening (\d+)/.exec(again.text)[1]), saved);
  assert.equal(await count(`screenings WHERE household_id = ${household}`), before + 1);
  assert.equal(await count(`audit_log WHERE action = 'screening.create' AND record_id = '${saved}'`),
    await count(`household_members WHERE household_id = ${household} AND end_date IS NULL`), 'recorded once');
  // With an answer changed, the same form saves another, which a reload of that finds in turn.
  const other = body.replace('in.earned_income=1000', 'in.earned_income=1200');
  const sendOther = () => worker.req('POST', `/screening?household=${household}`, {
    body: other, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const changed = await sendOther();
  assert.match(changed.text, /Screening saved with the household\./);
  assert.match((await sendOther()).text, /This page was sent again/);
  assert.equal(await count(`screenings WHERE household_id = ${household}`), before + 2);
});

test('a screening on a past date has a row for each member who lived there then, and screens them', T, async () => {
  const head = await person('Amani', 'Were', '1970-01-01');
  const lodger = await person('Baraka', 'Were', '1990-01-01');
  const h = (await worker.post('/api/v1/households', { name: 'The Were household' })).body.id;
  assert.equal((await worker.post(`/api/v1/households/${h}/members`, { person_id: head, relationship: 'head', since: '2020-01-01' })).status, 200);
  assert.equal((await worker.post(`/api/v1/households/${h}/members`, { person_id: lodger, relationship: 'lodger', since: '2024-01-01' })).status, 200);
  const rows = (html) => [...html.matchAll(/<legend class="govuk-fieldset__legend[^"]*">([^<]+)<\/legend>/g)].map((m) => m[1]).filter((t) => /Were/.test(t));
  const form = await worker.get(`/screening?household=${h}`);
  assert.deepEqual(rows(form.text), ['Amani Were', 'Baraka Were']);
  const field = (html, name) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
  const post = (html, fields) => worker.req('POST', `/screening?household=${h}`, {
    body: new URLSearchParams({
      csrf_token: hiddenCsrf(html), household_version: field(html, 'household_version'), form_token: field(html, 'form_token'),
      ...(field(html, 'members_on') ? { members_on: field(html, 'members_on') } : {}), ...fields,
    }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const screenings = () => count(`screenings WHERE household_id = ${h}`);
  // The rows were today's; on 1 June 2023 only Amani lived there: the rows are redone, nothing saved.
  const redone = await post(form.text, { as_of: '2023-06-01', 'in.earned_income': '800', 'm1.age': '33' });
  assert.equal(redone.status, 400);
  assert.deepEqual(summary(redone.text), ['#members-hint The household had other members on 2023-06-01, so the answers in the rows were not used: the rows are that day&apos;s members now. Answer for them and screen again']);
  assert.deepEqual(rows(redone.text), ['Amani Were']);
  assert.match(redone.text, /The people who lived in the household on 2023-06-01\./);
  assert.match(redone.text, /name="in\.earned_income"[^>]*value="800"/, 'the household\'s answers are kept');
  assert.equal(await screenings(), 0);
  // A date that cannot be read keeps that day's rows and their answers, and says what is wrong.
  const mistyped = await post(redone.text, { as_of: '2023-13-45', 'in.earned_income': '800', 'm0.age': '53' });
  assert.equal(mistyped.status, 400);
  assert.deepEqual(summary(mistyped.text), ['#as_of Enter the date to screen on like 2025-10-01']);
  assert.deepEqual(rows(mistyped.text), ['Amani Were']);
  assert.match(mistyped.text, /name="m0\.age"[^>]*value="53"/);
  // A date far ahead is refused as such, not blamed on the members' ages.
  const far = await post(redone.text, { as_of: '2100-01-01' });
  assert.equal(far.status, 400);
  assert.deepEqual(summary(far.text), ['#as_of Enter a date no more than two years after today']);
  assertProblem(await worker.post('/api/v1/screenings', { household_id: h, as_of: '2100-01-01' }), 400, { fields: ['as_of'] });
  // A day when no one lived there is refused, naming it; nothing saved.
  const empty = await post(redone.text, { as_of: '2019-06-01' });
  assert.equal(empty.status, 400);
  assert.deepEqual(summary(empty.text), ['#as_of No one lived in the household on 2019-06-01: screen on a later date']);
  assertProblem(await worker.post('/api/v1/screenings', { household_id: h, as_of: '2019-06-01' }), 400, { fields: ['as_of'] });
  const tooMany = await worker.post('/api/v1/screenings', { household_id: h, as_of: '2023-06-01', members: [{}, {}] });
  assertProblem(tooMany, 400, { fields: ['members'], detail: /had 1 member on 2023-06-01/ });
  assert.equal(await screenings(), 0);
  // Sent again, for that day's members: screened as a household of one, with Amani's age then.
  const done = await post(redone.text, { as_of: '2023-06-01', 'in.earned_income': '800' });
  assert.equal(done.status, 200, summary(done.text).join('; '));
  assert.equal(await screenings(), 1);
  const input = JSON.parse(await sql(db, `SELECT input FROM screenings WHERE household_id = ${h}`));
  assert.equal(input.values.household_size, '1');
  assert.deepEqual(input.members, [{ age: '53' }]);
});

test('a member added by mistake is taken back, and gets back the household the mistake moved them out of', T, async () => {
  const mine = await person('Chebet', 'Rono', '1981-01-01');
  const stranger = await person('Kiprop', 'Rono', '1975-01-01');
  const ours = (await worker.post('/api/v1/households', { name: 'The Rono household' })).body.id;
  const theirs = (await worker.post('/api/v1/households', { name: 'Kiprop\'s household' })).body.id;
  assert.equal((await worker.post(`/api/v1/households/${ours}/members`, { person_id: mine, relationship: 'head', since: '2020-01-01' })).status, 200);
  assert.equal((await worker.post(`/api/v1/households/${theirs}/members`, { person_id: stranger, relationship: 'head', since: '2018-01-01' })).status, 200);
  // The wrong number typed and the move confirmed: the stranger now lives in ours.
  assert.equal((await worker.post(`/api/v1/households/${ours}/members`, { person_id: stranger, relationship: 'partner', since: '2025-01-01' })).status, 200);
  const page = await worker.get(`/households/${ours}`);
  assert.match(page.text, new RegExp(`href="/households/${ours}/members/${stranger}/remove">Added by mistake`));
  const form = await worker.get(`/households/${ours}/members/${stranger}/remove`);
  assert.equal(form.status, 200);
  const send = (fields) => worker.req('POST', `/households/${ours}/members/${stranger}/remove`, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(form.text), version: /name="version" value="(\d+)"/.exec(form.text)[1], ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const noReason = await send({ reason: ' ' });
  assert.equal(noReason.status, 400);
  assert.deepEqual(summary(noReason.text), ['#remove-reason Say what the mistake was, so that others can see why']);
  const done = await send({ reason: 'Typed 4127 instead of 4217' });
  assert.equal(done.status, 303);
  const after = await worker.get(done.headers.get('location'));
  assert.match(after.text, new RegExp(`Kiprop Rono \\(client ${stranger}\\) was removed from the household, as added by mistake, and lives in household ${theirs} again`));
  assert.equal(await count(`household_members WHERE person_id = ${stranger}`), 1, 'the mistaken membership is gone');
  assert.equal(await count(`household_members WHERE person_id = ${stranger} AND household_id = ${theirs} AND end_date IS NULL`), 1);
  assert.equal(await count(`audit_log WHERE action = 'household.remove_member' AND person_id = ${stranger} AND allowed = 1 AND reason = 'added by mistake: Typed 4127 instead of 4217'`), 1);
  // Sent again (a second tab): nothing to take back, nothing changed.
  assert.equal((await send({ reason: 'Typed 4127 instead of 4217' })).status, 409);
  // The API does the same, naming the household given back; a member added without a move is just removed.
  const third = await person('Jeptoo', 'Rono', '2010-01-01');
  assert.equal((await worker.post(`/api/v1/households/${ours}/members`, { person_id: third, relationship: 'child', since: '2025-02-01' })).status, 200);
  assertProblem(await worker.post(`/api/v1/households/${ours}/members/${third}/remove`, {}), 400, { fields: ['reason'] });
  const removed = await worker.post(`/api/v1/households/${ours}/members/${third}/remove`, { reason: 'Wrong household' });
  assert.equal(removed.status, 200, removed.text);
  assert.equal(removed.body.restored_household_id, null);
  assert.deepEqual(removed.body.members.map((m) => m.person_id), [mine]);
  assertProblem(await worker.post(`/api/v1/households/${ours}/members/${third}/remove`, { reason: 'Again' }), 404);
});

test('a household page is recorded once for each membership it shows, not once more for its screenings', T, async () => {
  const household = Number(await sql(db, `SELECT household_id FROM household_members WHERE person_id = ${adult} AND end_date IS NULL`));
  // One entry for each membership listed (a member who left and came back is listed twice).
  const members = await count(`household_members WHERE household_id = ${household}`);
  const before = await count("audit_log WHERE action = 'household.read'");
  assert.equal((await worker.get(`/households/${household}`)).status, 200);
  assert.equal(await count("audit_log WHERE action = 'household.read'"), before + members);
});

test('a date after today is refused by the API too, naming the field', T, async () => {
  const household = (await worker.post('/api/v1/households', { name: 'Tomorrow house' })).body.id;
  assertProblem(await worker.post(`/api/v1/households/${household}/members`, { person_id: baby, relationship: 'child', since: day(2) }),
    400, { fields: ['since'] });
  assertProblem(await worker.post(`/api/v1/households/${household}/members`, { person_id: baby, relationship: 'child', since: '2025-06-01' }),
    400, { fields: ['since'] });
  assert.equal(await count(`household_members WHERE household_id = ${household}`), 0);
});

test('a role that may not change households is refused and recorded, and nothing changes', T, async () => {
  const household = Number(await sql(db, `SELECT household_id FROM household_members WHERE person_id = ${adult} AND end_date IS NULL`));
  const members = await count('household_members');
  const csrf = hiddenCsrf((await governance.get('/')).text);
  const post = (path, fields) => governance.req('POST', path, {
    body: new URLSearchParams({ csrf_token: csrf, ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const added = await post(`/households/${household}/members`, { person_id: String(other), relationship: 'lodger', since: '2025-01-01' });
  assert.equal(added.status, 403);
  assert.match(added.text, /Access was refused and recorded/);
  const started = await post(`/clients/${other}/household/new`, { name: 'Theirs', relationship: 'head', since: '2025-01-01' });
  assert.equal(started.status, 403);
  assert.equal(await count('household_members'), members);
  // Refused before the form is read: the add is recorded against the household, the start (its
  // client in the address) against the person.
  assert.equal(await count(`audit_log WHERE action = 'household.add_member' AND record_id = '${household}' AND allowed = 0 AND person_id IS NULL AND user_id = (SELECT id FROM users WHERE username = 'governance.city')`), 1);
  assert.equal(await count(`audit_log WHERE person_id = ${other} AND action = 'household.create' AND allowed = 0`), 1);
});
