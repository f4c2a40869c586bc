// A person gives a consent from the portal, over HTTP: mistakes named and nothing recorded, then
// the consent recorded as their own action with the same receipt and events as one recorded at a
// desk, shown on their account page and withdrawn from there; an account not linked to a record
// is sent back to its page.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/portal_consents.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { hiddenCsrf, linkedCitizen, prepareDatabase, serve, signedInCitizen, sql } from './helpers.mjs';

const T = { timeout: 90_000 };

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 4, prefix: 'onedoor-portal-consents-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
});

test('a person gives a consent from the portal and withdraws it', T, async () => {
  const person = Number(await sql(db, 'SELECT min(id) FROM persons'));
  const ana = await linkedCitizen(server.url, db, person, { name: 'Ana Consent', email: 'ana.consent@example.org' });
  const home = await ana.go('GET', '/portal');
  assert.match(home.text, /href="\/portal\/consents\/new">Give a consent</);
  const before = Number(await sql(db, `SELECT count(*) FROM consents WHERE person_id = ${person}`));

  const form = await ana.go('GET', '/portal/consents/new');
  assert.equal(form.status, 200);
  assert.match(form.text, /id="category-income"/);
  assert.doesNotMatch(form.text, /id="category-case_notes"|id="category-justice"/);  // black: never shared
  const post = (fields) => ana.go('POST', '/portal/consents/new', { csrf_token: hiddenCsrf(form.text), ...fields });
  const bad = await post({ receiving_agency_id: '', until_day: '31', until_month: '2', until_year: '2030' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /href="#receiving_agency_id">Choose who may receive your information/);
  assert.match(bad.text, /href="#category-[a-z_]+">Select at least one kind of information/);
  assert.match(bad.text, /href="#purpose-service_delivery">Choose what your information may be used for/);
  assert.match(bad.text, /href="#until_day">Enter the last day as a real date, like 31 3 2027/);
  // The service's own checks are named beside what the form could not read.
  const tampered = await ana.go('POST', '/portal/consents/new', [
    ['csrf_token', hiddenCsrf(form.text)], ['receiving_agency_id', ''], ['categories', 'dreams'], ['purpose', 'case_work'],
    ['until_day', '1'], ['until_month', '1'], ['until_year', '2001'],
  ]);
  assert.equal(tampered.status, 400);
  assert.match(tampered.text, /href="#receiving_agency_id">Choose who may receive your information/);
  assert.match(tampered.text, /href="#category-[a-z_]+">(&apos;|&#39;|')dreams(&apos;|&#39;|') is not a data category/);
  assert.match(tampered.text, /href="#until_day">The last day cannot be in the past/);
  assert.equal(Number(await sql(db, `SELECT count(*) FROM consents WHERE person_id = ${person}`)), before);

  const agency = await sql(db, "SELECT id FROM agencies WHERE code = 'health-authority'");
  const given = await ana.go('POST', '/portal/consents/new', [
    ['csrf_token', hiddenCsrf(form.text)], ['receiving_agency_id', `agency:${agency}`],
    ['categories', 'income'], ['categories', 'housing'], ['purpose', 'case_work'],
    ['until_day', '٣١'], ['until_month', '١٢'], ['until_year', '٢٠٩٩'],  // as typed in Arabic
  ]);
  assert.equal(given.status, 303, given.text.slice(0, 400));
  assert.equal(given.headers.get('location'), '/portal?consented=1#consents');
  const row = await sql(db, `SELECT id, evidence, valid_to, purpose, categories FROM consents WHERE person_id = ${person} ORDER BY id DESC LIMIT 1`);
  const [id, evidence, validTo, purpose, categories] = row.split('|');
  assert.equal(evidence, 'citizen_action');
  assert.equal(validTo, '2099-12-31');
  assert.equal(purpose, 'case_work');
  assert.match(categories, /income/);
  assert.equal(await sql(db, `SELECT count(*) FROM audit_log WHERE action = 'consent.give' AND record_id = '${id}'`), '1');

  const page = await ana.go('GET', '/portal?consented=1');
  assert.match(page.text, /Your consent is recorded/);
  assert.match(page.text, /data-testid="portal-consents"[^]*Regional Health Authority/);
  const withdraw = await ana.go('POST', `/portal/consents/${id}/withdraw`, { csrf_token: hiddenCsrf(page.text) });
  assert.equal(withdraw.status, 303);
  assert.equal(await sql(db, `SELECT state FROM consents WHERE id = ${id}`), 'withdrawn');
});

test('an account not linked to a record has no consents to give', T, async () => {
  const bo = await signedInCitizen(server.url, db, { name: 'Bo Unlinked', email: 'bo.unlinked@example.org' });
  const r = await bo.go('GET', '/portal/consents/new');
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), '/portal');
});
