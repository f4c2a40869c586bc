// Helpers for onedoor's HTTP API tests: a fresh database, a server on a free port
// (tests/browser/lib.mjs), bounded requests, sign-in through the login form, API
// tokens, and checks of RFC 9457 problem bodies.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { demoDatabase, makeTempDir, repoRoot, startServer } from '../browser/lib.mjs';

export { repoRoot };

const run = promisify(execFile);

export const kPassword = 'demo-password-1';
export const kRequestTimeoutMs = 15_000;

export const binary = process.env.ONEDOOR_BIN ?? path.join(repoRoot, 'build', 'dev', 'onedoor');

// Environment for every onedoor command run against `db`.
export function onedoorEnv(db, extra = {}) {
  return {
    ONEDOOR_DB: db,
    ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
    ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    ONEDOOR_LOG_LEVEL: 'info',
    ONEDOOR_SECURE_COOKIES: 'false',
    ...extra,
  };
}

// A fresh temporary directory holding a migrated database with the demo consortium and
// `people` demo clients. Returns {dir, db}.
export async function prepareDatabase({ people = 20, prefix = 'onedoor-http-' } = {}) {
  const dir = await makeTempDir(prefix);
  const db = path.join(dir, 'onedoor.db');
  await demoDatabase(binary, db, people);
  return { dir, db };
}

// Starts `onedoor serve` on `db`; returns lib.startServer's {url, port, logPath, stop}.
export function serve(db, { env = {}, logDir } = {}) {
  return startServer({ binary, args: ['serve'], env: onedoorEnv(db, env), logDir });
}

// Runs a read-only SQL query with the sqlite3 CLI and returns its output, trimmed.
export async function sql(db, query) {
  const { stdout } = await run('sqlite3', ['-readonly', db, query], { timeout: 15_000 });
  return stdout.trim();
}

// Links agency `agencyCode`'s source record `localId` to `person` as the client index does when
// it matches them (onedoor link dedupe, or a reviewer's "same"): an agency may name in its own
// record only a person it holds already.
export async function linkAsTheIndexWould(db, agencyCode, localId, person) {
  const record = `(SELECT r.id FROM source_records r JOIN agencies a ON a.id = r.agency_id WHERE a.code = '${agencyCode}' AND r.local_id = '${localId}')`;
  await run('sqlite3', ['-cmd', '.timeout 10000', db, `BEGIN; UPDATE source_records SET person_id = ${Number(person)} WHERE id = ${record}; `
    + `INSERT INTO source_record_links (source_record_id, person_id, previous_person_id, action, cause, at, user_id, actor) `
    + `VALUES (${record}, ${Number(person)}, NULL, 'linked', 'auto', 0, 0, 'client index'); COMMIT;`], { timeout: 15_000 });
}

export async function countRows(db, table) {
  return Number(await sql(db, `SELECT count(*) FROM ${table}`));
}

// One HTTP request with a timeout and no redirect following. `json` (any value) is sent
// as application/json unless `body` is given. Returns {status, headers, text, body}
// where body is the parsed JSON when the response is JSON.
export async function request(base, method, urlPath, { headers = {}, json, body, timeoutMs = kRequestTimeoutMs } = {}) {
  const h = { ...headers };
  let payload = body;
  if (json !== undefined && payload === undefined) {
    payload = JSON.stringify(json);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
  }
  let response;
  let text;
  try {
    response = await fetch(new URL(urlPath, base), {
      method,
      headers: h,
      body: payload,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const cause = error.cause ? ` (${error.cause.code ?? ''} ${error.cause.message ?? error.cause})` : '';
    throw new Error(`${method} ${urlPath}: ${error.message}${cause}`, { cause: error });
  }
  let parsed;
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json') && text.length > 0) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, text, body: parsed };
}

// A client bound to one way of signing in. `auth` is either {token} (Bearer) or
// {cookie, csrf} (a session); `purpose` sets X-Purpose for tokens.
export class Client {
  constructor(base, auth = {}) {
    this.base = base;
    this.auth = auth;
  }

  headers(method, extra = {}) {
    const h = {};
    if (this.auth.token) h.Authorization = `Bearer ${this.auth.token}`;
    if (this.auth.purpose) h['X-Purpose'] = this.auth.purpose;
    if (this.auth.cookie) {
      h.Cookie = this.auth.cookie;
      if (this.auth.csrf && !['GET', 'HEAD', 'OPTIONS'].includes(method)) h['X-CSRF-Token'] = this.auth.csrf;
    }
    return { ...h, ...extra };
  }

  req(method, urlPath, options = {}) {
    return request(this.base, method, urlPath, { ...options, headers: this.headers(method, options.headers) });
  }

  get(urlPath, options) { return this.req('GET', urlPath, options); }
  post(urlPath, json, options = {}) { return this.req('POST', urlPath, { json, ...options }); }
  put(urlPath, json, options = {}) { return this.req('PUT', urlPath, { json, ...options }); }
}

function cookiePair(response, name) {
  for (const c of response.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq).trim() === name) return { value: pair.slice(eq + 1), raw: c };
  }
  return null;
}

export function hiddenCsrf(html) {
  const m = /name="csrf_token"\s+value="([^"]*)"/.exec(html);
  return m ? m[1] : null;
}

// Signs in through the login form and returns a session Client (with the CSRF token of
// the session, read from a signed-in page).
export async function login(base, username, { purpose = 'service_delivery', password = kPassword } = {}) {
  const form = await request(base, 'GET', '/login');
  assert.equal(form.status, 200, 'GET /login');
  const loginCsrf = cookiePair(form, 'onedoor_login_csrf');
  assert.ok(loginCsrf, 'GET /login sets onedoor_login_csrf');
  const fieldCsrf = hiddenCsrf(form.text);
  assert.ok(fieldCsrf, 'the login form has a csrf_token field');
  const posted = await request(base, 'POST', '/login', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `onedoor_login_csrf=${loginCsrf.value}` },
    body: new URLSearchParams({ username, password, purpose, csrf_token: fieldCsrf }).toString(),
  });
  assert.equal(posted.status, 303, `POST /login as ${username}: ${posted.text.slice(0, 200)}`);
  const session = cookiePair(posted, 'onedoor_session');
  assert.ok(session && session.value, `signing in as ${username} sets onedoor_session`);
  const cookie = `onedoor_session=${session.value}`;
  const home = await request(base, 'GET', '/', { headers: { Cookie: cookie } });
  assert.equal(home.status, 200, 'GET / when signed in');
  const csrf = hiddenCsrf(home.text);
  assert.ok(csrf, 'a signed-in page carries the session CSRF token');
  return new Client(base, { cookie, csrf });
}

// Issues an API token as `admin` (a session Client of an administrator).
export async function issueToken(admin, { name, roles, scopes }) {
  const r = await admin.post('/api/v1/tokens', { name, roles, scopes });
  assert.equal(r.status, 201, `POST /api/v1/tokens: ${r.text}`);
  assert.match(r.body.secret, /^od_/);
  return r.body.secret;
}

// Asserts `r` is an RFC 9457 problem with HTTP status `status` whose instance is the
// request id; `fields` (if given) must each be named in errors[].field. Returns the body.
export function assertProblem(r, status, { fields, detail } = {}) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 500)}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const b = r.body;
  assert.ok(b && typeof b === 'object', 'problem body is a JSON object');
  assert.equal(typeof b.type, 'string');
  assert.ok(b.type.length > 0, 'type is not empty');
  assert.equal(typeof b.title, 'string');
  assert.ok(b.title.length > 0, 'title is not empty');
  assert.equal(b.status, status, 'body.status is the HTTP status');
  assert.equal(typeof b.detail, 'string');
  assert.ok(b.detail.length > 0, 'detail is not empty');
  const requestId = r.headers.get('x-request-id');
  assert.ok(requestId, 'X-Request-Id header is present');
  assert.equal(b.instance, requestId, 'instance is the request id');
  if (detail) assert.match(b.detail, detail);
  if (fields) {
    assert.ok(Array.isArray(b.errors), `errors[] is present: ${r.text}`);
    for (const e of b.errors) {
      assert.equal(typeof e.field, 'string');
      assert.equal(typeof e.message, 'string');
      assert.ok(e.message.length > 0);
    }
    const named = b.errors.map((e) => e.field);
    for (const f of fields) {
      assert.ok(named.includes(f), `errors names ${f}; it names ${JSON.stringify(named)}`);
    }
  }
  return b;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A browser without an account: keeps its cookies between requests.
export class Visitor {
  // `headers` go with every request (X-Forwarded-For, to come from another client address).
  constructor(base, headers = {}) {
    this.base = base;
    this.cookies = new Map();
    this.extra = headers;
  }

  async go(method, path, form) {
    const headers = { ...this.extra, Cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    let body;
    if (form instanceof FormData) {
      body = form;  // multipart: fetch sets the type and boundary
    } else if (form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const r = await request(this.base, method, path, { headers, body });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value === '') this.cookies.delete(pair.slice(0, eq)); else this.cookies.set(pair.slice(0, eq), value);
    }
    return r;
  }

  async submit(formPath, action, fields) {
    const page = await this.go('GET', formPath);
    assert.equal(page.status, 200, page.text.slice(0, 200));
    return this.go('POST', action, { csrf_token: hiddenCsrf(page.text), ...fields });
  }
}

// A person with a confirmed portal account, signed in, as a Visitor; not linked to a record.
export async function signedInCitizen(base, db, { name, email, password = 'correct horse battery' }) {
  const v = new Visitor(base);
  const made = await v.submit('/portal/sign-up', '/portal/sign-up', { name, email, password });
  assert.equal(made.status, 200, made.text.slice(0, 300));
  const mail = await sql(db, `SELECT body FROM outgoing_messages WHERE address = '${email}' ORDER BY id DESC LIMIT 1`);
  const verify = /(\/portal\/verify\?token=[A-Za-z0-9_-]+)/.exec(mail);
  assert.ok(verify, mail);
  assert.equal((await v.go('GET', verify[1])).status, 200);
  const signed = await v.submit('/portal/sign-in', '/portal/sign-in', { email, password });
  assert.equal(signed.status, 303, signed.text.slice(0, 300));
  return v;
}

// A person with a confirmed portal account, linked to client `person` at the desk by front-desk
// staff: signed in, as a Visitor.
export async function linkedCitizen(base, db, person, account) {
  const v = await signedInCitizen(base, db, account);
  const home = await v.go('GET', '/portal');
  const coded = await v.go('POST', '/portal/link-code', { csrf_token: hiddenCsrf(home.text) });
  const code = /data-testid="link-code">\s*<h2 class="govuk-panel__title">([2-9A-Z]{4}-[2-9A-Z]{4})</.exec(coded.text);
  assert.ok(code, coded.text.slice(0, 500));
  const desk = await login(base, 'frontdesk.city', { purpose: 'front_desk' });
  const page = await desk.get(`/clients/${person}`);
  const linked = await desk.req('POST', `/clients/${person}/portal-link`, {
    body: new URLSearchParams({ csrf_token: hiddenCsrf(page.text), code: code[1] }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(linked.status, 303, linked.text.slice(0, 300));
  return v;
}
