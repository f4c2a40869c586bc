// Service metrics over HTTP: six contacts recorded today give 6 contacts and 83.3% resolved at the
// first contact; a lone ticket's waits are not shown (fewer than 5); the CSV carries the same
// figures; managers, administrators and auditors see their own agency's, governance any agency's,
// and everyone else is refused.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/metrics.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createRequire } from 'node:module';

import { assertProblem, login, prepareDatabase, serve, sql } from './helpers.mjs';

const XLSX = createRequire(import.meta.url)('xlsx');

const T = { timeout: 60_000 };

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-metrics-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
});

test('service metrics: counted from the work, small cells suppressed, as JSON, CSV and a page', T, async () => {
  const desk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });
  const manager = await login(server.url, 'manager.city', { purpose: 'service_delivery' });
  for (let i = 0; i < 6; ++i) {
    const r = await desk.post('/api/v1/interactions', { channel: i < 4 ? 'desk' : 'phone', topic: 'Rent', outcome: i < 5 ? 'resolved' : 'follow_up' });
    assert.equal(r.status, 201, r.text);
  }
  const office = Number(await sql(db, "SELECT min(o.id) FROM offices o JOIN agencies a ON a.id = o.agency_id WHERE a.code = 'city-social'"));
  const queue = Number(await sql(db, `SELECT min(id) FROM queues WHERE office_id = ${office}`));
  assert.equal((await desk.post(`/api/v1/queues/${queue}/tickets`, { priority: 'normal' })).status, 201);

  const m = await manager.get('/api/v1/metrics/service');
  assert.equal(m.status, 200, m.text);
  assert.equal(m.body.agency.name, 'City Social Services Department');
  assert.equal(m.body.min_cell, 5);
  assert.deepEqual(m.body.contacts.count, { value: 6, suppressed: false });
  assert.deepEqual(m.body.contacts.first_contact_resolution, { part: 5, whole: 6, percent: 83.3, suppressed: false });
  assert.deepEqual(m.body.contacts.by_channel.map((c) => [c.channel, c.contacts.value]), [['desk', null], ['phone', null]]);
  assert.equal(m.body.contacts.by_channel[0].contacts.suppressed, true);  // four: fewer than five
  assert.equal(m.body.contacts.satisfied.percent, null);
  assert.deepEqual(m.body.queues[0].tickets, { value: null, suppressed: true });
  assert.deepEqual(m.body.repeat_contacts, { part: 0, whole: 0, percent: null, suppressed: false });  // no known person

  // The operational gauges for Prometheus: the ticket waiting at its queue, by codes only.
  const code = await sql(db, `SELECT code FROM queues WHERE id = ${queue}`);
  const prom = await manager.get('/metrics');
  assert.equal(prom.status, 200);
  assert.match(prom.text, new RegExp(`^onedoor_queue_waiting\\{office="${office}",queue="${code}"\\} 1$`, 'm'));
  assert.match(prom.text, /^onedoor_referrals_overdue\{agency="city-social"\} 0$/m);
  assert.match(prom.text, /^# TYPE onedoor_changes_pending gauge$/m);

  // The home page, by role: the desk sees the visitor waiting and today's six contacts; the
  // manager sees the teams' load and the overdue work.
  const deskHome = await desk.get('/');
  assert.match(deskHome.text, /Visitors waiting now<\/dt><dd class="govuk-summary-list__value">1</);
  assert.match(deskHome.text, /Contacts recorded today<\/dt><dd class="govuk-summary-list__value">6</);
  assert.doesNotMatch(deskHome.text, /Team load/);
  const managerHome = await manager.get('/');
  assert.match(managerHome.text, /Overdue across the agency/);
  assert.match(managerHome.text, /data-testid="team-load"/);
  assert.match(managerHome.text, /<th scope="row" class="govuk-table__header">Front line<\/th>/);

  // The wait chart names each queue on a line of its own under its office, so that two queues
  // of one office do not read the same.
  const performance = await manager.get('/performance');
  assert.equal(performance.status, 200);
  assert.match(performance.text, /<text x="0" y="\d+" font-size="12" fill="#505a5f">Riverside One-Stop Centre<\/text><text x="0" y="\d+">Benefits and money<\/text>/);

  const csv = await manager.get('/api/v1/metrics/service?format=csv');
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  const lines = csv.text.trim().split('\r\n');
  assert.equal(lines[0], 'metric,office,queue,value');
  assert.ok(lines.includes('contacts,,,6'), csv.text);
  assert.ok(lines.includes('first_contact_resolution_percent,,,83.3'));
  assert.ok(lines.includes('contacts_desk,,,<5'));
  assert.ok(lines.some((l) => /^tickets,Riverside One-Stop Centre,Benefits and money,<5$/.test(l)), csv.text);

  // The spreadsheet, opened and read back: the same rows, numbers as numbers.
  const book = await fetch(`${server.url}/api/v1/metrics/service?format=xlsx`, { headers: manager.headers('GET') });
  assert.equal(book.status, 200);
  assert.equal(book.headers.get('content-type'), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  const workbook = XLSX.read(Buffer.from(await book.arrayBuffer()), { type: 'buffer' });
  assert.deepEqual(workbook.SheetNames, ['Service metrics']);
  // Its title gives the period's days in the deployment's time zone, and what is not shown.
  const title = workbook.Sheets['Service metrics'].A1.v;
  assert.match(title, /^City Social Services Department, \d{4}-\d{2}-01 to \d{4}-\d{2}-\d{2} \(UTC\); figures from 1 to 4 are not shown$/, title);
  const rows = XLSX.utils.sheet_to_json(workbook.Sheets['Service metrics'], { header: 1, range: 2 });
  assert.deepEqual(rows[0], ['Metric', 'Office', 'Queue', 'Value']);
  const byName = Object.fromEntries(rows.slice(1).filter((r) => !r[1]).map((r) => [r[0], r[3]]));
  assert.equal(byName.contacts, 6);
  assert.equal(byName.first_contact_resolution_percent, 83.3);
  assert.equal(byName.contacts_desk, '<5');
  assert.equal(rows.length - 1, lines.length - 1, 'as many rows as the CSV');

  // Who may see them.
  const state = Number(await sql(db, "SELECT id FROM agencies WHERE code = 'state-benefits'"));
  assertProblem(await desk.get('/api/v1/metrics/service'), 403);
  assertProblem(await manager.get(`/api/v1/metrics/service?agency_id=${state}`), 403);
  const governance = await login(server.url, 'governance.city', { purpose: 'service_delivery' });
  const theirs = await governance.get(`/api/v1/metrics/service?agency_id=${state}`);
  assert.equal(theirs.status, 200, theirs.text);
  assert.equal(theirs.body.contacts.count.value, 0);
  // Nothing to share is not a small cell: shown as none.
  assert.deepEqual(theirs.body.contacts.first_contact_resolution, { part: 0, whole: 0, percent: null, suppressed: false });
  assertProblem(await manager.get('/api/v1/metrics/service?from=yesterday&to=2026-01-01'), 400, { fields: ['from'] });
  assertProblem(await manager.get('/api/v1/metrics/service?from=2026-02-01&to=2026-01-01'), 400, { fields: ['to'] });
  assertProblem(await manager.get('/api/v1/metrics/service?format=xml'), 400, { fields: ['format'] });
  assert.equal(Number(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'metrics.read' AND allowed = 0")), 2);

  // The page: the same figures, the chart, and the CSV link.
  const page = await manager.get('/performance');
  assert.equal(page.status, 200);
  assert.match(page.text, /Resolved at the first contact<\/dt><dd class="govuk-summary-list__value">83\.3% \(5 of 6\)/);
  assert.match(page.text, /<svg [^>]*role="img"/);
  assert.match(page.text, /fewer than 5/);
  assert.match(page.text, /Contacts at a desk<\/dt>/);
  assert.match(page.text, /Contacts by phone<\/dt>/);
  assert.match(page.text, /href="\/api\/v1\/metrics\/service\?agency_id=\d+&amp;from=\d{4}-\d\d-\d\d&amp;to=\d{4}-\d\d-\d\d&amp;format=csv"/);
  assert.equal((await desk.get('/performance')).status, 403);
  // Dates written wrong stay in their fields, the mistake named in the page's words; the figures
  // and downloads are of the period the page says.
  const wrong = await manager.get('/performance?from=2026-12-06&to=2026-01-01');
  assert.match(wrong.text, /The end date must not be before the start date/);
  assert.match(wrong.text, /id="from" name="from" type="date" value="2026-12-06"|value="2026-12-06"/);
  assert.match(wrong.text, /value="2026-01-01"/);
  assert.doesNotMatch(wrong.text, /from=2026-12-06&amp;to=2026-01-01&amp;format=csv/);
  const month = await manager.get('/performance/scorecard?month=2026-13');
  assert.match(month.text, /Write the month like 2026-11/);
  assert.match(month.text, /value="2026-13"/);
});

test('service targets and the monthly scorecard: set by the agency\'s manager, met or missed on the month\'s work', T, async () => {
  const manager = await login(server.url, 'manager.city', { purpose: 'service_delivery' });
  const auditor = await login(server.url, 'auditor.city', { purpose: 'audit' });
  const city = Number(await sql(db, "SELECT id FROM agencies WHERE code = 'city-social'"));
  assertProblem(await auditor.post(`/api/v1/agencies/${city}/service-targets`, { metric: 'satisfied_percent', comparison: 'at_least', value: 90 }), 403);
  assertProblem(await manager.post(`/api/v1/agencies/${city}/service-targets`, { metric: 'joy', comparison: 'at_least', value: 'lots' }), 400,
    { fields: ['value'] });
  assertProblem(await manager.post(`/api/v1/agencies/${city}/service-targets`, { metric: 'joy', comparison: 'above', value: 1 }), 400,
    { fields: ['metric', 'comparison'] });
  const fcr = await manager.post(`/api/v1/agencies/${city}/service-targets`, { metric: 'first_contact_resolution_percent', comparison: 'at_least', value: 80 });
  assert.equal(fcr.status, 201, fcr.text);
  assert.equal(fcr.body.label, 'Contacts resolved at the first contact: at least 80%');
  const high = await manager.post(`/api/v1/agencies/${city}/service-targets`, { metric: 'first_contact_resolution_percent', comparison: 'at_least', value: 90 });
  assert.equal(high.status, 201);
  const within = await manager.post(`/api/v1/agencies/${city}/service-targets`, { metric: 'waited_within_percent', comparison: 'at_least', value: 90, minutes: 20 });
  assert.equal(within.status, 201, within.text);
  // The same target again is refused: it would be one row shown twice.
  assertProblem(await manager.post(`/api/v1/agencies/${city}/service-targets`,
    { metric: 'waited_within_percent', comparison: 'at_least', value: 90, minutes: 20 }), 409, { detail: /has this target already/ });
  const minutes = assertProblem(await manager.post(`/api/v1/agencies/${city}/service-targets`,
    { metric: 'satisfied_percent', comparison: 'at_least', value: 90, minutes: 5 }), 400, { fields: ['minutes'] });
  assert.match(minutes.errors[0].message, /leave it empty/);
  assert.equal((await auditor.get(`/api/v1/agencies/${city}/service-targets`)).body.items.length, 3);

  // This month: six contacts, five resolved (83.3%): the first met, the second missed; one ticket, too few.
  const card = await auditor.get('/api/v1/metrics/scorecard');
  assert.equal(card.status, 200, card.text);
  assert.deepEqual(card.body.results.map((r) => [r.target.id, r.status, r.actual]),
    [[fcr.body.id, 'met', 83.3], [high.body.id, 'missed', 83.3], [within.body.id, 'unknown', null]]);
  assert.equal(card.body.results[0].trend.length, 6);
  assert.deepEqual([card.body.met, card.body.missed, card.body.unknown], [1, 1, 1]);
  assertProblem(await auditor.get('/api/v1/metrics/scorecard?month=2026-13'), 400, { fields: ['month'] });

  const page = await manager.get('/performance/scorecard');
  assert.equal(page.status, 200);
  assert.match(page.text, /1 met, 1 missed, 1 not known/);
  assert.match(page.text, /Contacts resolved at the first contact: at least 90%<\/th><td class="govuk-table__cell">83\.3<\/td><td class="govuk-table__cell"><strong class="govuk-tag govuk-tag--red">Missed/);
  assert.doesNotMatch((await auditor.get('/performance/scorecard')).text, /Add a target/);

  assertProblem(await auditor.req('DELETE', `/api/v1/service-targets/${high.body.id}`), 403);
  assert.equal((await manager.req('DELETE', `/api/v1/service-targets/${high.body.id}`)).status, 204);
  assertProblem(await manager.req('DELETE', `/api/v1/service-targets/${high.body.id}`), 404);
});
