// The person view of a person with 500 timeline entries (docs/PERFORMANCE.md, "Person view";
// make bench-person-view). A fresh demo database, one release server; the person's record is
// filled through the API as agencies would fill it (contacts, documents, referrals with consent,
// an application with decisions, cases), then a caseworker of the city opens /clients/{id} again
// and again, one request at a time. The server's own time for each request is read from its
// request log (the "ms" field); the time seen by the client is printed beside it.
//
//   node bench/person_view.mjs [--requests N] [--entries N]
//   ONEDOOR_BIN=build/release/onedoor (the default)

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { repoRoot } from '../tests/browser/lib.mjs';

process.env.ONEDOOR_BIN ??= path.join(repoRoot, 'build', 'release', 'onedoor');
const { login, prepareDatabase, serve, sql } = await import('../tests/http/helpers.mjs');

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '500' }, entries: { type: 'string', default: '500' } },
});
const kRequests = Number(values.requests);
const kEntries = Number(values.entries);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function summary(ms) {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 0.5), p95: percentile(s, 0.95), p99: percentile(s, 0.99), max: s[s.length - 1] };
}

async function created(r, what) {
  assert.equal(r.status, 201, `${what}: ${r.text.slice(0, 300)}`);
  return r.body;
}

const prepared = await prepareDatabase({ people: 50, prefix: 'onedoor-bench-person-' });
// One caseworker makes every request, faster than a person would: no limit per caller.
const server = await serve(prepared.db, { logDir: prepared.dir, env: { ONEDOOR_LOG_LEVEL: 'debug', ONEDOOR_USER_REQUESTS_PER_MINUTE: '0' } });
try {
  const cw = await login(server.url, 'caseworker.city');
  const eligibility = await login(server.url, 'caseworker.city', { purpose: 'eligibility' });
  const coordinator = await login(server.url, 'coordinator.city');
  const state = await login(server.url, 'caseworker.state');
  const stateId = Number(await sql(prepared.db, "SELECT id FROM agencies WHERE code = 'state-benefits'"));

  const seedStart = performance.now();
  const person = (await created(await cw.post('/api/v1/persons', {
    names: [{ use: 'official', given: 'Tima', family: 'Lynne' }], birth_date: '1968-03-14',
    addresses: [{ use: 'home', line1: '5 Long Road', city: 'Riverside', postcode: '1002' }],
  }), 'person')).id;
  const household = (await created(await cw.post('/api/v1/households', { name: 'The Lynne household' }), 'household')).id;
  const member = await cw.post(`/api/v1/households/${household}/members`, { person_id: person, relationship: 'head', since: '2019-01-01' });
  assert.equal(member.status, 200, member.text);

  // An application for two programs, one decided by the state.
  const screening = await created(await eligibility.post('/api/v1/screenings', {
    household_id: household,
    inputs: { earned_income: '900', unearned_income: 0, shelter_costs: '600', has_elderly_or_disabled_member: false, countable_assets: '0' },
  }), 'screening');
  const application = await created(await eligibility.post('/api/v1/applications', {
    screening_id: screening.id, applicant_id: person, programs: ['snap', 'winter_fuel_grant'],
  }), 'application');
  const snap = application.parts.find((p) => p.program === 'snap');
  const decided = await state.post(`/api/v1/application-parts/${snap.id}/decision`, { decision: 'approve', version: 1 });
  assert.equal(decided.status, 200, decided.text);

  // Referrals to the state under the person's consent to share identity and contact.
  const consent = await created(await cw.post(`/api/v1/persons/${person}/consents`, {
    receiving_agency_id: stateId, scope: 'partial', categories: ['identity', 'contact'], purpose: 'service_delivery',
    legal_basis: 'consent', how_to_withdraw: 'Tell any caseworker.', evidence: 'signed_form', document_ref: 'B-1',
  }), 'consent');
  for (let i = 0; i < 20; i++) {
    await created(await cw.post('/api/v1/referrals', {
      person_id: person, to_agency_id: stateId, urgency: 'routine', message: `Referral ${i + 1} for help with rent.`,
      consent_id: consent.id,
    }), 'referral');
  }
  for (let i = 0; i < 5; i++) {
    await created(await coordinator.post('/api/v1/cases', {
      person_id: person, title: `Support plan ${i + 1}`, criteria: 'Needs from two agencies.',
    }), 'case');
  }
  for (let i = 0; i < 40; i++) {
    await created(await cw.req('POST', `/api/v1/persons/${person}/documents?kind=payslip&category=income&file_name=payslip-${i + 1}.pdf`,
      { body: `%PDF-1.4\npayslip ${i + 1}\n%%EOF\n`, headers: { 'Content-Type': 'application/pdf' } }), 'document');
  }
  // Contacts fill the rest.
  let entries = (await cw.get(`/api/v1/persons/${person}/timeline`)).body.items.length;
  const channels = ['desk', 'phone', 'web', 'email', 'outreach'];
  for (let i = 0; entries < kEntries; i++, entries++) {
    await created(await cw.post('/api/v1/interactions', {
      person_id: person, channel: channels[i % channels.length], topic: `Question ${i + 1} about rent`, outcome: 'resolved',
    }), 'contact');
  }
  const timeline = await cw.get(`/api/v1/persons/${person}/timeline`);
  assert.equal(timeline.status, 200, timeline.text);
  assert.ok(timeline.body.items.length >= kEntries, `the timeline has ${timeline.body.items.length} entries`);
  const seedSeconds = (performance.now() - seedStart) / 1000;

  // Warm-up, then the measured requests: the person's page, then the first page of their whole
  // timeline.
  async function measure(page, route, check) {
    for (let i = 0; i < 20; i++) assert.equal((await cw.get(page)).status, 200);
    const logBefore = (await readFile(server.logPath, 'utf8')).length;
    const auditBefore = Number(await sql(prepared.db, 'SELECT count(*) FROM audit_log'));
    const client = [];
    for (let i = 0; i < kRequests; i++) {
      const t = performance.now();
      const r = await cw.get(page);
      client.push(performance.now() - t);
      assert.equal(r.status, 200);
      if (i === 0) check(r.text);
    }
    const audited = Number(await sql(prepared.db, 'SELECT count(*) FROM audit_log')) - auditBefore;
    // Give the log a moment to reach the file.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const lines = (await readFile(server.logPath, 'utf8')).slice(logBefore).split('\n');
    const serverMs = [];
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line);
      if (e.msg === 'request' && e.route === route && e.method === 'GET') serverMs.push(Number(e.ms));
    }
    assert.equal(serverMs.length, kRequests, 'one request log line per measured request');
    const round = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number(v.toFixed(2))]));
    return { server_ms: round(summary(serverMs)), client_ms: round(summary(client)), audit_entries_per_view: audited / kRequests };
  }
  const view = await measure(`/clients/${person}`, '/clients/{id}', (html) => {
    assert.ok(/See all \d+ contacts/.test(html), 'the page shows the newest contacts and links to all');
    assert.ok(/See all \d+ entries/.test(html), 'the page shows the newest entries and links to the timeline');
    assert.ok(/payslip-40\.pdf/.test(html), 'the page lists the documents');
  });
  const whole = await measure(`/clients/${person}/timeline`, '/clients/{id}/timeline', (html) => {
    assert.ok(new RegExp(`1 to 50 of ${kEntries}`).test(html), 'the first 50 entries of all');
  });
  console.log(JSON.stringify({
    bench: 'person_view', entries: timeline.body.items.length, requests: kRequests,
    person_view: view, timeline_page: whole,
    seed_seconds: Number(seedSeconds.toFixed(1)), cpus: os.cpus().length, cpu: os.cpus()[0]?.model,
  }));
} finally {
  await server.stop();
}
