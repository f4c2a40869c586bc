// Signing in to the portal with OpenID Connect, over HTTP, against a provider played here on
// the loopback (discovery, keys, an authorization endpoint that consents at once, a token
// endpoint that checks the client's secret, the redirect address and the PKCE verifier, and ID
// tokens signed RS256): the first sign-in makes the account, the next one signs in to it; a
// person who cancels, a browser that did not begin the sign-in, a forged ID token and a provider
// that cannot be reached are each refused with their page, and the refusals are audited.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/oidc.test.mjs

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Visitor, prepareDatabase, serve, sql } from './helpers.mjs';

const T = { timeout: 60_000 };
const kSecret = 'test-client-secret-1';

// The provider: who signs in next, and whether it signs with a key of its JWKS.
const provider = {
  url: '',
  subject: 'subject-ana',
  name: 'Ana Lima',
  email: 'ana.oidc@example.org',
  forge: false,
  codes: new Map(),  // code -> {nonce, challenge, redirect}
};
const keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

const b64url = (b) => Buffer.from(b).toString('base64url');

function idToken(claims, key) {
  const input = `${b64url(JSON.stringify({ alg: 'RS256', kid: 'k1', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(crypto.sign('sha256', Buffer.from(input), key))}`;
}

function startProvider() {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, provider.url);
    const json = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: provider.url,
        authorization_endpoint: `${provider.url}/authorize`,
        token_endpoint: `${provider.url}/token`,
        jwks_uri: `${provider.url}/jwks`,
      });
    }
    if (url.pathname === '/jwks') {
      return json(200, { keys: [{ ...keys.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' }] });
    }
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      assert.equal(q.get('response_type'), 'code');
      assert.equal(q.get('client_id'), 'onedoor-portal');
      assert.equal(q.get('code_challenge_method'), 'S256');
      assert.match(q.get('scope'), /openid/);
      const back = new URL(q.get('redirect_uri'));
      if (provider.cancel) {
        back.search = new URLSearchParams({ error: 'access_denied', state: q.get('state') }).toString();
      } else {
        const code = crypto.randomBytes(12).toString('hex');
        provider.codes.set(code, { nonce: q.get('nonce'), challenge: q.get('code_challenge'), redirect: q.get('redirect_uri') });
        back.search = new URLSearchParams({ code, state: q.get('state') }).toString();
      }
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
      if (basic !== `onedoor-portal:${kSecret}`) return json(401, { error: 'invalid_client' });
      const grant = provider.codes.get(form.get('code'));
      provider.codes.delete(form.get('code'));
      const proof = crypto.createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
      if (!grant || grant.challenge !== proof || grant.redirect !== form.get('redirect_uri')) {
        return json(400, { error: 'invalid_grant' });
      }
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: provider.url, aud: 'onedoor-portal', sub: provider.subject, iat: now, exp: now + 300, nonce: grant.nonce,
        name: provider.name, email: provider.email, email_verified: true,
      };
      return json(200, { token_type: 'Bearer', id_token: idToken(claims, provider.forge ? stranger.privateKey : keys.privateKey) });
    }
    return json(404, {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    provider.url = `http://127.0.0.1:${server.address().port}`;
    resolve(server);
  }));
}

let idp;
let server;
let db;

before(async () => {
  idp = await startProvider();
  const prepared = await prepareDatabase({ people: 1, prefix: 'onedoor-oidc-' });
  db = prepared.db;
  const config = path.join(prepared.dir, 'oidc.yaml');
  await fs.writeFile(config, [
    'providers:',
    '  - id: testid',
    '    name: TestID',
    `    issuer: ${provider.url}`,
    '    client_id: onedoor-portal',
    '    client_secret_env: ONEDOOR_TEST_OIDC_SECRET',
    '  - id: gone',
    '    name: GoneID',
    '    issuer: http://127.0.0.1:9',  // the discard port: nothing answers
    '    client_id: onedoor-portal',
  ].join('\n'));
  server = await serve(db, { env: { ONEDOOR_OIDC_PROVIDERS: config, ONEDOOR_TEST_OIDC_SECRET: kSecret }, logDir: prepared.dir });
});

after(async () => {
  await server?.stop();
  idp?.close();
});

// Goes from onedoor to the provider and back, as a browser does: returns the callback's answer.
async function roundTrip(v, { follow = true } = {}) {
  const id = 'testid';
  const start = await v.go('GET', `/portal/sign-in-with/${id}`);
  assert.equal(start.status, 303, start.text.slice(0, 300));
  const to = start.headers.get('location');
  assert.ok(to.startsWith(`${provider.url}/authorize?`), to);
  const at = await fetch(to, { redirect: 'manual' });
  const back = new URL(at.headers.get('location'));
  assert.equal(back.pathname, '/portal/oidc/callback');
  const callback = back.pathname + back.search;
  return { callback, answer: follow ? await v.go('GET', callback) : undefined };
}

test('the first sign-in with a provider makes the account; the next one signs in to it', T, async () => {
  const ana = new Visitor(server.url);
  const page = await ana.go('GET', '/portal/sign-in');
  assert.match(page.text, /href="\/portal\/sign-in-with\/testid"[^>]*>Sign in with TestID</);
  assert.match(page.text, /Sign in with GoneID/);
  const { answer } = await roundTrip(ana);
  assert.equal(answer.status, 303, answer.text.slice(0, 300));
  assert.equal(answer.headers.get('location'), '/portal?welcome=1');
  const home = await ana.go('GET', '/portal');
  assert.equal(home.status, 200);
  assert.match(home.text, /Ana Lima/);
  assert.equal(await sql(db, "SELECT count(*) FROM users WHERE email = 'ana.oidc@example.org'"), '1');
  assert.equal(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'login.succeeded' AND reason = 'signed in with TestID'"), '1');

  // Another day, another browser: the same account.
  const again = new Visitor(server.url);
  const second = (await roundTrip(again)).answer;
  assert.equal(second.status, 303);
  assert.equal(second.headers.get('location'), '/portal');
  assert.equal(await sql(db, "SELECT count(*) FROM users WHERE email = 'ana.oidc@example.org'"), '1');
  assert.equal(await sql(db, "SELECT count(*) FROM external_identities"), '1');
});

test('a cancelled sign-in, another browser, a forged token and an unreachable provider are refused', T, async () => {
  provider.subject = 'subject-bo';
  provider.email = 'bo.oidc@example.org';
  provider.name = 'Bo Diaz';
  const users = await sql(db, 'SELECT count(*) FROM users');

  provider.cancel = true;
  const cancelled = (await roundTrip(new Visitor(server.url))).answer;
  provider.cancel = false;
  assert.equal(cancelled.status, 401);
  assert.match(cancelled.text, /Signing in with TestID did not finish/);

  // The provider's answer opened in a browser that did not begin the sign-in (login CSRF).
  const { callback } = await roundTrip(new Visitor(server.url), { follow: false });
  const intruder = await new Visitor(server.url).go('GET', callback);
  assert.equal(intruder.status, 400);
  assert.match(intruder.text, /This sign-in was not started in this browser/);

  provider.forge = true;
  const forged = (await roundTrip(new Visitor(server.url))).answer;
  provider.forge = false;
  assert.equal(forged.status, 401);
  assert.match(forged.text, /Signing in with TestID did not work/);
  assert.equal(await sql(db, "SELECT count(*) FROM audit_log WHERE action = 'login.failed' AND reason LIKE '%signature does not hold%'"), '1');

  const gone = await new Visitor(server.url).go('GET', '/portal/sign-in-with/gone');
  assert.equal(gone.status, 503);
  assert.match(gone.text, /GoneID cannot be reached just now/);
  assert.equal((await new Visitor(server.url).go('GET', '/portal/sign-in-with/nobody')).status, 404);

  // In Spanish.
  const es = new Visitor(server.url);
  es.cookies.set('onedoor_lang', 'es');
  assert.match((await es.go('GET', '/portal/sign-in-with/gone')).text, /No se puede conectar con GoneID en este momento/);

  assert.equal(await sql(db, 'SELECT count(*) FROM users'), users);
});
