// Languages over HTTP: every message of a translated template has its Spanish translation; the
// page's language comes from the switcher's cookie, else the browser's Accept-Language, else
// English, with lang and dir on <html>; the switcher goes back only to a path on this site;
// the portal's form errors come in the person's language.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/i18n.test.mjs

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { catalogue } from '../browser/lib.mjs';
import { Visitor, hiddenCsrf, login, prepareDatabase, repoRoot, request, serve, signedInCitizen, sql } from './helpers.mjs';

const T = { timeout: 60_000 };
const templates = path.join(repoRoot, 'web', 'templates');

const collapse = (s) => s.replace(/\s+/g, ' ').trim();

let server;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-i18n-' });
  db = prepared.db;
  server = await serve(prepared.db, { logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
});

test('the messages of every template are in the Spanish catalogue, and no message holds markup', () => {
  const es = catalogue('es');
  let messages = 0;
  let translated = 0;
  for (const name of readdirSync(templates).filter((n) => n.endsWith('.mustache'))) {
    const text = readFileSync(path.join(templates, name), 'utf8');
    const opened = (text.match(/\{\{#t\}\}/g) ?? []).length;
    assert.equal(opened, (text.match(/\{\{\/t\}\}/g) ?? []).length, `${name}: every {{#t}} is closed`);
    // Every page speaks the catalogue: a template with words of its own has its messages.
    assert.ok(opened > 0, `${name}: its text is not in the catalogue ({{#t}}…{{/t}})`);
    translated++;
    for (const [, body] of text.matchAll(/\{\{#t\}\}([\s\S]*?)\{\{\/t\}\}/g)) {
      const message = collapse(body);
      messages++;
      assert.ok(!/[<>]|\{\{/.test(message), `${name}: "${message}" holds markup`);
      assert.ok(Object.hasOwn(es, message), `${name}: "${message}" has no Spanish translation`);
      const args = (m) => [...m.matchAll(/\{(\w+)/g)].map((x) => x[1]).sort();
      assert.deepEqual(args(es[message]), args(message), `${name}: "${message}" keeps its arguments in Spanish`);
    }
  }
  assert.ok(translated >= 75 && messages >= 1500, `${translated} templates, ${messages} messages`);
});

test('the language is the chosen one, else the browser\'s, else English; <html> says which and its direction', T, async () => {
  const lang = (html) => /<html lang="([^"]+)" dir="([^"]+)"/.exec(html).slice(1);
  assert.deepEqual(lang((await request(server.url, 'GET', '/portal/sign-in')).text), ['en', 'ltr']);
  const browser = await request(server.url, 'GET', '/portal/sign-in', { headers: { 'Accept-Language': 'fr-FR,es-MX;q=0.8,en;q=0.5' } });
  assert.deepEqual(lang(browser.text), ['es', 'ltr']);
  assert.match(browser.text, /<h1 class="govuk-heading-l">Iniciar sesión en su cuenta<\/h1>/);
  assert.match(browser.text, /<title>Iniciar sesión en su cuenta – onedoor<\/title>/);
  const chosen = await request(server.url, 'GET', '/login', { headers: { Cookie: 'onedoor_lang=ar', 'Accept-Language': 'es' } });
  assert.deepEqual(lang(chosen.text), ['ar', 'rtl']);
  assert.match(chosen.text, /تسجيل الدخول/);
  // A cookie naming a language onedoor does not speak counts for nothing.
  assert.deepEqual(lang((await request(server.url, 'GET', '/login', { headers: { Cookie: 'onedoor_lang=xx' } })).text), ['en', 'ltr']);
  // The switcher offers each language, in itself, back to this page with its query.
  const links = [...browser.text.matchAll(/href="(\/language\?to=(\w+)&amp;back=([^"]+))" hreflang="(\w+)">([^<]+)</g)];
  assert.deepEqual(links.map((m) => [m[2], m[5]]), [['en', 'English'], ['ar', 'العربية']]);
  assert.equal(decodeURIComponent(links[0][3]), '/portal/sign-in');
  assert.match(browser.text, /<strong aria-current="true">Español<\/strong>/);
});

test('the switcher remembers the language and goes back only to a path on this site', T, async () => {
  const r = await request(server.url, 'GET', '/language?to=es&back=%2Fportal%2Fsign-in%3Fx%3D1');
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), '/portal/sign-in?x=1');
  assert.equal(r.headers.get('set-cookie'), 'onedoor_lang=es; Path=/; Max-Age=31536000; SameSite=Lax');
  for (const back of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '', '/\t/evil.example',
    '/\n/evil.example', '/\x7f/x']) {
    const away = await request(server.url, 'GET', `/language?to=es&back=${encodeURIComponent(back)}`);
    assert.equal(away.status, 303, back);
    assert.equal(away.headers.get('location'), '/', `back=${back} is not followed`);
  }
  const unknown = await request(server.url, 'GET', '/language?to=klingon&back=/', { headers: { 'Accept-Language': 'es' } });
  assert.equal(unknown.status, 400);
  assert.match(unknown.text, /El idioma debe ser en, es o ar/);
  assert.match(unknown.text, /Hay un problema con la dirección de la página/);
  assert.equal(unknown.headers.get('set-cookie'), null, 'nothing is remembered');
});

test('a mistake on the portal\'s sign-in form is told in the person\'s language', T, async () => {
  const headers = { Cookie: 'onedoor_lang=es' };
  const form = await request(server.url, 'GET', '/portal/sign-in', { headers });
  const csrf = /onedoor_portal_csrf=([^;]+)/.exec(form.headers.get('set-cookie'))[1];
  const posted = await request(server.url, 'POST', '/portal/sign-in', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `onedoor_lang=es; onedoor_portal_csrf=${csrf}` },
    body: new URLSearchParams({ email: 'nadie@example.org', password: 'not the right one', csrf_token: hiddenCsrf(form.text) }).toString(),
  });
  assert.equal(posted.status, 401);
  assert.match(posted.text, /El correo electrónico o la contraseña no son correctos/);
  assert.match(posted.text, /<h2 class="govuk-error-summary__title">Hay un problema<\/h2>/);
  assert.match(posted.text, /<title>Error: Iniciar sesión en su cuenta – onedoor<\/title>/);
});

test('the message a person is sent is written in the language they signed up in', T, async () => {
  const form = await request(server.url, 'GET', '/portal/sign-up', { headers: { 'Accept-Language': 'es-ES' } });
  const csrf = /onedoor_portal_csrf=([^;]+)/.exec(form.headers.get('set-cookie'))[1];
  const posted = await request(server.url, 'POST', '/portal/sign-up', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Accept-Language': 'es-ES', Cookie: `onedoor_portal_csrf=${csrf}` },
    body: new URLSearchParams({ name: 'Lucía Pérez', email: 'lucia@example.org', password: 'una frase bastante larga', csrf_token: hiddenCsrf(form.text) }).toString(),
  });
  assert.equal(posted.status, 200, posted.text.slice(0, 300));
  assert.match(posted.text, /Revise su correo electrónico/);
  const mail = await sql(db, "SELECT body FROM outgoing_messages WHERE address = 'lucia@example.org'");
  assert.match(mail, /^Confirme su dirección de correo electrónico para usar su cuenta de onedoor: http:\/\/127\.0\.0\.1:\d+\/portal\/verify\?token=[A-Za-z0-9_-]+ \(el enlace sirve durante 48 horas\)\.$/);
});

test("a staff member's home page names the session's purpose in the page's language", T, async () => {
  const staff = await login(server.url, 'caseworker.city');
  const home = await request(server.url, 'GET', '/', { headers: { Cookie: `${staff.auth.cookie}; onedoor_lang=es` } });
  assert.equal(home.status, 200);
  assert.match(home.text, /Motivo de esta sesión: Prestación de servicios\./);
});

test('the language switcher on a page that answers a form goes back to a page that opens, not to the form\'s address', async () => {
  const citizen = await signedInCitizen(server.url, db, { name: 'Lang Switch', email: 'lang.switch@example.org' });
  const home = await citizen.go('GET', '/portal');
  // The desk code is shown once, as the answer to the form: its address has no page to open.
  const coded = await citizen.go('POST', '/portal/link-code', { csrf_token: hiddenCsrf(home.text) });
  assert.equal(coded.status, 200);
  const back = (html) => [...html.matchAll(/href="\/language\?to=[a-z]+&amp;back=([^"]*)"/g)].map((m) => decodeURIComponent(m[1]))[0];
  assert.equal(back(coded.text), '/portal');
  const switched = await citizen.go('GET', `/language?to=es&back=${encodeURIComponent(back(coded.text))}`);
  assert.equal(switched.status, 303);
  assert.equal((await citizen.go('GET', switched.headers.get('location'))).status, 200);
  // Where the browser says which page the form was on, back to that page.
  const referred = new Visitor(server.url, { Referer: `${server.url}/portal/consents/new` });
  referred.cookies = citizen.cookies;
  const again = await referred.go('POST', '/portal/link-code', { csrf_token: hiddenCsrf(home.text) });
  assert.equal(again.status, 200, again.text.slice(0, 300));
  assert.equal(back(again.text), '/portal/consents/new');
  // A page opened by its address keeps its own.
  assert.equal(back((await citizen.go('GET', '/account/password')).text), '/account/password');
});
