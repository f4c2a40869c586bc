// The citizen portal over HTTP: sign up (mistakes named, the form's CSRF cookie checked), the
// confirmation message queued with its link, sign in refused until the address is confirmed,
// the desk code, the link made by front-desk staff on the client's page (a wrong code named
// there), the person's own page with their details and who looked at their record and why, and
// a forgotten password reset by a one-time link.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/portal.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Visitor, hiddenCsrf, linkedCitizen, login, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-portal-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
});

test('a person signs up, confirms, is linked at the desk and sees who looked at their record', T, async () => {
  const ana = new Visitor(server.url);
  // Mistakes are named; a form without its cookie is refused; nothing is created.
  const bad = await ana.submit('/portal/sign-up', '/portal/sign-up', { name: '', email: 'ana', password: 'short' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /href="#name">Enter your name/);
  assert.match(bad.text, /href="#email">Enter an e-mail address like name@example.org/);
  assert.match(bad.text, /href="#password">Choose a password of at least 12 characters/);
  // Each field is described by its error as well as its hint, for screen readers.
  assert.match(bad.text, /id="email"[^>]*aria-describedby="email-hint email-error"/);
  assert.match(bad.text, /id="password"[^>]*aria-describedby="password-hint password-error"/);
  const control = await ana.submit('/portal/sign-up', '/portal/sign-up',
    { name: 'Ana\u0001', email: 'ana@example.org', password: 'correct horse battery' });
  assert.equal(control.status, 400);
  assert.match(control.text, /href="#name">One line of text, without control characters/);
  const forged = await new Visitor(server.url).go('POST', '/portal/sign-up',
    { csrf_token: 'x', name: 'Ana', email: 'ana@example.org', password: 'correct horse battery' });
  assert.equal(forged.status, 403);
  assert.equal(Number(await sql(db, "SELECT count(*) FROM users WHERE kind = 'citizen'")), 0);

  const made = await ana.submit('/portal/sign-up', '/portal/sign-up',
    { name: 'Ana Lima', email: 'ana@example.org', password: 'correct horse battery' });
  assert.equal(made.status, 200);
  assert.match(made.text, /Check your e-mail/);
  const mail = await sql(db, "SELECT body FROM outgoing_messages WHERE address = 'ana@example.org' ORDER BY id DESC LIMIT 1");
  // The link leads to this server: without public_url, the address it listens at.
  assert.ok(mail.includes(`${server.url}/portal/verify?token=`), mail);
  const link = /http:\/\/127\.0\.0\.1:\d+(\/portal\/verify\?token=[A-Za-z0-9_-]+)/.exec(mail);
  assert.ok(link, mail);

  // Not before the address is confirmed.
  const early = await ana.submit('/portal/sign-in', '/portal/sign-in', { email: 'ana@example.org', password: 'correct horse battery' });
  assert.equal(early.status, 403);
  assert.match(early.text, /Confirm your e-mail address first/);
  const confirmed = await ana.go('GET', link[1]);
  assert.equal(confirmed.status, 200);
  assert.match(confirmed.text, /Your e-mail address is confirmed/);
  assert.equal((await ana.go('GET', link[1])).status, 404);
  const wrong = await ana.submit('/portal/sign-in', '/portal/sign-in', { email: 'ana@example.org', password: 'not the password' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.text, /The e-mail address or password is not right/);
  // A page of the portal sends a signed-out person to the portal's sign-in, and back there after it.
  const away = await new Visitor(server.url).go('GET', '/portal/applications');
  assert.equal(away.status, 303);
  assert.match(away.headers.get('location'), /^\/portal\/sign-in\?next=(%2F|\/)portal(%2F|\/)applications$/);
  const back = await new Visitor(server.url).submit(away.headers.get('location'), '/portal/sign-in',
    { email: 'ana@example.org', password: 'correct horse battery', next: '/portal/applications' });
  assert.equal(back.headers.get('location'), '/portal/applications');
  const offsite = await new Visitor(server.url).submit('/portal/sign-in', '/portal/sign-in',
    { email: 'ana@example.org', password: 'correct horse battery', next: '//elsewhere.example/portal' });
  assert.equal(offsite.headers.get('location'), '/portal');
  const signed = await ana.submit('/portal/sign-in', '/portal/sign-in', { email: 'Ana@Example.org', password: 'correct horse battery' });
  assert.equal(signed.status, 303, signed.text.slice(0, 300));
  assert.equal(signed.headers.get('location'), '/portal');
  // A person is sent from the staff home to their own pages, and sees no staff navigation.
  assert.equal((await ana.go('GET', '/')).headers.get('location'), '/portal');
  const home = await ana.go('GET', '/portal');
  assert.equal(home.status, 200);
  assert.match(home.text, /not linked to your record yet/);
  assert.doesNotMatch(home.text, /Register a client/);
  const coded = await ana.go('POST', '/portal/link-code', { csrf_token: hiddenCsrf(home.text) });
  assert.equal(coded.status, 200);
  const code = /data-testid="link-code">\s*<h2 class="govuk-panel__title">([2-9A-Z]{4}-[2-9A-Z]{4})</.exec(coded.text);
  assert.ok(code, coded.text.slice(0, 2000));
  // The staff API is not for a person's session.
  assert.equal((await ana.go('GET', '/api/v1/persons')).status, 403);

  // At the desk: a wrong code is named on the client's page; the right one links.
  const person = Number(await sql(db, 'SELECT min(id) FROM persons'));
  const desk = await login(server.url, 'frontdesk.city', { purpose: 'front_desk' });
  const page = await desk.get(`/clients/${person}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /Link the portal account/);
  const post = (fields) => desk.req('POST', `/clients/${person}/portal-link`, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), ...fields }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const miss = await post({ code: 'AAAA-AAAA' });
  assert.equal(miss.status, 303);
  const missed = await desk.get(miss.headers.get('location').replace(/#.*/, ''));
  assert.match(missed.text, /href="#portal-code">No account has this code: ask for a new one/);
  const linked = await post({ code: code[1].toLowerCase().replace('-', '') });
  assert.equal(linked.status, 303);
  assert.match(linked.headers.get('location'), /portal_linked=1/);

  // A caseworker looks at the record for case work; the person sees it, with the agency and why.
  const caseworker = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  assert.equal((await caseworker.get(`/api/v1/persons/${person}`)).status, 200);
  const mine = await ana.go('GET', '/portal');
  assert.equal(mine.status, 200);
  assert.match(mine.text, /Your details/);
  const logRows = (html) => [...html.matchAll(/<tr class="govuk-table__row"><td class="govuk-table__cell"[^>]*>([^<]+)<\/td><td class="govuk-table__cell"[^>]*>([^<]+)<\/td><td class="govuk-table__cell"[^>]*>([^<]*)<\/td><td class="govuk-table__cell"[^>]*>([^<]*)<\/td><td class="govuk-table__cell"[^>]*>([^<]+)/g)]
    .map((m) => ({ who: m[2], roles: m[3], purpose: m[4], what: m[5].trim() }));
  const rows = logRows(mine.text);
  assert.ok(rows.some((r) => r.who === 'City Social Services Department' && r.roles === 'Caseworker' &&
    r.purpose === 'Case work' && r.what === 'Looked at your record'), JSON.stringify(rows, null, 1));
  assert.ok(rows.some((r) => r.what === 'Linked your portal account'), JSON.stringify(rows));
  // Staff usernames are not shown to the person.
  assert.doesNotMatch(mine.text, /caseworker\.city|frontdesk\.city/);
  // The person's own visits, four entries each, do not push the agencies' off the page: their
  // own actions are listed when they ask, and older entries are a page away.
  for (let i = 0; i < 15; i++) await ana.go('GET', '/portal');
  const later = logRows((await ana.go('GET', '/portal')).text);
  assert.ok(later.some((r) => r.who === 'City Social Services Department' && r.what === 'Looked at your record'), JSON.stringify(later));
  assert.ok(!later.some((r) => r.who === 'You'), JSON.stringify(later));
  const everything = await ana.go('GET', '/portal?all=1');
  assert.ok(logRows(everything.text).some((r) => r.who === 'You'));
  const older = /href="(\/portal\?all=1&amp;before=\d+#access-log)"/.exec(everything.text);
  assert.ok(older, 'a link to older entries');
  const olderPage = await ana.go('GET', older[1].replace('&amp;', '&').replace(/#.*/, ''));
  assert.equal(olderPage.status, 200);
  assert.ok(logRows(olderPage.text).length > 0);

  // Tell us once: the person moves; a missing line is named and nothing is sent; then every
  // agency that knows them is told, and the person sees when each has updated its records.
  const csrf = hiddenCsrf(mine.text);
  const version = /name="version" value="(\d+)"/.exec(mine.text)[1];
  const sentBefore = Number(await sql(db, `SELECT count(*) FROM change_notices WHERE person_id = ${person}`));
  const missing = await ana.go('POST', '/portal/address', { csrf_token: csrf, version, line1: '', city: 'Riverside', postcode: '1009' });
  assert.equal(missing.status, 400);
  assert.match(missing.text, /href="#line1">Enter the first line of your address/);
  // The message is read with its field (a screen reader says it on reaching the box).
  assert.match(missing.text, /id="line1" [^>]*aria-describedby="line1-error"/);
  assert.match(missing.text, /<p class="govuk-error-message" id="line1-error">/);
  assert.match(missing.text, /id="postcode" name="postcode" type="text" autocomplete="postal-code" value="1009"/);
  assert.equal(Number(await sql(db, `SELECT count(*) FROM change_notices WHERE person_id = ${person}`)), sentBefore);
  const moved = await ana.go('POST', '/portal/address', { csrf_token: csrf, version, line1: '12 Harbour View', city: 'Riverside', postcode: '1009' });
  assert.equal(moved.status, 303, moved.text.slice(0, 300));
  const record = await caseworker.get(`/api/v1/persons/${person}`);
  assert.ok(record.body.addresses.some((a) => a.line1 === '12 Harbour View'), JSON.stringify(record.body.addresses));
  const told = (await sql(db, `SELECT n.id || ',' || a.code FROM change_notices n JOIN agencies a ON a.id = n.agency_id WHERE n.person_id = ${person} AND n.id > 0 ORDER BY n.id DESC`))
    .split('\n').filter(Boolean).map((l) => l.split(','));
  assert.ok(told.length >= 1, 'at least one agency is told');
  const after = await ana.go('GET', moved.headers.get('location').replace(/#.*/, ''));
  assert.match(after.text, /Your address is changed/);
  assert.match(after.text, /govuk-tag--grey">Not yet/);
  const staffOf = { 'city-social': 'caseworker.city', 'state-benefits': 'caseworker.state', 'harbour-trust': 'caseworker.ngo' };
  const [noticeId, agencyCode] = told.find(([, code]) => staffOf[code]) ?? [];
  assert.ok(noticeId, `an agency with a demo caseworker among ${JSON.stringify(told)}`);
  const worker = await login(server.url, staffOf[agencyCode], { purpose: 'case_work' });
  const applied = await worker.post(`/api/v1/changes/${noticeId}/applied`, { note: 'Updated in our system.' });
  assert.equal(applied.status, 200, applied.text);
  const updated = await ana.go('GET', '/portal');
  assert.match(updated.text, /govuk-tag--green">Updated/);
  // The form sent as it is shown (nothing typed): nothing changes, no one is told, and the page
  // does not say otherwise.
  const shown = /name="version" value="(\d+)"/.exec(updated.text)[1];
  const noticesNow = Number(await sql(db, `SELECT count(*) FROM change_notices WHERE person_id = ${person}`));
  const same = await ana.go('POST', '/portal/address', { csrf_token: csrf, version: shown, line1: '12 Harbour View', city: 'Riverside', postcode: '1009' });
  assert.equal(same.status, 303);
  const unchanged = await ana.go('GET', same.headers.get('location').replace(/#.*/, ''));
  assert.match(unchanged.text, /Nothing was changed: your record already says that, so no agency is told/);
  assert.equal(Number(await sql(db, `SELECT count(*) FROM change_notices WHERE person_id = ${person}`)), noticesNow);

  // Consents: the one given at the desk is listed; the person withdraws it themself.
  const state = Number(await sql(db, "SELECT id FROM agencies WHERE code = 'state-benefits'"));
  const given = await caseworker.post(`/api/v1/persons/${person}/consents`, {
    receiving_agency_id: state, scope: 'partial', categories: ['income'], purpose: 'eligibility', legal_basis: 'consent',
    how_to_withdraw: 'In your portal account, or tell any caseworker.', evidence: 'signed_form', document_ref: 'P-1',
  });
  assert.equal(given.status, 201, given.text);
  const listed = await ana.go('GET', '/portal');
  assert.match(listed.text, /data-testid="portal-consents"/);
  assert.match(listed.text, /State Benefits Agency<\/td><td class="govuk-table__cell"[^>]*>Income<\/td><td class="govuk-table__cell"[^>]*>Eligibility assessment<\/td><td class="govuk-table__cell"[^>]*>Active/);
  const withdrawn = await ana.go('POST', `/portal/consents/${given.body.id}/withdraw`, { csrf_token: hiddenCsrf(listed.text) });
  assert.equal(withdrawn.status, 303, withdrawn.text.slice(0, 300));
  assert.equal(await sql(db, `SELECT state FROM consents WHERE id = ${given.body.id}`), 'withdrawn');
  const evidence = await sql(db, `SELECT evidence FROM consent_events WHERE consent_id = ${given.body.id} ORDER BY id DESC LIMIT 1`);
  assert.equal(evidence, 'citizen_action');
  assert.match((await ana.go('GET', '/portal')).text, /Withdrawn/);
  // Not someone else's consent.
  const other = Number(await sql(db, `SELECT min(id) FROM persons WHERE id <> ${person}`));
  const theirs = await caseworker.post(`/api/v1/persons/${other}/consents`, {
    receiving_agency_id: state, scope: 'partial', categories: ['income'], purpose: 'eligibility', legal_basis: 'consent',
    how_to_withdraw: 'Tell any caseworker.', evidence: 'signed_form', document_ref: 'P-2',
  });
  assert.equal(theirs.status, 201, theirs.text);
  const refused = await ana.go('POST', `/portal/consents/${theirs.body.id}/withdraw`, { csrf_token: hiddenCsrf(listed.text) });
  assert.equal(refused.status, 403);
  assert.equal(await sql(db, `SELECT state FROM consents WHERE id = ${theirs.body.id}`), 'active');
});

test('a forgotten password: a link by e-mail to a confirmed address, once, then every session ends', T, async () => {
  const bo = new Visitor(server.url);
  const made = await bo.submit('/portal/sign-up', '/portal/sign-up',
    { name: 'Bo Reset', email: 'bo@example.org', password: 'the first passphrase' });
  assert.equal(made.status, 200);
  const verify = /(\/portal\/verify\?token=[A-Za-z0-9_-]+)/.exec(
    await sql(db, "SELECT body FROM outgoing_messages WHERE address = 'bo@example.org' ORDER BY id DESC LIMIT 1"))[1];
  assert.equal((await bo.go('GET', verify)).status, 200);
  const signed = await bo.submit('/portal/sign-in', '/portal/sign-in', { email: 'bo@example.org', password: 'the first passphrase' });
  assert.equal(signed.status, 303);
  assert.equal((await bo.go('GET', '/portal')).status, 200);

  // The sign-in page offers it; a mistake is named; no address, no message.
  const signIn = await new Visitor(server.url).go('GET', '/portal/sign-in');
  assert.match(signIn.text, /href="\/portal\/forgotten-password">Forgotten your password\?/);
  const other = new Visitor(server.url);
  const bad = await other.submit('/portal/forgotten-password', '/portal/forgotten-password', { email: 'bo' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /href="#email">Enter an e-mail address like name@example.org/);
  const forged = await new Visitor(server.url).go('POST', '/portal/forgotten-password', { csrf_token: 'x', email: 'bo@example.org' });
  assert.equal(forged.status, 403);
  const before = Number(await sql(db, "SELECT count(*) FROM outgoing_messages WHERE address = 'bo@example.org'"));
  // The same answer for an address with no account.
  const nobody = await other.submit('/portal/forgotten-password', '/portal/forgotten-password', { email: 'nobody@example.org' });
  assert.equal(nobody.status, 200);
  assert.match(nobody.text, /If an account with a confirmed address uses nobody@example.org/);
  const asked = await other.submit('/portal/forgotten-password', '/portal/forgotten-password', { email: 'bo@example.org' });
  assert.equal(asked.status, 200);
  assert.equal(asked.text.replace(/bo@example.org/g, 'X').replace(/csrf_token" value="[^"]*"/g, ''),
    nobody.text.replace(/nobody@example.org/g, 'X').replace(/csrf_token" value="[^"]*"/g, ''), 'the same page either way');
  assert.equal(Number(await sql(db, "SELECT count(*) FROM outgoing_messages WHERE address = 'bo@example.org'")), before + 1);
  const mail = await sql(db, "SELECT body FROM outgoing_messages WHERE address = 'bo@example.org' ORDER BY id DESC LIMIT 1");
  const link = /(\/portal\/reset\?token=[A-Za-z0-9_-]+)/.exec(mail)[1];
  const token = link.split('=')[1];

  // A made-up link, then the real one: too short a password first.
  const madeUp = await other.go('GET', '/portal/reset?token=made-up');
  assert.equal(madeUp.status, 404);
  assert.match(madeUp.text, /This link is not known or was already used/);
  const form = await other.go('GET', link);
  assert.equal(form.status, 200);
  assert.match(form.text, /Choose a new password/);
  const short = await other.go('POST', '/portal/reset', { csrf_token: hiddenCsrf(form.text), token, password: 'short' });
  assert.equal(short.status, 400);
  assert.match(short.text, /href="#password">Must be at least 12 characters long/);
  const done = await other.go('POST', '/portal/reset', { csrf_token: hiddenCsrf(short.text), token, password: 'the second passphrase' });
  assert.equal(done.status, 200, done.text.slice(0, 300));
  assert.match(done.text, /Your password is changed/);
  // Used up; Bo's old session is over; the old password no longer works, the new one does.
  assert.equal((await other.go('GET', link)).status, 404);
  assert.equal((await bo.go('GET', '/portal')).status, 303, 'the old session ended');
  const old = await new Visitor(server.url).submit('/portal/sign-in', '/portal/sign-in', { email: 'bo@example.org', password: 'the first passphrase' });
  assert.equal(old.status, 401);
  const fresh = await new Visitor(server.url).submit('/portal/sign-in', '/portal/sign-in', { email: 'bo@example.org', password: 'the second passphrase' });
  assert.equal(fresh.status, 303);
  // Audited.
  assert.equal(Number(await sql(db, "SELECT count(*) FROM audit_log WHERE action IN ('portal.reset_requested', 'user.password_changed')")), 2);
});

test('a person tells once the language they would like the agencies to use', T, async () => {
  const person = Number(await sql(db, 'SELECT max(id) FROM persons'));
  const cy = await linkedCitizen(server.url, db, person, { name: 'Cy Lang', email: 'cy.lang@example.org' });
  const home = await cy.go('GET', '/portal');
  assert.match(home.text, /action="\/portal\/preferred-language"/);
  const version = /name="version" value="(\d+)"/.exec(home.text)[1];
  const empty = await cy.go('POST', '/portal/preferred-language', { csrf_token: hiddenCsrf(home.text), version, preferred_language: ' ' });
  assert.equal(empty.status, 400);
  assert.match(empty.text, /href="#preferred_language">Enter a language, in 1 to 60 characters/);
  const changed = await cy.go('POST', '/portal/preferred-language', { csrf_token: hiddenCsrf(home.text), version, preferred_language: 'Samoan' });
  assert.equal(changed.status, 303, changed.text.slice(0, 300));
  const after = await cy.go('GET', changed.headers.get('location').replace(/#.*/, ''));
  assert.match(after.text, /Your language is changed: the agencies that know you are told/);
  assert.match(after.text, /id="preferred_language"[^>]*value="Samoan"/);
  assert.match(await sql(db, `SELECT doc FROM persons WHERE id = ${person}`), /"preferred_language":\s*"Samoan"/);
  // An old version is refused: the record changed at an office meanwhile.
  const stale = await cy.go('POST', '/portal/preferred-language', { csrf_token: hiddenCsrf(home.text), version, preferred_language: 'Tongan' });
  assert.equal(stale.status, 409);
});

test('one address asks for at most 10 accounts an hour; another still can', T, async () => {
  const from = (address) => ({ 'X-Forwarded-For': address });
  for (let i = 0; i < 10; i += 1) {
    const v = new Visitor(server.url, from('203.0.113.30'));
    const made = await v.submit('/portal/sign-up', '/portal/sign-up',
      { name: `Many ${i}`, email: `many.${i}@example.org`, password: 'correct horse battery' });
    assert.equal(made.status, 200, made.text.slice(0, 300));
  }
  const refused = await new Visitor(server.url, from('203.0.113.30')).submit('/portal/sign-up', '/portal/sign-up',
    { name: 'Many 10', email: 'many.10@example.org', password: 'correct horse battery' });
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get('retry-after')) > 3500);
  assert.match(refused.text, /href="#email">Too many accounts were asked for from your address: try again later/);
  assert.equal(Number(await sql(db, "SELECT count(*) FROM users WHERE email = 'many.10@example.org'")), 0);
  const other = await new Visitor(server.url, from('203.0.113.31')).submit('/portal/sign-up', '/portal/sign-up',
    { name: 'Many 10', email: 'many.10@example.org', password: 'correct horse battery' });
  assert.equal(other.status, 200, other.text.slice(0, 300));
  // Asked again at once for the same address, the account's owner gets no second message.
  const again = await new Visitor(server.url, from('203.0.113.32')).submit('/portal/sign-up', '/portal/sign-up',
    { name: 'Many 10', email: 'many.10@example.org', password: 'correct horse battery' });
  assert.equal(again.status, 200);
  assert.equal(Number(await sql(db, "SELECT count(*) FROM outgoing_messages WHERE address = 'many.10@example.org'")), 1);
});
