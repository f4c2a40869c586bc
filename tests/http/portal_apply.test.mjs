// A person checks in the portal what they could get and applies once for several programs of
// two agencies: the questionnaire asks only what the rules still need (a wrong answer named and
// asked again, answers carried from step to step, nothing saved until the end), the results
// and the application, each agency sees and decides only its own part, the person answers a
// request for more information and follows each decision; their access log shows it all. No
// one else sees any of it.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/portal_apply.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { hiddenCsrf, linkedCitizen, login, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 90_000 };

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 12, prefix: 'onedoor-portal-apply-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
});

// The answers a household gives, by question; any other question is answered no or 0.
// Amounts as people write them: "1.100" is 1100 (an amount has no third decimal).
const kAnswers = { earned_income: '1.100', unearned_income: '0', shelter_costs: '$850', countable_assets: '300', age: '34' };

// The questions on a questionnaire page (form names), and the answers it carries unseen.
function questionsOf(html) {
  const asked = new Set();
  for (const m of html.matchAll(/<(?:input|select) class="govuk-(?:input|radios__input|select)[^"]*"[^>]* name="((?:in|m\d+)\.[a-z_]+)"/g)) asked.add(m[1]);
  const carried = [...html.matchAll(/<input type="hidden" name="((?:in|m\d+)\.[a-z_]+)" value="([^"]*)">/g)].map((m) => [m[1], m[2]]);
  return { asked: [...asked], carried };
}

function answerFor(name, html) {
  const symbol = name.slice(name.indexOf('.') + 1);
  if (kAnswers[symbol] !== undefined) return kAnswers[symbol];
  return new RegExp(`<input[^>]*name="${name.replace('.', '\\.')}"[^>]*type="radio"`).test(html) ? 'false' : '0';
}

test('a person is screened once in the portal and applies to three programs of two agencies', T, async () => {
  // A client who lives with someone.
  const [person, household] = (await sql(db, 'SELECT m.person_id, m.household_id FROM household_members m WHERE m.end_date IS NULL AND '
    + '(SELECT count(*) FROM household_members o WHERE o.household_id = m.household_id AND o.end_date IS NULL) >= 2 ORDER BY m.id LIMIT 1'))
    .split('|').map(Number);
  assert.ok(person > 0 && household > 0);
  const others = (await sql(db, `SELECT p.display_name FROM household_members m JOIN persons p ON p.id = m.person_id WHERE m.household_id = ${household} AND m.end_date IS NULL AND m.person_id <> ${person}`)).split('\n');
  const ana = await linkedCitizen(server.url, db, person, { name: 'Ana Check', email: 'ana.check@example.org' });
  const screeningsBefore = Number(await sql(db, 'SELECT count(*) FROM screenings'));

  const home = await ana.go('GET', '/portal');
  assert.match(home.text, /href="\/portal\/check">Check what you could get and apply/);
  let page = await ana.go('GET', '/portal/check');
  assert.equal(page.status, 200, page.text.slice(0, 300));
  // What is known is shown, not asked: who lives there, and no question of anyone's age.
  assert.match(page.text, /data-testid="household"/);
  for (const name of others) assert.ok(page.text.includes(name), `the household lists ${name}`);
  let { asked } = questionsOf(page.text);
  assert.ok(asked.includes('in.earned_income'), asked.join(','));
  assert.ok(!asked.some((q) => q.endsWith('.age')), `ages come from the records: ${asked}`);
  assert.ok(!asked.includes('in.household_size'), 'the household size comes from the record');

  // A wrong answer is named and asked again; nothing is saved.
  const wrong = await ana.go('POST', '/portal/check', [['csrf_token', hiddenCsrf(page.text)], ['in.earned_income', 'lots']]);
  assert.equal(wrong.status, 400);
  assert.match(wrong.text, /govuk-error-summary/);
  assert.match(wrong.text, /href="#in-earned_income"/);
  assert.match(wrong.text, /id="in-earned_income-error"/);
  // An amount that could be read two ways is asked again, not guessed.
  const unclear = await ana.go('POST', '/portal/check', [['csrf_token', hiddenCsrf(page.text)], ['in.earned_income', '1.2005']]);
  assert.equal(unclear.status, 400);
  assert.match(unclear.text, /href="#in-earned_income">Write the amount in figures, like 3500 or 3500.50/);
  // An answer out of bounds is named beside one that could not be read, at once.
  const both = await ana.go('POST', '/portal/check',
    [['csrf_token', hiddenCsrf(page.text)], ['in.earned_income', 'lots'], ['in.unearned_income', '-5']]);
  assert.equal(both.status, 400);
  assert.match(both.text, /href="#in-earned_income"/);
  assert.match(both.text, /href="#in-unearned_income">Must be at least 0</);
  // In Spanish, the bound is said in Spanish too.
  ana.cookies.set('onedoor_lang', 'es');
  const spanish = await ana.go('POST', '/portal/check', [['csrf_token', hiddenCsrf(page.text)], ['in.unearned_income', '-5']]);
  ana.cookies.delete('onedoor_lang');
  assert.match(spanish.text, /href="#in-unearned_income">Debe ser al menos 0</);

  // Step by step until the rules need nothing more; each step carries the earlier answers.
  let done;
  for (let steps = 0; steps < 6 && !done; ++steps) {
    ({ asked } = questionsOf(page.text));
    const { carried } = questionsOf(page.text);
    assert.ok(asked.length > 0 || /data-testid="all-answered"/.test(page.text), 'a step asks something or is the last');
    for (const [name] of carried) assert.ok(!asked.includes(name), `${name} is not asked twice`);
    const fields = [['csrf_token', hiddenCsrf(page.text)], ...carried, ...asked.map((n) => [n, answerFor(n, page.text)])];
    if (asked.length === 0) fields.push(['finish', '1']);
    const r = await ana.go('POST', '/portal/check', fields);
    if (r.status === 303) done = r.headers.get('location');
    else {
      assert.equal(r.status, 200, /govuk-error-summary__list">([\s\S]*?)<\/ul>/.exec(r.text)?.[1] ?? r.text.slice(0, 500));
      assert.equal(Number(await sql(db, 'SELECT count(*) FROM screenings')), screeningsBefore, 'nothing saved before the end');
      page = r;
    }
  }
  assert.match(done ?? '', /^\/portal\/screenings\/\d+$/);
  const screening = Number(done.split('/').pop());
  assert.equal(Number(await sql(db, `SELECT household_id FROM screenings WHERE id = ${screening}`)), household);
  const input = JSON.parse(await sql(db, `SELECT input FROM screenings WHERE id = ${screening}`));
  assert.equal(JSON.stringify(input).includes('"1100"'), true, JSON.stringify(input));

  const results = await ana.go('GET', done);
  assert.equal(results.status, 200);
  for (const program of ['snap', 'medicaid_adult', 'wic']) assert.match(results.text, new RegExp(`data-program="${program}"`));
  // A result worked out with amounts no longer in force is marked, as staff are told (the
  // shipped SNAP amounts end on 2026-10-01 until the pack has the next year's).
  const stored = JSON.parse(await sql(db, `SELECT result FROM screenings WHERE id = ${screening}`));
  const staleOnes = stored.programs.filter((p) => (p.stale ?? []).length > 0).map((p) => p.program);
  assert.equal(/data-testid="stale-results"/.test(results.text), staleOnes.length > 0, staleOnes.join());
  for (const program of staleOnes) {
    assert.match(results.text, new RegExp(`data-program="${program}">(?:(?!</tr>)[^])*May be out of date`));
  }
  // None chosen: named.
  const none = await ana.go('POST', `/portal/screenings/${screening}/apply`, [['csrf_token', hiddenCsrf(results.text)]]);
  assert.equal(none.status, 400);
  assert.match(none.text, /href="#program-[a-z_]+">Choose at least one program to apply for/);
  // Three programs of two agencies, at once.
  const applied = await ana.go('POST', `/portal/screenings/${screening}/apply`, [
    ['csrf_token', hiddenCsrf(results.text)], ['programs', 'snap'], ['programs', 'medicaid_adult'], ['programs', 'wic']]);
  assert.equal(applied.status, 303, applied.text.slice(0, 500));
  const id = Number(/\/portal\/applications\/(\d+)\?made=1/.exec(applied.headers.get('location'))[1]);
  const applicant = await sql(db, `SELECT display_name FROM persons WHERE id = ${person}`);
  assert.equal(await sql(db, `SELECT coalesce(agency_id, 'none') || '|' || made_by FROM applications WHERE id = ${id}`), `none|${applicant}`);
  let mine = await ana.go('GET', applied.headers.get('location'));
  assert.match(mine.text, /Your application is sent to each agency/);
  assert.match(mine.text, /Made on .* in the portal/);
  assert.equal([...mine.text.matchAll(/data-testid="state">Being decided</g)].length, 3);

  // Each agency sees its own parts only; an agency without a part does not know it.
  const state = await login(server.url, 'caseworker.state', { purpose: 'eligibility' });
  const health = await login(server.url, 'caseworker.health', { purpose: 'eligibility' });
  const city = await login(server.url, 'caseworker.city', { purpose: 'eligibility' });
  const forState = await state.get(`/api/v1/applications/${id}`);
  assert.equal(forState.status, 200, forState.text);
  assert.deepEqual(forState.body.parts.map((p) => p.program), ['snap']);
  assert.deepEqual((await health.get(`/api/v1/applications/${id}`)).body.parts.map((p) => p.program).sort(), ['medicaid_adult', 'wic']);
  assert.equal((await city.get(`/api/v1/applications/${id}`)).status, 404);

  // The state asks for payslips; the person answers in the portal; the state approves.
  const snap = forState.body.parts[0];
  const asked2 = await state.post(`/api/v1/application-parts/${snap.id}/decision`,
    { decision: 'request_information', version: snap.version, note: 'Payslips for the last 30 days' });
  assert.equal(asked2.status, 200, asked2.text);
  mine = await ana.go('GET', `/portal/applications/${id}`);
  assert.match(mine.text, /data-testid="state">Information needed from you/);
  assert.match(mine.text, /data-testid="request"><strong>The agency asks:<\/strong> Payslips for the last 30 days/);
  const version = /name="version" value="(\d+)"/.exec(mine.text)[1];
  const empty = await ana.go('POST', `/portal/applications/${id}/parts/${snap.id}/answer`,
    { csrf_token: hiddenCsrf(mine.text), version, answer: '  ' });
  assert.equal(empty.status, 400);
  assert.match(empty.text, new RegExp(`href="#answer-${snap.id}">Write your answer, 1 to 2000 characters`));
  const answered = await ana.go('POST', `/portal/applications/${id}/parts/${snap.id}/answer`,
    { csrf_token: hiddenCsrf(mine.text), version, answer: 'I brought them to the office on Main Street.' });
  assert.equal(answered.status, 303, answered.text.slice(0, 300));
  // Answering twice is refused: nothing is asked any more.
  const again = await ana.go('POST', `/portal/applications/${id}/parts/${snap.id}/answer`,
    { csrf_token: hiddenCsrf(mine.text), version, answer: 'Again' });
  assert.equal(again.status, 409);
  const seen = await state.get(`/api/v1/applications/${id}`);
  assert.equal(seen.body.parts[0].state, 'pending');
  assert.equal(seen.body.parts[0].answer, 'I brought them to the office on Main Street.');
  assert.equal(await sql(db, `SELECT count(*) FROM outbox WHERE type = 'application.information_received' AND aggregate_id = '${id}'`), '1');
  // A payslip for it, from the portal; a picture called a PDF is refused and nothing is kept.
  const send = async (name, type, bytes, kind = 'payslip') => {
    const form = new FormData();
    form.append('csrf_token', hiddenCsrf(mine.text));
    form.append('kind', kind);
    form.append('file', new Blob([bytes], { type }), name);
    return ana.go('POST', `/portal/applications/${id}/documents`, form);
  };
  const fake = await send('statement.pdf', 'application/pdf', Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), 'bank_statement');
  assert.equal(fake.status, 303);
  const refusedPage = await ana.go('GET', fake.headers.get('location').replace(/#.*/, ''));
  assert.match(refusedPage.text, /href="#file">The file is not the kind its name says: send a PDF, JPEG or PNG file/);
  // The kind chosen stays chosen, so that the next file is not sent as the first kind.
  assert.match(refusedPage.text, /<option value="bank_statement" selected>/);
  assert.equal(await sql(db, `SELECT count(*) FROM documents WHERE application_id = ${id}`), '0');
  const sent = await send('payslip-november.pdf', 'application/pdf', Buffer.from('%PDF-1.4\n% a payslip\n'));
  assert.equal(sent.status, 303);
  const withDoc = await ana.go('GET', sent.headers.get('location').replace(/#.*/, ''));
  assert.match(withDoc.text, /Your document is sent/);
  assert.match(withDoc.text, /<td class="govuk-table__cell">payslip-november\.pdf<\/td><td class="govuk-table__cell">Payslip<\/td>/);
  assert.equal(await sql(db, `SELECT coalesce(agency_id, 'none') || '|' || category || '|' || kind FROM documents WHERE application_id = ${id}`),
    'none|income|payslip');
  const approved = await state.post(`/api/v1/application-parts/${snap.id}/decision`, { decision: 'approve', version: seen.body.parts[0].version });
  assert.equal(approved.status, 200, approved.text);
  const list = await ana.go('GET', '/portal/applications');
  assert.match(list.text, new RegExp(`Application ${id}`));
  assert.match(list.text, /govuk-tag--green">Approved/);
  // The access log says who did what (the person's own actions when asked for).
  assert.match((await ana.go('GET', '/portal')).text, /Decided a part of your application/);
  const log = await ana.go('GET', '/portal?all=1');
  assert.match(log.text, /Made your application/);
  assert.match(log.text, /Screened your household for every program/);
  assert.match(log.text, /Decided a part of your application/);
  assert.match(log.text, /Uploaded a document/);

  // Someone else: a person in another household sees nothing of it and cannot use it.
  const [stranger] = (await sql(db, `SELECT m.person_id FROM household_members m WHERE m.end_date IS NULL AND m.household_id <> ${household} ORDER BY m.id LIMIT 1`)).split('\n').map(Number);
  const bo = await linkedCitizen(server.url, db, stranger, { name: 'Bo Other', email: 'bo.other@example.org' });
  assert.equal((await bo.go('GET', `/portal/applications/${id}`)).status, 404);
  assert.equal((await bo.go('GET', `/portal/screenings/${screening}`)).status, 403);
  const boHome = await bo.go('GET', '/portal');
  const stolen = await bo.go('POST', `/portal/screenings/${screening}/apply`, [['csrf_token', hiddenCsrf(boHome.text)], ['programs', 'snap']]);
  assert.equal(stolen.status, 403);
  assert.equal(Number(await sql(db, `SELECT count(*) FROM applications WHERE person_id = ${stranger}`)), 0);
  const boAnswer = await bo.go('POST', `/portal/applications/${id}/parts/${snap.id}/answer`,
    { csrf_token: hiddenCsrf(boHome.text), version: '1', answer: 'x' });
  assert.equal(boAnswer.status, 404);
  const boForm = new FormData();
  boForm.append('csrf_token', hiddenCsrf(boHome.text));
  boForm.append('kind', 'payslip');
  boForm.append('file', new Blob([Buffer.from('%PDF-1.4\n')], { type: 'application/pdf' }), 'x.pdf');
  assert.equal((await bo.go('POST', `/portal/applications/${id}/documents`, boForm)).status, 404);
  assert.equal(await sql(db, `SELECT count(*) FROM documents WHERE application_id = ${id}`), '1');
  // Staff do not use the person's pages.
  assert.equal((await state.get('/portal/check')).status, 303);
});
