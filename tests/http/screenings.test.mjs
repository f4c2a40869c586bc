// The screening API end to end: POST /api/v1/screenings for an inline household and for a
// registered one, reading it back, the programs list, and bad answers.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/screenings.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { assertProblem, binary, countRows, hiddenCsrf, login, onedoorEnv, prepareDatabase, serve, sql } from './helpers.mjs';

const execFileAsync = promisify(execFile);

const T = { timeout: 60_000 };

let server;
let db;
let caseworker;
let admin;

before(async () => {
  const prepared = await prepareDatabase({ people: 12, prefix: 'onedoor-screening-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  caseworker = await login(server.url, 'caseworker.city', { purpose: 'eligibility' });
  admin = await login(server.url, 'admin.city');
});

after(async () => {
  await server?.stop();
});

const household = {
  household_size: 3,
  earned_income: '2000',
  unearned_income: 0,
  shelter_costs: '900',
  has_elderly_or_disabled_member: false,
  countable_assets: '150.50',
};

test('an inline household is screened for every program and not saved', T, async () => {
  const r = await caseworker.post('/api/v1/screenings', {
    as_of: '2025-11-01', inputs: household, members: [{ age: 34 }, { age: 31, is_pregnant: true }, { age: 4 }],
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, null);
  assert.equal(r.body.as_of, '2025-11-01');
  assert.match(r.body.rules_hash, /^[0-9a-f]{64}$/);
  const byId = Object.fromEntries(r.body.programs.map((p) => [p.program, p]));
  for (const id of ['snap', 'medicaid_adult', 'wic', 'winter_fuel_grant', 'harbour_food_card']) {
    assert.ok(byId[id], `a result for ${id}`);
  }
  // SNAP FY 2026, 3 people: gross 2000, earned deduction 400, standard 209 → adjusted 1391;
  // shelter 900 − 695.50 = 204.50 → net 1186.50; 30% = 355.95 → 356; 785 − 356 = 429.
  const snap = byId.snap;
  assert.equal(snap.result, 'eligible', snap.reason);
  assert.equal(snap.amount.value, '429');
  assert.equal(snap.amount.text, '$429.00');
  const gross = snap.tests.find((t) => t.name === 'gross_income');
  assert.equal(gross.result, 'pass');
  assert.equal(gross.limit, '$2,888.00');
  assert.equal(gross.margin, '$888.00');
  const limit = snap.trace.find((t) => t.name === 'snap.gross_income_limit');
  assert.equal(limit.effective, '2025-10-01');
  assert.match(limit.reference, /Fiscal Year 2026/);
  assert.equal(byId.wic.result, 'eligible', byId.wic.reason);
  assert.equal(await countRows(db, 'screenings'), 0);
});

test('a missing answer gives unknown with the questions still to ask', T, async () => {
  const { shelter_costs, ...partial } = household;
  const r = await caseworker.post('/api/v1/screenings', { as_of: '2025-11-01', inputs: partial });
  assert.equal(r.status, 200, r.text);
  const snap = r.body.programs.find((p) => p.program === 'snap');
  assert.equal(snap.result, 'unknown');
  assert.deepEqual(snap.missing_inputs, ['shelter_costs']);
});

test('a registered household is screened with its members from the registry and saved', T, async () => {
  // A household whose members the city's social services registered: the agency holds them.
  const hid = Number(await sql(db, "SELECT m.household_id FROM household_members m JOIN persons p ON p.id = m.person_id " +
    "WHERE m.end_date IS NULL GROUP BY m.household_id " +
    "HAVING min(p.created_agency) = max(p.created_agency) AND min(p.created_agency) = (SELECT id FROM agencies WHERE code = 'city-social') " +
    'ORDER BY count(*) DESC, m.household_id LIMIT 1'));
  const members = Number(await sql(db, `SELECT count(*) FROM household_members WHERE household_id = ${hid} AND end_date IS NULL`));
  const before = Number(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'screening.create'"));
  const { household_size, ...answers } = household;
  const r = await caseworker.post('/api/v1/screenings', { household_id: hid, inputs: answers });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.headers.get('location'), `/api/v1/screenings/${r.body.id}`);
  assert.equal(r.body.household_id, hid);
  const after = Number(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'screening.create'"));
  assert.equal(after - before, members, 'one audit entry per member');
  const got = await caseworker.get(`/api/v1/screenings/${r.body.id}`);
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body.programs, r.body.programs);
  const list = await caseworker.get(`/api/v1/households/${hid}/screenings`);
  assert.equal(list.status, 200);
  assert.ok(list.body.items.some((s) => s.id === r.body.id));
  // An administrator may not read a person's screening; the refusal is audited.
  assertProblem(await admin.get(`/api/v1/screenings/${r.body.id}`), 403);
  assert.ok(Number(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'screening.read' AND allowed = 0")) >= 1);
});

test('bad answers are refused naming each field, and nothing is saved', T, async () => {
  const saved = await countRows(db, 'screenings');
  const r = await caseworker.post('/api/v1/screenings', {
    inputs: { earned_income: 'lots', household_size: 3 }, members: [{ age: -4 }],
  });
  assertProblem(r, 400, { fields: ['inputs/earned_income', 'members/0/age'] });
  const several = await caseworker.post('/api/v1/screenings', { inputs: { earned_income: 'lots', no_such_input: 1, household_size: 0 } });
  assertProblem(several, 400, { fields: ['inputs/earned_income', 'inputs/no_such_input', 'inputs/household_size'] });
  const r2 = await caseworker.post('/api/v1/screenings', { inputs: { household_size: 0 } });
  assertProblem(r2, 400, { fields: ['inputs/household_size'] });
  const r3 = await caseworker.post('/api/v1/screenings', { inputs: { no_such_input: 1 } });
  assertProblem(r3, 400, { fields: ['inputs/no_such_input'] });
  const r4 = await caseworker.post('/api/v1/screenings', { inputs: {}, as_of: '2025-13-01', colour: 'blue' });
  assertProblem(r4, 400, { fields: ['as_of', 'colour'] });
  // A date or a member that cannot be read does not hide the answers' own mistakes.
  const r5 = await caseworker.post('/api/v1/screenings', {
    as_of: 'yesterday', inputs: { household_size: 0, no_such_input: 1, shelter_costs: [900] },
    members: [7, { age: -4 }, { age: 30, favourite_colour: 'blue' }],
  });
  assertProblem(r5, 400, {
    fields: ['as_of', 'inputs/household_size', 'inputs/no_such_input', 'inputs/shelter_costs', 'members/0',
      'members/1/age', 'members/2/favourite_colour'],
  });
  assert.equal(r5.body.errors.length, 7, r5.text);
  assertProblem(await caseworker.post('/api/v1/screenings', { household_id: 999999 }), 404);
  assert.equal(await countRows(db, 'screenings'), saved);
});

test('the screening page names every mistake at once: an answer out of bounds beside one that cannot be read', T, async () => {
  const page = await caseworker.get('/screening');
  assert.equal(page.status, 200);
  const posted = await caseworker.req('POST', '/screening', {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), 'in.earned_income': 'lots', 'in.shelter_costs': '-5',
      'in.household_size': '2' }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(posted.status, 400, posted.text.slice(0, 300));
  assert.match(posted.text, /href="#in-earned_income"/);
  assert.match(posted.text, /href="#in-shelter_costs"/);
});

test('the programs list gives every question with its type', T, async () => {
  const r = await caseworker.get('/api/v1/programs');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.programs.some((p) => p.id === 'snap' && p.agency === 'state-benefits'));
  const income = r.body.inputs.find((i) => i.name === 'earned_income');
  assert.deepEqual(income, {
    name: 'earned_income', type: 'money', entity: 'household', period: 'month', label: 'Earned income',
    question: 'How much does the household earn from work each month, before tax?', required: true,
  });
});

test('rules screen --all re-screens every screened household, compares rule sets, and audits each read', T, async () => {
  const hid = Number(await sql(db, 'SELECT household_id FROM screenings ORDER BY id DESC LIMIT 1'));
  const members = Number(await sql(db, `SELECT count(*) FROM household_members WHERE household_id = ${hid} AND end_date IS NULL`));
  const before = Number(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'screening.bulk_read'"));
  const env = { ...process.env, ...onedoorEnv(db) };
  const { stdout, stderr } = await execFileAsync(binary, ['rules', 'screen', '--all', '--as-of', '2025-11-01', '--threads', '2'],
    { env, timeout: 60_000 });
  const lines = stdout.trim().split('\n');
  const header = lines[0].split(',');
  const row = lines.find((l) => l.startsWith(`${hid},`)).split(',');
  assert.equal(row[header.indexOf('snap.outcome')], 'eligible', stdout);
  assert.match(stderr, /screened \d+ households against \d+ programs as of 2025-11-01/);
  const households = Number(await sql(db, 'SELECT count(DISTINCT household_id) FROM screenings'));
  assert.equal(lines.length - 1, households, 'one row per screened household');
  const after = Number(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'screening.bulk_read'"));
  assert.ok(after - before >= members, 'each member read is audited');
  // The same households under the FY 2025 and FY 2026 SNAP amounts: October 2025 against September.
  const cmp = await execFileAsync(binary, ['rules', 'screen', '--all', '--as-of', '2025-10-01', '--compare',
    'rules/inputs.yaml:rules/us', 'rules/inputs.yaml:rules/us'], { env, timeout: 60_000, cwd: new URL('../..', import.meta.url).pathname });
  assert.match(cmp.stdout.split('\n')[0], /^id,program,old_outcome,new_outcome/);

  // Take-up of the registry: the household enrolled in nothing, so SNAP's take-up is 0 of the
  // eligible; the counts are kept for the state agency's service metrics.
  const { mkdtemp, writeFile, readFile } = await import('node:fs/promises');
  const os = await import('node:os');
  const dir = await mkdtemp(`${os.tmpdir()}/onedoor-take-up-`);
  await writeFile(`${dir}/enrolled.csv`, 'id,program\n999999,snap\n');
  const taken = await execFileAsync(binary, ['rules', 'screen', '--all', '--as-of', '2025-11-01', '--threads', '2',
    '--enrolled', `${dir}/enrolled.csv`, '--take-up', `${dir}/take-up.csv`], { env, timeout: 60_000 });
  assert.match(taken.stderr, /take-up recorded for the service metrics/);
  assert.match(await readFile(`${dir}/take-up.csv`, 'utf8'), new RegExp(`^${hid},snap,`, 'm'));
  const eligible = Number(await sql(db, "SELECT eligible FROM take_up_counts WHERE program = 'snap' AND run_id = (SELECT max(id) FROM take_up_runs)"));
  assert.ok(eligible >= 1, `eligible for SNAP: ${eligible}`);
  assert.equal(Number(await sql(db, "SELECT eligible_enrolled FROM take_up_counts WHERE program = 'snap' AND run_id = (SELECT max(id) FROM take_up_runs)")), 0);
  assert.equal(await sql(db, "SELECT agency_code FROM take_up_counts WHERE program = 'snap' LIMIT 1"), 'state-benefits');
});

test('screening a household the agency does not hold does not make it hold the members', T, async () => {
  // A household none of whose members the state's benefits agency registered or keeps a record of.
  const hid = Number(await sql(db, "SELECT m.household_id FROM household_members m JOIN persons p ON p.id = m.person_id " +
    "JOIN agencies a ON a.id = p.created_agency WHERE m.end_date IS NULL GROUP BY m.household_id " +
    "HAVING min(a.code) = 'city-social' AND max(a.code) = 'city-social' AND NOT EXISTS (SELECT 1 FROM source_records s " +
    "JOIN household_members k ON k.person_id = s.person_id JOIN agencies b ON b.id = s.agency_id " +
    "WHERE k.household_id = m.household_id AND b.code = 'state-benefits') ORDER BY m.household_id LIMIT 1"));
  const member = Number(await sql(db, `SELECT person_id FROM household_members WHERE household_id = ${hid} AND end_date IS NULL ORDER BY id LIMIT 1`));
  const state = await login(server.url, 'caseworker.state', { purpose: 'case_work' });
  assertProblem(await state.get(`/api/v1/persons/${member}/history`), 403);

  // Emergency access opens the household for that one request, and the screening is saved.
  const glass = { headers: { 'X-Break-Glass': 'Family at risk of eviction tonight; screening for emergency help' } };
  const r = await state.post('/api/v1/screenings', { household_id: hid, inputs: { earned_income: '900' } }, glass);
  assert.equal(r.status, 201, r.text);

  // The agency reads the screening it made; the members' record stays as closed as before.
  assert.equal((await state.get(`/api/v1/screenings/${r.body.id}`)).status, 200);
  assertProblem(await state.get(`/api/v1/persons/${member}/history`), 403);
  assertProblem(await state.get(`/api/v1/persons/${member}`), 403);
  // The screening is in the person's directory all the same: the agency is told of changes.
  const known = await caseworker.get(`/api/v1/persons/${member}/agencies`);
  assert.equal(known.status, 200, known.text);
  assert.ok(known.body.items.some((k) => k.agency.code === 'state-benefits' && k.capacity === 'screened'), known.text);
});
