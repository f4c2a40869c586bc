// Web security over HTTP: the security headers of pages and API answers (a Content-Security-Policy
// without 'unsafe-inline', frames refused, no sniffing, no caching, the referrer kept on the
// site, and Strict-Transport-Security when onedoor is served behind TLS); the session cookie's
// attributes and, behind TLS, its __Host- prefix; a second sign-in in the same browser ending the session it held; signing out ending
// the session; a form without its CSRF token refused and nothing written; and a name with markup
// shown as text, never as markup.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/web_security.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { binary, countRows, hiddenCsrf, kPassword, login, onedoorEnv, prepareDatabase, request, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };

let plain;
let tls;
let db;

before(async () => {
  const prepared = await prepareDatabase({ people: 2, prefix: 'onedoor-websec-' });
  db = prepared.db;
  plain = await serve(db, { logDir: prepared.dir });
  // As a deployment behind a TLS proxy: https public address, Secure cookies.
  tls = await serve(db, { env: { ONEDOOR_PUBLIC_URL: 'https://onedoor.example.org', ONEDOOR_SECURE_COOKIES: 'true' } });
});

after(async () => {
  await plain?.stop();
  await tls?.stop();
});

test('pages and API answers carry the security headers; HSTS only behind TLS', T, async () => {
  const page = await request(plain.url, 'GET', '/login');
  const csp = page.headers.get('content-security-policy');
  for (const part of ["default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "form-action 'self'",
    "base-uri 'none'", "style-src 'self'"]) {
    assert.ok(csp.includes(part), `${part} in ${csp}`);
  }
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(page.headers.get('referrer-policy'), 'same-origin');
  assert.equal(page.headers.get('cache-control'), 'no-store');
  assert.equal(page.headers.get('strict-transport-security'), null);

  const api = await request(plain.url, 'GET', '/api/v1/persons/1');
  assert.equal(api.status, 401);
  assert.equal(api.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(api.headers.get('cache-control'), 'no-store');
  assert.equal(api.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");

  const behindTls = await request(tls.url, 'GET', '/login');
  assert.equal(behindTls.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
  // Over TLS the form's short-lived cookie carries the __Secure- prefix too.
  assert.match(behindTls.headers.get('set-cookie'), /^__Secure-onedoor_login_csrf=[^;]+;.*HttpOnly.*SameSite=Strict.*Secure/);
  assert.match(page.headers.get('set-cookie'), /^onedoor_login_csrf=/);
  // The portal's forms too: only the prefixed cookie is taken over TLS.
  const signUp = await request(tls.url, 'GET', '/portal/sign-up');
  const [, portalCsrf] = /^__Secure-onedoor_portal_csrf=([^;]+);.*Path=\/portal.*Secure/.exec(signUp.headers.get('set-cookie')) ?? [];
  assert.ok(portalCsrf, signUp.headers.get('set-cookie'));
  const post = (cookieName) => request(tls.url, 'POST', '/portal/sign-up', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `${cookieName}=${portalCsrf}` },
    body: new URLSearchParams({ name: '', email: '', password: '', csrf_token: hiddenCsrf(signUp.text) }).toString(),
  });
  const unprefixed = await post('onedoor_portal_csrf');
  assert.equal(unprefixed.status, 403);
  assert.match(unprefixed.text, /The form expired/);
  assert.equal((await post('__Secure-onedoor_portal_csrf')).status, 400, 'the form is read, and its empty fields named');
});

// Signs in through the form, sending `cookie` along; returns the new session cookie's Set-Cookie.
async function signIn(base, username, cookie = '') {
  const form = await request(base, 'GET', '/login');
  const [, name, csrf] = /^((?:__Secure-)?onedoor_login_csrf)=([^;]+)/.exec(form.headers.get('set-cookie'));
  const posted = await request(base, 'POST', '/login', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `${name}=${csrf}${cookie ? `; ${cookie}` : ''}` },
    body: new URLSearchParams({ username, password: kPassword, purpose: 'service_delivery', csrf_token: hiddenCsrf(form.text) }).toString(),
  });
  assert.equal(posted.status, 303, posted.text.slice(0, 200));
  return posted.headers.getSetCookie().find((c) => /^(__Host-)?onedoor_session=/.test(c));
}

test('the session cookie is HttpOnly and SameSite; a new sign-in ends the old session; signing out ends it', T, async () => {
  const first = await signIn(plain.url, 'caseworker.city');
  assert.match(first, /^onedoor_session=[A-Za-z0-9_-]{40,}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
  // Behind TLS the cookie carries the __Host- prefix (Secure, Path=/, no Domain): the browser
  // takes it only from this host over HTTPS, and the plain name opens nothing.
  const secure = await signIn(tls.url, 'caseworker.city');
  assert.match(secure, /^__Host-onedoor_session=[A-Za-z0-9_-]{40,}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
  assert.doesNotMatch(secure, /Domain=/i);
  const hostPair = secure.split(';')[0];
  assert.equal((await request(tls.url, 'GET', '/', { headers: { Cookie: hostPair } })).status, 200);
  const plainNamed = hostPair.replace('__Host-', '');
  assert.equal((await request(tls.url, 'GET', '/', { headers: { Cookie: plainNamed } })).status, 303);

  const old = first.split(';')[0];
  assert.equal((await request(plain.url, 'GET', '/', { headers: { Cookie: old } })).status, 200);
  // The same browser signs in again (as someone else): the session it held ends.
  const second = (await signIn(plain.url, 'frontdesk.city', old)).split(';')[0];
  assert.notEqual(second, old);
  const stale = await request(plain.url, 'GET', '/', { headers: { Cookie: old } });
  assert.equal(stale.status, 303);
  assert.match(stale.headers.get('location'), /^\/login/);
  const home = await request(plain.url, 'GET', '/', { headers: { Cookie: second } });
  assert.equal(home.status, 200);

  const out = await request(plain.url, 'POST', '/logout', {
    headers: { Cookie: second, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf_token: hiddenCsrf(home.text) }).toString(),
  });
  assert.equal(out.status, 303);
  assert.match(out.headers.get('set-cookie'), /^onedoor_session=; .*Max-Age=0/);
  assert.equal(out.headers.get('clear-site-data'), '"cache", "storage"');
  assert.equal((await request(plain.url, 'GET', '/', { headers: { Cookie: second } })).status, 303);
});

test('a form without its CSRF token is refused and writes nothing; markup in a name is shown as text', T, async () => {
  const staff = await login(plain.url, 'frontdesk.city', { purpose: 'front_desk' });
  const before = await countRows(db, 'persons');
  const form = { given_name: '<script>alert(1)</script>', family_name: 'Tane"><img src=x onerror=alert(2)>',
    birth_day: '1', birth_month: '2', birth_year: '1980', duplicate_decision: 'new', duplicate_reason: 'a test of escaping' };
  const forged = await request(plain.url, 'POST', '/clients', {
    headers: { Cookie: staff.auth.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  assert.equal(forged.status, 403);
  assert.equal(await countRows(db, 'persons'), before);

  const made = await request(plain.url, 'POST', '/clients', {
    headers: { Cookie: staff.auth.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...form, csrf_token: staff.auth.csrf }).toString(),
  });
  assert.equal(made.status, 303, made.text.slice(0, 300));
  const page = await request(plain.url, 'GET', made.headers.get('location'), { headers: { Cookie: staff.auth.cookie } });
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.text, /<script>alert\(1\)<\/script>|<img src=x/);
  assert.match(page.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});

test('an account switched off from the command line loses its sessions at once and cannot sign in until switched on', T, async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const run = (verb) => promisify(execFile)(binary, ['user', verb, '--agency', 'city-social', '--username', 'coordinator.city'],
    { env: onedoorEnv(db), timeout: 60_000 });
  const staff = await login(plain.url, 'coordinator.city', { purpose: 'service_delivery' });
  assert.equal((await staff.get('/api/v1/me')).status, 200);
  const off = await run('disable');
  assert.match(off.stdout, /account coordinator\.city switched off; its sessions have ended/);
  assert.equal((await staff.get('/api/v1/me')).status, 401);
  await assert.rejects(login(plain.url, 'coordinator.city', { purpose: 'service_delivery' }));
  const on = await run('enable');
  assert.match(on.stdout, /account coordinator\.city switched on/);
  assert.equal((await (await login(plain.url, 'coordinator.city', { purpose: 'service_delivery' })).get('/api/v1/me')).status, 200);
  assert.equal(await sql(db, "SELECT group_concat(action) FROM audit_log WHERE action IN ('user.deactivated', 'user.activated')"),
    'user.deactivated,user.activated');
});

// Wrong passwords lock the username for the address they came from (as the trusted proxy names
// it in X-Forwarded-For), not for its owner signing in from elsewhere.
test('failed sign-ins lock their own address only', T, async () => {
  const attempt = async (from, password) => {
    const form = await request(plain.url, 'GET', '/login');
    const [, name, csrf] = /^((?:__Secure-)?onedoor_login_csrf)=([^;]+)/.exec(form.headers.get('set-cookie'));
    return request(plain.url, 'POST', '/login', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `${name}=${csrf}`, 'X-Forwarded-For': from },
      body: new URLSearchParams({ username: 'manager.city', password, purpose: 'service_delivery', csrf_token: hiddenCsrf(form.text) }).toString(),
    });
  };
  for (let i = 0; i < 5; i++) assert.equal((await attempt('203.0.113.5', 'not the password at all')).status, 401);
  const locked = await attempt('203.0.113.5', kPassword);
  assert.equal(locked.status, 429);
  assert.match(locked.text, /Too many failed sign-in attempts; try again in 15 minutes/);
  assert.equal((await attempt('198.51.100.20', kPassword)).status, 303, 'the owner signs in from elsewhere');
  assert.equal(await sql(db, "SELECT count(*) FROM login_failures WHERE username = 'manager.city'"), '0', 'cleared by signing in');
});

test('after signing in, the browser goes back only to a path on this site', T, async () => {
  const landing = async (next) => {
    const form = await request(plain.url, 'GET', `/login?next=${encodeURIComponent(next)}`);
    const [, name, csrf] = /^((?:__Secure-)?onedoor_login_csrf)=([^;]+)/.exec(form.headers.get('set-cookie'));
    const posted = await request(plain.url, 'POST', '/login', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `${name}=${csrf}` },
      body: new URLSearchParams({ username: 'frontdesk.city', password: kPassword, purpose: 'service_delivery',
        csrf_token: hiddenCsrf(form.text), next }).toString(),
    });
    assert.equal(posted.status, 303, posted.text.slice(0, 200));
    return posted.headers.get('location');
  };
  assert.equal(await landing('/clients?q=Ng'), '/clients?q=Ng');
  // Browsers drop tabs and line breaks from a URL: "/\t/evil.example" would be "//evil.example".
  for (const next of ['//evil.example', '/\\evil.example', 'https://evil.example/', '/\t/evil.example',
    '/\n/evil.example', '/\r\n/evil.example', '']) {
    assert.equal(await landing(next), '/', JSON.stringify(next));
  }
});
