// Limits everywhere: every input that could make the server do unbounded work is bounded, and
// going past a bound is refused with an RFC 9457 problem that names the field and the limit, and
// writes nothing. The list here is the inventory of docs/SECURITY.md ("Limits").
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/limits.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { assertProblem, binary, countRows, login, onedoorEnv, prepareDatabase, repoRoot, serve } from './helpers.mjs';

const T = { timeout: 120_000 };

let server;
let db;
let caseworker;
let eligibility;
let person;

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-limits-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  caseworker = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  eligibility = await login(server.url, 'caseworker.city', { purpose: 'eligibility' });
  const p = await caseworker.post('/api/v1/persons', { names: [{ use: 'official', given: 'Lim', family: 'Its' }] });
  assert.equal(p.status, 201, p.text);
  person = p.body.id;
});

after(async () => {
  await server?.stop();
});

const name = () => ({ use: 'official', given: 'A', family: 'B' });
const many = (n, make) => Array.from({ length: n }, make);

test('each bound is refused past its limit with a problem naming the field, and nothing is written', T, async () => {
  const persons = await countRows(db, 'persons');
  const sources = await countRows(db, 'source_records');
  const cases = [
    // [what, response, status, field or detail]
    ['a body over max_body_bytes (1 MiB)', () => caseworker.req('POST', '/api/v1/persons',
      { body: JSON.stringify({ names: [name()], note: 'x'.repeat(1_100_000) }), headers: { 'Content-Type': 'application/json' } }),
    413, /at most 1048576 bytes/],
    ['a document over the body limit', () => caseworker.req('POST',
      `/api/v1/persons/${person}/documents?kind=payslip&category=income&file_name=p.pdf`,
      { body: `%PDF-1.4\n${'x'.repeat(2 * 1024 * 1024)}`, headers: { 'Content-Type': 'application/pdf' } }), 413, /at most/],
    ['JSON nested 500,000 deep', () => caseworker.req('POST', '/api/v1/persons',
      { body: '['.repeat(500_000), headers: { 'Content-Type': 'application/json' } }), 400, /not valid JSON/],
    ['21 names on a person', () => caseworker.post('/api/v1/persons', { names: many(21, name) }), 400, 'names'],
    ['a search of 7 words', () => caseworker.get('/api/v1/persons?q=a+b+c+d+e+f+g'), 400, 'q'],
    ['a page of 101 persons', () => caseworker.get('/api/v1/persons?limit=101'), 400, 'limit'],
    ['a page of 201 referrals', () => caseworker.get('/api/v1/referrals?limit=201'), 400, 'limit'],
    ['an access log page of 201', () => caseworker.get(`/api/v1/persons/${person}/access-log?limit=201`), 400, 'limit'],
    ['a batch of 1,001 source records', () => caseworker.post('/api/v1/source-records/batch',
      { records: many(1001, (_, i) => ({ local_id: `LIM-${i}`, person: { names: [name()] } })) }), 400, 'records'],
    ['an inline household of 51 members', () => eligibility.post('/api/v1/screenings', { inputs: {}, members: many(51, () => ({ age: 30 })) }),
      400, 'members'],
  ];
  for (const [what, send, status, expect] of cases) {
    const r = await send();
    assert.equal(r.status, status, `${what}: ${r.status} ${r.text.slice(0, 200)}`);
    assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/, what);
    if (typeof expect === 'string') {
      assertProblem(r, status, { fields: [expect] });
    } else {
      assert.match(r.body.detail, expect, what);
    }
  }
  assert.equal(await countRows(db, 'persons'), persons, 'no person was written');
  assert.equal(await countRows(db, 'source_records'), sources, 'no source record was written');
});

test('a form too large for a page is answered with a page, not with a problem for machines', T, async () => {
  const r = await caseworker.req('POST', `/clients/${person}/documents`, {
    body: `csrf_token=x&note=${'x'.repeat(1_100_000)}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(r.status, 413);
  assert.match(r.headers.get('content-type') ?? '', /text\/html/);
  assert.match(r.text, /The form was too large to send/);
  assert.match(r.text, /choose a smaller file/);
});

test('a rule formula or a chain of variables too deep is refused when the pack loads, naming the place', T, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onedoor-limits-rules-'));
  const pack = (formula) => [
    'program: deep', 'name: Deep', 'agency: city-social', 'jurisdiction: J', 'legal_basis: L', 'version: "1"', 'currency: USD',
    'variables:', `  v: {type: money, entity: household, period: month, label: V, formula: "${formula}"}`,
    'tests:', '  - {name: t, condition: v > 0, citation: C, pass: ok, fail: no}', '',
  ].join('\n');
  await writeFile(path.join(dir, 'deep.yaml'), pack(`${'('.repeat(100)}earned_income${')'.repeat(100)}`));
  const run = promisify(execFile);
  const rules = `${path.join(repoRoot, 'rules', 'inputs.yaml')}:${dir}`;
  const failed = await run(binary, ['rules', 'check', '--rules', rules], { env: onedoorEnv(db), timeout: 60_000 })
    .then(() => null, (e) => e);
  assert.ok(failed, 'the pack must be refused');
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /deep\.yaml:9:\d+: .*the formula is too complex: it nests more than 64 levels/);
});
