// The service directory over HTTP: the HSDS 3.0 API profile (page envelope, filters, one
// object fully nested), every exported document validated against the HSDS 3.0 JSON schemas,
// the specification's own examples round-tripped through the import API and through the CSV
// data package on the command line, and imports refused whole when anything is wrong.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/directory.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import { makeTempDir } from '../browser/lib.mjs';
import { assertProblem, binary, issueToken, login, onedoorEnv, prepareDatabase, repoRoot, request, serve } from './helpers.mjs';

const run = promisify(execFile);
const T = { timeout: 120_000 };
const kHsds = path.join(repoRoot, 'third_party', 'hsds-3.0');

let server;
let db;
let admin;
let ajv;

// The HSDS 3.0 schemas, joined by $ref ("phone.json"), each checked with its formats.
async function loadSchemas() {
  const a = new Ajv2020({ strict: false, allErrors: true });
  addFormats(a);
  for (const file of await readdir(path.join(kHsds, 'schema'))) {
    if (!file.endsWith('.json') || file === 'openapi.json') continue;
    const schema = JSON.parse(await readFile(path.join(kHsds, 'schema', file), 'utf8'));
    delete schema.$schema;
    a.addSchema(schema, file);
  }
  return a;
}

function assertValid(table, doc, where) {
  const validate = ajv.getSchema(`${table}.json`);
  assert.ok(validate, `no schema for ${table}`);
  assert.ok(validate(doc), `${where} is not a valid HSDS ${table}: ${ajv.errorsText(validate.errors)}`);
}

const kPlural = {
  organizations: 'organization', services: 'service', taxonomies: 'taxonomy', taxonomy_terms: 'taxonomy_term',
  locations: 'location', service_at_location: 'service_at_location', phones: 'phone', contacts: 'contact',
  addresses: 'address', schedules: 'schedule', languages: 'language', attributes: 'attribute', metadata: 'metadata',
  programs: 'program', funding: 'funding', service_areas: 'service_area', required_documents: 'required_document',
  accessibility: 'accessibility', cost_options: 'cost_option', organization_identifiers: 'organization_identifier',
  meta_table_descriptions: 'meta_table_description',
};

// Every field of `expected` is in `actual` with the same value; lists are matched by id.
function assertContains(actual, expected, where) {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${where} is not a list`);
    for (const [i, e] of expected.entries()) {
      const match = e && typeof e === 'object' && 'id' in e ? actual.find((a) => a.id === e.id) : actual[i];
      assert.ok(match !== undefined, `${where}[${i}] (${e?.id ?? ''}) is missing`);
      assertContains(match, e, `${where}[${i}]`);
    }
  } else if (expected && typeof expected === 'object') {
    assert.ok(actual && typeof actual === 'object', `${where} is not an object`);
    for (const [k, v] of Object.entries(expected)) assertContains(actual[k], v, `${where}.${k}`);
  } else {
    assert.equal(actual, expected, where);
  }
}

before(async () => {
  ajv = await loadSchemas();
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-directory-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  admin = await login(server.url, 'admin.city', { purpose: 'administration' });
});

after(async () => {
  await server?.stop();
});

test('GET /hsds/ says which HSDS this is', T, async () => {
  for (const p of ['/hsds/', '/hsds']) {
    const r = await request(server.url, 'GET', p);
    assert.equal(r.status, 200);
    assert.equal(r.body.version, '3.0');
  }
});

test('services come in the HSDS page envelope, and pages count every match', T, async () => {
  const first = await request(server.url, 'GET', '/hsds/services?per_page=6');
  assert.equal(first.status, 200);
  assert.deepEqual(
    { ...first.body, contents: first.body.contents.length },
    { total_items: 20, total_pages: 4, page_number: 1, size: 6, first_page: true, last_page: false, empty: false, contents: 6 },
  );
  const last = await request(server.url, 'GET', '/hsds/services?per_page=6&page=4');
  assert.equal(last.body.size, 2);
  assert.equal(last.body.last_page, true);
  const beyond = await request(server.url, 'GET', '/hsds/services?per_page=6&page=9');
  assert.equal(beyond.body.empty, true);
  // The directory's page past the last is not an empty directory: it is not there.
  const pastEnd = await request(server.url, 'GET', '/directory?page=9');
  assert.equal(pastEnd.status, 404);
  assert.match(pastEnd.text, /there is no page 9 of this list: it has 2 pages/);
  assert.doesNotMatch(pastEnd.text, /The directory is empty/);
  const ids = new Set();
  for (let page = 1; page <= 4; page += 1) {
    const r = await request(server.url, 'GET', `/hsds/services?per_page=6&page=${page}`);
    for (const s of r.body.contents) ids.add(s.id);
  }
  assert.equal(ids.size, 20, 'no service is on two pages or on none');
  assertProblem(await request(server.url, 'GET', '/hsds/services?page=x'), 400, { fields: ['page'] });
  assertProblem(await request(server.url, 'GET', '/hsds/services?per_page=500'), 400, { fields: ['per_page'] });
  assertProblem(await request(server.url, 'GET', '/hsds/services?format=xml'), 400, { fields: ['format'] });
  assertProblem(await request(server.url, 'GET', '/hsds/services?proximity=500'), 400, { fields: ['proximity'] });
  assertProblem(await request(server.url, 'GET', '/hsds/services/00000000-0000-4000-8000-000000000000'), 404);
});

test('search finds services by stem and synonym, and the filters narrow it', T, async () => {
  const names = async (q) => (await request(server.url, 'GET', `/hsds/services?per_page=50&${q}`)).body.contents.map((s) => s.name).sort();
  // "employment" finds the job services through the synonyms, "jobs" through stemming.
  const work = await names('search=employment');
  assert.ok(work.includes('Job search and training support') && work.includes('Eastvale work club'), work.join(', '));
  assert.deepEqual(await names('search=jobs'), await names('search=job'));
  assert.deepEqual(await names('search=I%20lost%20my%20wallet'), ['Replacing lost identity documents']);
  // In Spanish and Arabic, through the synonyms' words in those languages.
  assert.deepEqual(await names(`search=${encodeURIComponent('Necesito comida')}`), await names('search=food'));
  assert.deepEqual(await names(`search=${encodeURIComponent('educación')}`), await names('search=education'));
  assert.deepEqual(await names(`search=${encodeURIComponent('طعام')}`), await names('search=food'));
  // With the Arabic article, the words of a question left out; a phrase of a group looked up whole.
  assert.deepEqual(await names(`search=${encodeURIComponent('أحتاج مساعدة في الإيجار')}`), await names('search=rent'));
  assert.deepEqual(await names(`search=${encodeURIComponent('recién nacido')}`), await names('search=newborn'));
  const terms = (await request(server.url, 'GET', '/hsds/taxonomy_terms?search=food')).body.contents;
  assert.deepEqual(terms.map((t) => t.name), ['Food', 'Harbour food bank card', 'SNAP food assistance']);
  const needs = (await request(server.url, 'GET', '/hsds/taxonomies?search=needs')).body.contents[0];
  const topics = (await request(server.url, 'GET', `/hsds/taxonomy_terms?taxonomy_id=${needs.id}&per_page=100`)).body;
  assert.equal(topics.total_items, 13);
  const food = await names(`taxonomy_term_id=${terms[0].id}`);
  assert.deepEqual(food, ['Apply for SNAP food assistance', 'Drop-in advice and a hot meal', 'Harbour food bank',
    'WIC for mothers, babies and young children']);
  assert.deepEqual(await names(`taxonomy_term_id=${terms[0].id}&language=ar`), ['Drop-in advice and a hot meal']);
  assert.deepEqual(await names('postcode=ev39gh'), ['Eastvale work club']);
  assert.deepEqual(await names('program=snap'), ['Apply for SNAP food assistance']);
  assert.equal((await names('agency=harbour-trust')).length, 2);
  const minimal = await request(server.url, 'GET', '/hsds/services?minimal=true&per_page=1');
  assert.deepEqual(Object.keys(minimal.body.contents[0]).sort(), ['id', 'last_modified']);
  const lines = await fetch(new URL('/hsds/services?format=ndjson&search=food', server.url));
  assert.equal(lines.status, 200);
  assert.equal(lines.headers.get('content-type'), 'application/x-ndjson');
  const text = await lines.text();
  assert.equal(text.trim().split('\n').length, (await names('search=food')).length);
  assert.ok(text.trim().split('\n').every((l) => JSON.parse(l).id));
});

test('every document the API and the export give validates against the HSDS 3.0 schemas', T, async () => {
  const exported = await request(server.url, 'GET', '/api/v1/directory/export');
  assert.equal(exported.status, 200);
  let checked = 0;
  for (const [key, rows] of Object.entries(exported.body)) {
    if (key === 'hsds_version') continue;
    assert.ok(kPlural[key], `unknown bundle key ${key}`);
    for (const [i, row] of rows.entries()) {
      assertValid(kPlural[key], row, `${key}[${i}]`);
      checked += 1;
    }
  }
  assert.ok(checked >= 40, `${checked} documents checked`);
  const services = (await request(server.url, 'GET', '/hsds/services?per_page=100&full=true')).body.contents;
  for (const s of services) {
    assertValid('service', s, `service ${s.id}`);
    assertValid('service', (await request(server.url, 'GET', `/hsds/services/${s.id}`)).body, `GET service ${s.id}`);
  }
  const orgs = (await request(server.url, 'GET', '/hsds/organizations?full=true')).body.contents;
  for (const o of orgs) assertValid('organization', (await request(server.url, 'GET', `/hsds/organizations/${o.id}`)).body, o.id);
  const sals = (await request(server.url, 'GET', '/hsds/service_at_locations?full=true&per_page=100')).body;
  assert.equal(sals.total_items, 20);
  for (const sal of sals.contents) assertValid('service_at_location', sal, sal.id);
  for (const t of (await request(server.url, 'GET', '/hsds/taxonomies')).body.contents) assertValid('taxonomy', t, t.id);
  for (const t of (await request(server.url, 'GET', '/hsds/taxonomy_terms?per_page=100')).body.contents) {
    assertValid('taxonomy_term', t, t.id);
  }
});

test('the specification examples go in through the import API and come out the same', T, async () => {
  // Each example, imported, is given back by the API with every one of its fields (the examples
  // disagree with each other in places, so each is compared right after its own import).
  const examples = [
    ['taxonomy.json', 'taxonomy', 'taxonomies'], ['taxonomy_term.json', 'taxonomy_term', 'taxonomy_terms'],
    ['organization_full.json', 'organization', 'organizations'],
    ['service_at_location_full.json', 'service_at_location', 'service_at_locations'],
    ['service_full.json', 'service', 'services'],
  ];
  for (const [file, type, route] of examples) {
    const doc = JSON.parse(await readFile(path.join(kHsds, 'examples', file), 'utf8'));
    const r = await admin.post(`/api/v1/directory/imports?type=${type}`, doc);
    assert.equal(r.status, 200, `${file}: ${r.text}`);
    const back = await request(server.url, 'GET', `/hsds/${route}/${doc.id}`);
    assert.equal(back.status, 200, file);
    assertValid(type, back.body, file);
    const { services, service, ...fields } = doc;  // the services of an organization come back by id only
    assertContains(back.body, fields, file);
    if (services) assert.deepEqual(back.body.services.map((s) => s.id).sort(), services.map((s) => s.id).sort());
  }
  const service = JSON.parse(await readFile(path.join(kHsds, 'examples', 'service_full.json'), 'utf8'));
  // The example service is found by its words.
  const found = await request(server.url, 'GET', '/hsds/services?search=counselling');
  assert.ok(found.body.contents.some((s) => s.id === service.id));
  // Importing the same again changes nothing.
  const again = await admin.post('/api/v1/directory/imports?type=service', service);
  assert.equal(again.body.added + again.body.changed, 0, again.text);
});

test('an import with a mistake is refused whole, naming each place', T, async () => {
  const before = (await request(server.url, 'GET', '/hsds/services?per_page=1')).body.total_items;
  const r = await admin.post('/api/v1/directory/imports', {
    services: [
      { id: '11111111-1111-4111-8111-111111111111', name: 'Good service', status: 'active' },
      { id: 'not-a-uuid', name: 'Bad service', status: 'active', minimum_age: 'twelve',
        phones: [{ id: '22222222-2222-4222-8222-222222222222' }] },
    ],
  });
  assertProblem(r, 400, { fields: ['services[1].id', 'services[1].minimum_age', 'services[1].phones[0].number'] });
  assert.equal((await request(server.url, 'GET', '/hsds/services?per_page=1')).body.total_items, before, 'nothing was written');
  const notBundle = await admin.post('/api/v1/directory/imports', { id: '11111111-1111-4111-8111-111111111111', name: 'x', status: 'active' });
  assertProblem(notBundle, 400);
  assert.match(notBundle.body.detail, /not a directory bundle/);
  // Only administrators change the directory.
  const worker = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  assertProblem(await worker.post('/api/v1/directory/imports', { services: [] }), 403);
  const token = await issueToken(admin, { name: 'directory-reader', roles: ['admin'], scopes: ['persons:read'] });
  assertProblem(await request(server.url, 'POST', '/api/v1/directory/imports', {
    headers: { Authorization: `Bearer ${token}` }, json: { services: [] },
  }), 403);
});

// The CSV data package of the specification, read by the command line and written back.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field); field = '';
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

test('the CSV data package goes in and comes out with the same rows', T, async () => {
  const dir = await makeTempDir('onedoor-hsds-csv-');
  const env = { ...process.env, ...onedoorEnv(path.join(dir, 'csv.db')) };
  await run(binary, ['migrate'], { env, timeout: 60_000 });
  const source = path.join(kHsds, 'examples', 'csv');
  const imported = await run(binary, ['directory', 'import', source], { env, timeout: 60_000 });
  assert.match(imported.stdout, /21 added/);
  const out = path.join(dir, 'out');
  await run(binary, ['directory', 'export', '--format', 'csv', out], { env, timeout: 60_000 });
  let files = 0;
  for (const file of await readdir(source)) {
    if (!file.endsWith('.csv')) continue;
    const want = parseCsv(await readFile(path.join(source, file), 'utf8'));
    const got = parseCsv(await readFile(path.join(out, file), 'utf8'));
    assert.equal(got.length, want.length, file);
    for (const [i, w] of want.entries()) {
      for (const [k, v] of Object.entries(w)) assert.equal(got[i][k], v, `${file} row ${i + 1} ${k}`);
    }
    files += 1;
  }
  assert.equal(files, 21);
  // And a package with mistakes is refused, naming file, line and field, with nothing written.
  const bad = path.join(dir, 'bad');
  await run('mkdir', ['-p', bad]);
  await run('sh', ['-c', `printf 'id,name,status,minimum_age\\n11111111-1111-4111-8111-111111111111,A,active,12\\n22222222-2222-4222-8222-222222222222,B,active,twelve\\n' > ${bad}/services.csv`]);
  const refused = await run(binary, ['directory', 'import', bad], { env, timeout: 60_000 }).then(
    () => null, (e) => e);
  assert.ok(refused, 'the import must fail');
  assert.match(refused.stderr, /services\.csv:3:minimum_age: 'twelve' is not a number/);
  const after = await run(binary, ['directory', 'export', '--format', 'json', path.join(dir, 'after.json')], { env });
  assert.match(after.stdout, /exported 21 rows/);
});

test('life events give the steps in order with the directory\'s services for each', T, async () => {
  const list = await request(server.url, 'GET', '/api/v1/life-events');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((e) => e.id), ['lost-job', 'having-a-baby', 'someone-died', 'lost-wallet']);
  const job = await request(server.url, 'GET', '/api/v1/life-events/lost-job');
  assert.equal(job.status, 200);
  assert.equal(job.body.steps[0].title, 'Claim unemployment benefit within 14 days');
  assert.equal(job.body.steps[0].services[0].name, 'Unemployment benefit');
  assert.equal(job.body.steps[0].services[0].organization, 'State Benefits Agency');
  assert.equal(job.body.steps[1].action, 'screening');
  assert.ok(job.body.steps[2].services.some((s) => s.name === 'Eastvale work club'), 'the Employment topic');
  assert.ok(job.body.steps.every((st) => st.services.length <= 3));
  assert.deepEqual(job.body.programs.map((p) => p.id), ['snap', 'medicaid_adult', 'lifeline']);
  assert.ok(job.body.questions.find((q) => q.name === 'household_size').question.startsWith('How many people'));
  assertProblem(await request(server.url, 'GET', '/api/v1/life-events/won-the-lottery'), 404);
});

test('a service\'s website is a link only when it is a web address; another scheme is shown as text', T, async () => {
  const id = '33333333-3333-4333-8333-333333333333';
  const r = await admin.post('/api/v1/directory/imports?type=service',
    { id, name: 'Scheme check service', status: 'active', url: 'javascript:alert(document.cookie)' });
  assert.equal(r.status, 200, r.text);
  const page = await request(server.url, 'GET', `/directory/services/${id}`);
  assert.equal(page.status, 200);
  assert.ok(page.text.includes('javascript:alert(document.cookie)'), 'the address is shown');
  assert.doesNotMatch(page.text, /href="javascript:/i);
  const web = await admin.post('/api/v1/directory/imports?type=service',
    { id, name: 'Scheme check service', status: 'active', url: 'https://advice.example.org/' });
  assert.equal(web.status, 200, web.text);
  assert.match((await request(server.url, 'GET', `/directory/services/${id}`)).text, /href="https:\/\/advice\.example\.org\/"/);
});
