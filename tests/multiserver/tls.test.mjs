// TLS behind nginx, as docs/operators.md ("TLS with nginx") says to set it up: the server block of
// the guide, read from the guide itself, runs in Debian's nginx with a certificate made here for
// 127.0.0.1, in front of one onedoor with public_url https and secure cookies. Plain HTTP is sent
// to HTTPS; over HTTPS the pages come with Strict-Transport-Security, sign-in gives the __Host-
// session cookie, and that cookie opens the staff pages.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/multiserver/tls.test.mjs

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { freePort, makeTempDir, startServer } from '../browser/lib.mjs';
import { binary, hiddenCsrf, kPassword, onedoorEnv, prepareDatabase, repoRoot } from '../http/helpers.mjs';
import { kNginx } from './nginx.mjs';
import { unprivilegedUser } from './postgres.mjs';

const run = promisify(execFile);
const T = { timeout: 120_000 };

let dir;
let server;
let nginx;
let ca;
let httpsPort;
let httpPort;
let accessLog;

// The guide's server blocks, with this run's ports, certificate and upstream.
async function guideConfig({ upstream, cert, key }) {
  const guide = await readFile(path.join(repoRoot, 'docs', 'operators.md'), 'utf8');
  const block = /### TLS with nginx[\s\S]*?```nginx\n([\s\S]*?)```/.exec(guide);
  assert.ok(block, 'docs/operators.md has the nginx server block under "TLS with nginx"');
  let conf = block[1];
  const swap = (from, to) => {
    assert.ok(conf.includes(from), `the guide's block has ${from}`);
    conf = conf.replaceAll(from, to);
  };
  swap('listen 80;', `listen 127.0.0.1:${httpPort};`);
  swap('listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`);
  swap('return 301 https://$host$request_uri;', `return 301 https://$host:${httpsPort}$request_uri;`);
  swap('/etc/letsencrypt/live/onedoor.example.org/fullchain.pem', cert);
  swap('/etc/letsencrypt/live/onedoor.example.org/privkey.pem', key);
  swap('proxy_pass http://127.0.0.1:8080;', `proxy_pass http://${upstream};`);
  swap('access_log /var/log/nginx/onedoor.access.log onedoor_paths;', `access_log ${accessLog} onedoor_paths;`);
  // The access log's format, declared in the http block as the guide says.
  const format = /log_format onedoor_paths[^\n]*;/.exec(guide.slice(block.index + block[0].length));
  assert.ok(format, 'docs/operators.md declares the log_format onedoor_paths after the server block');
  return `${format[0]}\n${conf}`;
}

function get(urlPath, { headers = {}, method = 'GET', body } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: httpsPort, path: urlPath, method, headers, ca, servername: 'localhost' },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    if (body) req.write(body);
    req.end();
  });
}

before(async () => {
  dir = await makeTempDir('onedoor-tls-');
  const { db } = await prepareDatabase({ people: 1, prefix: 'onedoor-tls-db-' });
  server = await startServer({
    binary, args: ['serve'], logDir: dir,
    env: onedoorEnv(db, { ONEDOOR_PUBLIC_URL: 'https://localhost', ONEDOOR_SECURE_COOKIES: 'true' }),
  });
  // A certificate for localhost and 127.0.0.1, trusted by this test alone.
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert]);
  ca = await readFile(cert);
  httpsPort = await freePort();
  httpPort = await freePort();
  const prefix = path.join(dir, 'nginx');
  await mkdir(prefix, { recursive: true });
  const user = await unprivilegedUser();
  if (user) {
    await chmod(dir, 0o755);
    await chmod(prefix, 0o755);
    await chmod(key, 0o644);
  }
  const p = (name) => path.join(prefix, name);
  accessLog = p('onedoor.access.log');
  const conf = `${user ? `user ${user.name} ${user.group};` : ''}
daemon off;
worker_processes 1;
pid ${p('nginx.pid')};
error_log ${p('error.log')} info;
events { worker_connections 64; }
http {
  access_log ${p('access.log')};
  client_body_temp_path ${p('client_body')};
  proxy_temp_path ${p('proxy')};
  fastcgi_temp_path ${p('fastcgi')};
  uwsgi_temp_path ${p('uwsgi')};
  scgi_temp_path ${p('scgi')};
${await guideConfig({ upstream: new URL(server.url).host, cert, key })}
}
`;
  await writeFile(p('nginx.conf'), conf);
  nginx = spawn(kNginx, ['-p', prefix, '-c', p('nginx.conf'), '-e', p('error.log')], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await get('/readyz')).status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`nginx did not start:\n${await readFile(p('error.log'), 'utf8').catch(() => '')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  if (nginx && nginx.exitCode === null) {
    nginx.kill('SIGTERM');
    await once(nginx, 'exit');
  }
  await server?.stop();
});

test('plain HTTP is sent to HTTPS', T, async () => {
  const r = await fetch(`http://127.0.0.1:${httpPort}/login?next=%2F`, { redirect: 'manual' });
  assert.equal(r.status, 301);
  assert.equal(r.headers.get('location'), `https://127.0.0.1:${httpsPort}/login?next=%2F`);
});

test('over HTTPS: HSTS on every answer, the __Secure- form cookie, the __Host- session cookie, and the cookie opens the staff pages', T, async () => {
  const form = await get('/login');
  assert.equal(form.status, 200);
  assert.equal(form.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  // The sign-in form's own cookie carries the __Secure- prefix over HTTPS.
  const loginCsrf = /(?:^|\n)__Secure-onedoor_login_csrf=([^;]+);[^\n]*; Secure/.exec(form.headers['set-cookie'].join('\n'))?.[1];
  assert.ok(loginCsrf, form.headers['set-cookie'].join('\n'));
  const posted = await get('/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `__Secure-onedoor_login_csrf=${loginCsrf}` },
    body: new URLSearchParams({ username: 'caseworker.city', password: kPassword, purpose: 'case_work',
      csrf_token: hiddenCsrf(form.text) }).toString(),
  });
  assert.equal(posted.status, 303, posted.text.slice(0, 200));
  const session = posted.headers['set-cookie'].find((c) => c.startsWith('__Host-onedoor_session='));
  assert.match(session, /; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
  const home = await get('/clients?q=Zyxwvut+Qqqplonk', { headers: { Cookie: session.split(';')[0] } });
  assert.equal(home.status, 200);
  // nginx logs the search's path, never what was searched for. It writes the line once the answer
  // has gone, which the client may see first: wait for it.
  let logged = '';
  for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
    logged = await readFile(accessLog, 'utf8');
    if (/"GET \/clients" 200/.test(logged)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.match(logged, /"GET \/clients" 200/);
  assert.doesNotMatch(logged, /Zyxwvut|Qqqplonk/);
  assert.equal(home.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  const api = await get('/api/v1/me', { headers: { Cookie: session.split(';')[0] } });
  assert.equal(api.status, 200);
  assert.equal(JSON.parse(api.text).name, 'caseworker.city');
});
