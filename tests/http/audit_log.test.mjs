// The audit log's page for an agency's auditors (/audit): what the agency's staff and systems
// did, searched by who, what, about whom, when and refusals only; a page at a time and as CSV.
// Each search is itself recorded; nobody but auditors searches.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { login, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;
let auditor;
let caseworker;
let frontdesk;
let person;

before(async () => {
  ({ db } = await prepareDatabase({ people: 6, prefix: 'onedoor-audit-page-' }));
  server = await serve(db);
  auditor = await login(server.url, 'auditor.city', { purpose: 'audit' });
  caseworker = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  frontdesk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });
  person = Number(await sql(db, "SELECT min(r.person_id) FROM source_records r JOIN agencies a ON a.id = r.agency_id "
    + "WHERE a.code = 'city-social'"));
  // A read by the caseworker, and a refusal: the front desk does not see a client's history.
  assert.equal((await caseworker.get(`/api/v1/persons/${person}`)).status, 200);
  assert.equal((await frontdesk.get(`/api/v1/persons/${person}/history`)).status, 403);
}, { timeout: 180_000 });

after(async () => { await server?.stop(); });

// The table's rows as [when, who, what, client, outcome] texts.
function rows(html) {
  const table = /data-testid="audit-entries"[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
  return [...table.matchAll(/<tr class="govuk-table__row">([\s\S]*?)<\/tr>/g)].slice(1).map((m) =>
    [...m[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()));
}

test('an auditor finds who read a client, and the refusals, newest first', T, async () => {
  const page = await auditor.get(`/audit?person=${person}&action=person`);
  assert.equal(page.status, 200, page.text.slice(0, 300));
  const found = rows(page.text);
  assert.ok(found.length >= 2, JSON.stringify(found));
  assert.match(found[0][1], /^frontdesk\.city frontdesk · Front desk/, 'who, their roles and the purpose they stated');
  assert.match(found[0][2], /^person\.history person/);
  assert.match(found[0][4], /^Refused/);
  assert.ok(found.some((r) => /^caseworker\.city/.test(r[1]) && /^person\.read/.test(r[2]) && /^Allowed/.test(r[4])));
  for (const r of found) assert.equal(r[3], String(person));

  const refused = rows((await auditor.get('/audit?refused=1')).text);
  assert.ok(refused.length >= 1);
  assert.ok(refused.every((r) => /^Refused/.test(r[4])), JSON.stringify(refused));
  const byWho = rows((await auditor.get('/audit?actor=caseworker.city')).text);
  assert.ok(byWho.length >= 1 && byWho.every((r) => /^caseworker\.city/.test(r[1])));
  // Another agency's staff are not in it.
  const state = await login(server.url, 'caseworker.state');
  assert.equal((await state.get(`/api/v1/persons/${person}`)).status < 500, true);
  assert.deepEqual(rows((await auditor.get('/audit?actor=caseworker.state')).text), []);
});

test('every search is recorded in the log with its filters, and the download says the same', T, async () => {
  await auditor.get(`/audit?person=${person}&refused=1`);
  const reason = await sql(db, "SELECT reason FROM audit_log WHERE action = 'audit.search' AND actor = 'auditor.city' "
    + 'ORDER BY seq DESC LIMIT 1');
  assert.match(reason, new RegExp(`person=${person}, refused=only`));
  // A search about a person is in their own access log, as any look at their record is.
  assert.equal(await sql(db, "SELECT person_id FROM audit_log WHERE action = 'audit.search' AND actor = 'auditor.city' "
    + 'ORDER BY seq DESC LIMIT 1'), String(person));

  const csv = await auditor.get(`/audit/export.csv?person=${person}&action=person.read`);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  assert.match(csv.headers.get('content-disposition'), /attachment; filename="audit-log.csv"/);
  const lines = csv.text.trim().split('\r\n');
  assert.equal(lines[0], 'seq,at,actor,roles,purpose,action,record_type,record_id,person_id,allowed,reason,client_address,request_id');
  assert.ok(lines.length >= 2);
  for (const line of lines.slice(1)) assert.match(line, new RegExp(`,"person\\.read","person","${person}",${person},yes,`));
  assert.equal(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'audit.export' AND actor = 'auditor.city'"), '1');
});

test('mistakes in the search are named at their fields, and nothing is searched', T, async () => {
  const before = await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'audit.search'");
  const r = await auditor.get('/audit?person=abc&from=2026-13-01&to=2026-01-01&action=Person.Read');
  assert.equal(r.status, 400);
  for (const id of ['person', 'from', 'action']) assert.match(r.text, new RegExp(`href="#${id}"`));
  assert.match(r.text, /value="abc"/);
  assert.equal(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'audit.search'"), before);
  const backwards = await auditor.get('/audit?from=2026-02-01&to=2026-01-01');
  assert.equal(backwards.status, 400);
  assert.match(backwards.text, /The end date must not be before the start date/);
});

test('older entries are a page away; only auditors see the page, and refusals are recorded', T, async () => {
  for (let i = 0; i < 55; i += 1) await auditor.get('/audit?action=nothing');
  const first = await auditor.get('/audit?actor=auditor.city&action=audit');
  assert.equal(rows(first.text).length, 50);
  const older = /href="(\/audit\?[^"]*before=\d+)"/.exec(first.text)?.[1]?.replaceAll('&amp;', '&');
  assert.ok(older, 'an "Older entries" link');
  const second = rows((await auditor.get(older)).text);
  assert.ok(second.length >= 5);
  assert.match(first.text, /href="\/audit"[^>]*>[\s\S]{0,120}Audit log/);

  for (const who of [caseworker, frontdesk]) {
    const refused = await who.get('/audit');
    assert.equal(refused.status, 403);
    assert.doesNotMatch(refused.text, /data-testid="audit-entries"/);
    assert.equal((await who.get('/audit/export.csv')).status, 403);
    assert.doesNotMatch((await who.get('/')).text, /href="\/audit"/);
  }
  assert.equal(await sql(db, "SELECT count(*) FROM audit_log WHERE action IN ('audit.search', 'audit.export') AND allowed = 0"), '4');
});
