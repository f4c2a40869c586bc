// Documents over HTTP: a caseworker uploads a PDF (the exact bytes come back, with their
// SHA-256 as the ETag, as an attachment that is never sniffed), refusals name the field, an
// agency that may not see the person gets nothing, and the client page takes a file from a
// multipart form whose CSRF token is among the parts.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/documents.test.mjs

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';

import { assertProblem, hiddenCsrf, login, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let server;
let db;
let city;
let ngo;
let person;

const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 2000 }, (_, i) => i % 256)), Buffer.from('\n%%EOF\n')]);

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-documents-' });
  db = prepared.db;
  server = await serve(db, { logDir: prepared.dir });
  city = await login(server.url, 'caseworker.city', { purpose: 'case_work' });
  ngo = await login(server.url, 'caseworker.ngo', { purpose: 'case_work' });
  const p = await city.post('/api/v1/persons', { names: [{ use: 'official', given: 'Ema', family: 'Documents' }] });
  assert.equal(p.status, 201, p.text);
  person = p.body.id;
});

after(async () => {
  await server?.stop();
});

async function raw(who, path, body, type) {
  const r = await fetch(server.url + path, { method: 'POST', body, headers: { ...who.headers('POST'), 'Content-Type': type } });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, body: text ? JSON.parse(text) : null };
}

test('a PDF uploaded through the API comes back byte for byte, as the gate allows', T, async () => {
  const url = `/api/v1/persons/${person}/documents?kind=payslip&category=income&file_name=${encodeURIComponent('pay "march".pdf')}`;
  const made = await raw(city, url, pdf, 'application/pdf');
  assert.equal(made.status, 201, made.text);
  assert.equal(made.body.sha256, createHash('sha256').update(pdf).digest('hex'));
  assert.equal(made.body.size, pdf.length);
  assertProblem(await raw(city, `/api/v1/persons/${person}/documents?kind=selfie&category=hobbies&file_name=a%2Fb.gif`, pdf, 'image/gif'),
    400, { fields: ['kind', 'category', 'file_name', 'media_type'] });
  // An application id that is not a number is named with the rest, not alone.
  const unread = await raw(city, `/api/v1/persons/${person}/documents?kind=selfie&category=income&file_name=a.pdf&application_id=x`,
    pdf, 'application/pdf');
  assertProblem(unread, 400, { fields: ['application_id', 'kind'] });
  assert.equal(unread.body.errors.length, 2, unread.text);
  assertProblem(await raw(city, url, Buffer.from('not a pdf'), 'application/pdf'), 400, { fields: ['content'] });
  const disguised = assertProblem(await raw(city, `/api/v1/persons/${person}/documents?kind=payslip&category=income&file_name=pay.pdf.exe`, pdf, 'application/pdf'),
    400, { fields: ['file_name'] });
  assert.match(JSON.stringify(disguised.errors), /ends in \.exe, but the file is a PDF/);

  const r = await fetch(server.url + made.body.content, { headers: city.headers('GET') });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/pdf');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  // The name as it was in filename* (RFC 8187), which browsers prefer; printable ASCII in filename.
  assert.equal(r.headers.get('content-disposition'), 'attachment; filename="pay _march_.pdf"; filename*=UTF-8\'\'pay%20%22march%22.pdf');
  assert.equal(r.headers.get('etag'), `"${made.body.sha256}"`);
  assert.ok(Buffer.from(await r.arrayBuffer()).equals(pdf), 'the same bytes');

  const umlaut = await raw(city, `/api/v1/persons/${person}/documents?kind=payslip&category=income&file_name=${encodeURIComponent('Lohn März.pdf')}`,
    pdf, 'application/pdf');
  assert.equal(umlaut.status, 201, umlaut.text);
  const named = await fetch(server.url + umlaut.body.content, { headers: city.headers('GET') });
  assert.equal(named.headers.get('content-disposition'), "attachment; filename=\"Lohn M_rz.pdf\"; filename*=UTF-8''Lohn%20M%C3%A4rz.pdf");
  await named.arrayBuffer();

  const list = await city.get(`/api/v1/persons/${person}/documents`);
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.items.map((d) => d.file_name), ['Lohn März.pdf', 'pay "march".pdf']);
  // The trust holds nothing of the person and has no agreement: refused, and the bytes not found.
  assertProblem(await ngo.get(`/api/v1/persons/${person}/documents`), 403);
  assertProblem(await ngo.get(made.body.content), 404);
  assert.equal(Number(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'document.download' AND allowed = 0")), 1);
});

test('the client page takes a file from a multipart form', T, async () => {
  const page = await city.get(`/clients/${person}`);
  assert.match(page.text, /enctype="multipart\/form-data"/);
  const csrf = hiddenCsrf(page.text);
  const form = new FormData();
  form.append('csrf_token', csrf);
  form.append('kind', 'tenancy');
  form.append('category', 'housing');
  form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'lease.pdf');
  const post = (body) => fetch(`${server.url}/clients/${person}/documents`, {
    method: 'POST', body, redirect: 'manual', headers: { Cookie: city.auth.cookie },
  });
  const sent = await post(form);
  assert.equal(sent.status, 303);
  assert.match(sent.headers.get('location'), /\?document=1#documents$/);
  const shown = await city.get(sent.headers.get('location').replace(/#.*/, ''));
  assert.match(shown.text, /lease\.pdf/);
  assert.match(shown.text, /Document added/);
  // A form without its token is refused; a wrong file comes back with the reason.
  const forged = new FormData();
  forged.append('kind', 'tenancy');
  forged.append('file', new Blob([pdf], { type: 'application/pdf' }), 'x.pdf');
  assert.equal((await post(forged)).status, 403);
  const wrong = new FormData();
  wrong.append('csrf_token', csrf);
  wrong.append('kind', 'tenancy');
  wrong.append('category', 'housing');
  wrong.append('file', new Blob(['hello'], { type: 'image/png' }), 'x.png');
  const back = await post(wrong);
  assert.equal(back.status, 303);
  // Back at the top, where the error summary takes the focus (a fragment would scroll past it).
  assert.doesNotMatch(back.headers.get('location'), /#/);
  const again = await city.get(back.headers.get('location'));
  assert.match(again.text, /The file is not a PNG file/);
  // The kind and category chosen are still chosen.
  assert.match(again.text, /<option value="tenancy" selected>/);
  assert.match(again.text, /<option value="housing" selected>/);
  assert.equal(Number(await sql(db, `SELECT count(*) FROM documents WHERE person_id = ${person}`)), 3);
});
