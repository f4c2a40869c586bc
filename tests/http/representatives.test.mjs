// Authorised representatives in the portal: a person lets someone else's portal account act for
// them (mistakes named first), within what they grant; the representative switches to acting
// for them and sees their record, is refused what was not granted and what only the person may
// do, and every entry they cause says a representative acted; the person ends it, and the
// representative's session stops acting for them at once.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/representatives.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { hiddenCsrf, linkedCitizen, prepareDatabase, serve, signedInCitizen, sql } from './helpers.mjs';

const T = { timeout: 90_000 };

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 6, prefix: 'onedoor-representatives-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
});

test('a person lets their daughter act for them, within what they grant, and ends it', T, async () => {
  const person = Number(await sql(db, 'SELECT min(person_id) FROM household_members WHERE end_date IS NULL'));
  const name = await sql(db, `SELECT display_name FROM persons WHERE id = ${person}`);
  const ana = await linkedCitizen(server.url, db, person, { name: 'Ana Rep', email: 'ana.rep@example.org' });
  const mere = await signedInCitizen(server.url, db, { name: 'Mere Daughter', email: 'mere.daughter@example.org' });

  // Mistakes are named and nothing is granted.
  let home = await ana.go('GET', '/portal');
  assert.match(home.text, /People who can act for you/);
  const grant = (fields) => ana.go('POST', '/portal/representatives', [['csrf_token', hiddenCsrf(home.text)], ...fields]);
  const bad = await grant([['rep_email', 'nobody@example.org'], ['relationship', ''], ['until', '2020-01-01']]);
  assert.equal(bad.status, 400);
  assert.match(bad.text, /href="#rep_email">No portal account has this e-mail address: ask them to create one first/);
  assert.match(bad.text, /href="#relationship">Say who they are to you, in 1 to 100 characters/);
  assert.match(bad.text, /href="#until">The last day cannot be in the past/);
  const unread = await grant([['rep_email', 'nobody@example.org'], ['relationship', 'son'], ['until', 'soon']]);
  assert.equal(unread.status, 400);
  assert.match(unread.text, /href="#until">Enter the last day like 2027-06-30/);
  assert.match(unread.text, /href="#rep_email">No portal account has this e-mail address/);
  const self = await grant([['rep_email', 'ana.rep@example.org'], ['relationship', 'me']]);
  assert.match(self.text, /This is your own account/);
  assert.equal(await sql(db, 'SELECT count(*) FROM representatives'), '0');

  // Before anything is granted, Mere tries to withdraw a consent of Ana's (and a case_notes one by
  // hand is refused to Ana, as the form does not offer it): refused, and in Ana's log as someone
  // else's account, not as her household's, nor later as her representative's.
  const agency = await sql(db, "SELECT id FROM agencies WHERE code = 'health-authority'");
  const consentForm = await ana.go('GET', '/portal/consents/new');
  const consent = (categories) => ana.go('POST', '/portal/consents/new', [
    ['csrf_token', hiddenCsrf(consentForm.text)], ['receiving_agency_id', `agency:${agency}`],
    ...categories.map((c) => ['categories', c]), ['purpose', 'case_work'],
  ]);
  const black = await consent(['identity', 'case_notes']);
  assert.equal(black.status, 400);
  assert.match(black.text, /href="#category-[a-z_]+">Select only kinds of information the form offers/);
  assert.equal((await consent(['identity'])).status, 303);
  const consentId = await sql(db, `SELECT max(id) FROM consents WHERE person_id = ${person}`);
  const mereHome = await mere.go('GET', '/portal');
  const early = await mere.go('POST', `/portal/consents/${consentId}/withdraw`, { csrf_token: hiddenCsrf(mereHome.text) });
  assert.ok([403, 404].includes(early.status), String(early.status));
  const accessLog = async () => /data-testid="portal-access-log"[\s\S]*?<\/table>/.exec((await ana.go('GET', '/portal?all=1')).text)?.[0] ?? '';
  let log = await accessLog();
  assert.match(log, /Someone else with an account<\/td>/, log);
  assert.doesNotMatch(log, /Someone in your household/);

  // Mere may see and apply, not change contact details.
  const made = await grant([['rep_email', 'Mere.Daughter@example.org'], ['relationship', 'my daughter'], ['scopes', 'apply']]);
  assert.equal(made.status, 303, made.text.slice(0, 300));
  const again = await grant([['rep_email', 'mere.daughter@example.org'], ['relationship', 'my daughter']]);
  assert.equal(again.status, 409);
  home = await ana.go('GET', '/portal');
  assert.match(home.text, /data-testid="representatives"/);
  assert.match(home.text, /Mere Daughter \(my daughter\)/);
  assert.match(home.text, /See your record and applications; check what you could get and apply/);
  const id = Number(await sql(db, 'SELECT id FROM representatives'));

  // Mere switches to acting for Ana's record.
  let mine = await mere.go('GET', '/portal');
  assert.match(mine.text, /data-testid="acting-for"/);
  assert.ok(mine.text.includes(`Act for ${name}`), mine.text.slice(0, 200));
  const stranger = await signedInCitizen(server.url, db, { name: 'Stranger', email: 'stranger@example.org' });
  const strangerHome = await stranger.go('GET', '/portal');
  assert.equal((await stranger.go('POST', '/portal/act-for', { csrf_token: hiddenCsrf(strangerHome.text), representation: String(id) })).status, 404);
  const switched = await mere.go('POST', '/portal/act-for', { csrf_token: hiddenCsrf(mine.text), representation: String(id) });
  assert.equal(switched.status, 303);
  mine = await mere.go('GET', '/portal');
  assert.match(mine.text, /data-testid="representing"/);
  assert.ok(mine.text.includes(`You are acting for ${name} (my daughter), as their representative.`));
  assert.ok(mine.text.includes(name));
  assert.match(mine.text, /href="\/portal\/check"/);
  // Not what was not granted, nor what only the person may do.
  assert.doesNotMatch(mine.text, /action="\/portal\/address"/);
  assert.doesNotMatch(mine.text, /action="\/portal\/unlink"/);
  assert.doesNotMatch(mine.text, /action="\/portal\/representatives"/);
  const csrf = hiddenCsrf(mine.text);
  const version = /name="version" value="(\d+)"/.exec((await ana.go('GET', '/portal')).text)[1];
  assert.equal((await mere.go('POST', '/portal/phone', { csrf_token: csrf, version, phone: '021 555 0199' })).status, 403);
  assert.equal((await mere.go('POST', '/portal/unlink', { csrf_token: csrf })).status, 403);
  assert.equal((await mere.go('POST', '/portal/link-code', { csrf_token: csrf })).status, 403);
  assert.equal((await mere.go('POST', '/portal/representatives', { csrf_token: csrf, rep_email: 'stranger@example.org', relationship: 'x' })).status, 403);
  // What she tried and was refused is in Ana's log too, as her representative's.
  const refused = Number(await sql(db, `SELECT count(*) FROM audit_log WHERE person_id = ${person} AND allowed = 0 AND reason LIKE '%representative, grant ${id})%'`));
  assert.ok(refused >= 4, `refused attempts in the person's log: ${refused}`);
  assert.equal((await mere.go('GET', '/portal/check')).status, 200);
  assert.equal((await mere.go('GET', '/portal/applications')).status, 200);

  // Every entry she caused says so; Ana sees it in her access log.
  const marked = Number(await sql(db, `SELECT count(*) FROM audit_log WHERE person_id = ${person} AND reason LIKE '%representative, grant ${id})%'`));
  assert.ok(marked >= 2, `entries by the representative: ${marked}`);
  home = await ana.go('GET', '/portal');
  assert.match(home.text, /<td class="govuk-table__cell"[^>]*>Your representative<\/td>/, /data-testid="portal-access-log"[\s\S]*?<\/table>/.exec(home.text)?.[0]);
  assert.match(home.text, /Started acting for you as your representative/);
  log = await accessLog();
  assert.match(log, /Someone else with an account<\/td>/, 'her attempt before the grant is still not her representative\'s');

  // Mere, reading Ana's log for her, sees what Ana did herself under Ana's name.
  const repLog = /data-testid="portal-access-log"[\s\S]*?<\/table>/.exec((await mere.go('GET', '/portal?all=1')).text)?.[0] ?? '';
  assert.ok(new RegExp(`<td class="govuk-table__cell"[^>]*>${name}</td>`).test(repLog), repLog);
  assert.doesNotMatch(repLog, /Someone in your household/);

  // Ana ends it: Mere's session is her own again at once.
  const ended = await ana.go('POST', `/portal/representatives/${id}/end`, { csrf_token: hiddenCsrf(home.text) });
  assert.equal(ended.status, 303);
  mine = await mere.go('GET', '/portal');
  assert.doesNotMatch(mine.text, /data-testid="representing"/);
  assert.doesNotMatch(mine.text, /data-testid="acting-for"/);
  assert.equal((await mere.go('POST', '/portal/act-for', { csrf_token: hiddenCsrf(mine.text), representation: String(id) })).status, 404);
  assert.equal((await mere.go('GET', '/portal/check')).status, 303, 'her own account is not linked');
  home = await ana.go('GET', '/portal');
  assert.match(home.text, /Ended/);
  assert.equal((await ana.go('POST', `/portal/representatives/${id}/end`, { csrf_token: hiddenCsrf(home.text) })).status, 409);

  // With "contact", a representative tells us once for the person.
  const second = await ana.go('POST', '/portal/representatives', [['csrf_token', hiddenCsrf(home.text)],
    ['rep_email', 'mere.daughter@example.org'], ['relationship', 'my daughter'], ['scopes', 'contact']]);
  assert.equal(second.status, 303);
  const id2 = Number(await sql(db, 'SELECT max(id) FROM representatives'));
  mine = await mere.go('GET', '/portal');
  await mere.go('POST', '/portal/act-for', { csrf_token: hiddenCsrf(mine.text), representation: String(id2) });
  mine = await mere.go('GET', '/portal');
  assert.match(mine.text, /action="\/portal\/phone"/);
  assert.doesNotMatch(mine.text, /href="\/portal\/check"/);
  const v2 = /name="version" value="(\d+)"/.exec(mine.text)[1];
  // Typed in Arabic-Indic digits, kept in ASCII ones as the agencies read them.
  const phoned = await mere.go('POST', '/portal/phone', { csrf_token: hiddenCsrf(mine.text), version: v2, phone: '٠٢١ ٥٥٥ ٠١٩٩' });
  assert.equal(phoned.status, 303, phoned.text.slice(0, 300));
  assert.match(await sql(db, `SELECT doc FROM persons WHERE id = ${person}`), /"value":"021 555 0199"/);
  // Sent again (a double click, a reload), with the version it was sent with: done, not a conflict.
  const twice = await mere.go('POST', '/portal/phone', { csrf_token: hiddenCsrf(mine.text), version: v2, phone: '021 555 0199' });
  assert.equal(twice.status, 303, twice.text.slice(0, 300));
  assert.equal((await mere.go('GET', '/portal/check')).status, 403);
  // Nor is she offered to book, move or cancel an appointment, which applying covers.
  const appointments = await mere.go('GET', '/portal/appointments');
  assert.equal(appointments.status, 200);
  assert.match(appointments.text, /does not include booking appointments/);
  assert.doesNotMatch(appointments.text, /Show the free times|name="slot"/);
  const by = await sql(db, `SELECT reason FROM audit_log WHERE action = 'person.update' AND person_id = ${person} ORDER BY seq DESC LIMIT 1`);
  assert.match(by, /acted by the person's representative, grant \d+/);
});
