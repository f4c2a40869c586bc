// nginx (Debian's package) as a load balancer in front of several onedoor servers, confined
// to one temporary directory: configuration, pid file, logs and every temp path live there,
// so nothing touches /etc/nginx, /var/log/nginx, /var/lib/nginx or /run.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, chmod, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { freePort } from '../browser/lib.mjs';
import { unprivilegedUser } from './postgres.mjs';

export const kNginx = process.env.ONEDOOR_NGINX ?? '/usr/sbin/nginx';
const kReadyTimeoutMs = 10_000;
const kStopTimeoutMs = 5_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One line per request, for checking which server answered when: the time it was logged
// (seconds.millis), and every upstream tried, in order, with its status
// ("127.0.0.1:1234, 127.0.0.1:5678" and "502, 201").
const kLogFormat = "'$msec|$request_method|$uri|$status|$upstream_addr|$upstream_status'";

function config({ prefix, port, upstreams, user }) {
  const p = (name) => path.join(prefix, name);
  return `# Written by tests/multiserver/nginx.mjs for one test run.
${user ? `user ${user.name} ${user.group};` : ''}
daemon off;
worker_processes 1;
pid ${p('nginx.pid')};
error_log ${p('error.log')} info;

events { worker_connections 512; }

http {
  log_format upstreams ${kLogFormat};
  access_log ${p('access.log')} upstreams;
  client_body_temp_path ${p('client_body')};
  proxy_temp_path ${p('proxy')};
  fastcgi_temp_path ${p('fastcgi')};
  uwsgi_temp_path ${p('uwsgi')};
  scgi_temp_path ${p('scgi')};

  # No upstream keepalive: a POST sent on a stale pooled connection would fail with 502
  # even though no server is down, since nginx must not retry it.
  upstream onedoor {
${upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=30s;`).join('\n')}
  }

  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://onedoor;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_connect_timeout 1s;
      proxy_send_timeout 15s;
      proxy_read_timeout 15s;
      # A refused connection is retried on the other server for every method (nothing was
      # sent). Once sent, only idempotent requests are retried: no non_idempotent, so a
      # POST cut off by a dying server surfaces as 502 instead of possibly running twice.
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
      proxy_next_upstream_timeout 5s;
    }
  }
}
`;
}

// Starts nginx in `dir` (created if needed) balancing over `upstreams` ("host:port").
// Waits until a request through it reaches an upstream's /readyz. Returns {url, port,
// dir, accessLog(), errorLog(), stop}; accessLog() gives
// {at (ms), method, uri, status, tried, upstreamStatuses, answeredBy} per request.
export async function startNginx({ dir, upstreams }) {
  try {
    await access(kNginx, constants.X_OK);
  } catch {
    throw new Error(`nginx is needed for this test but ${kNginx} was not found; install the Debian package `
      + "'nginx' (scripts/install-deps.sh), or set ONEDOOR_NGINX");
  }
  await mkdir(dir, { recursive: true });
  // As root the master hands its workers to an unprivileged user, who must reach the
  // temp paths inside `dir`; the master creates them and gives them to that user.
  const user = await unprivilegedUser();
  if (user) await chmod(dir, 0o755);
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  const errorLogPath = path.join(dir, 'error.log');
  await writeFile(conf, config({ prefix: dir, port, upstreams, user }));

  // -e: the startup error log, opened before the configuration is read.
  const child = spawn(kNginx, ['-p', dir, '-c', conf, '-e', errorLogPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exitStatus = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => { exitStatus = { code, signal }; resolve(exitStatus); });
    child.once('error', (error) => { exitStatus = { error }; resolve(exitStatus); });
  });

  async function stop() {
    if (exitStatus === null) {
      child.kill('SIGTERM'); // fast shutdown: the master stops its workers, then exits
      if (await Promise.race([exited, sleep(kStopTimeoutMs).then(() => null)]) === null) {
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(kStopTimeoutMs)]);
      }
    }
    return exitStatus;
  }

  const url = `http://127.0.0.1:${port}`;
  const errorLog = () => readFile(errorLogPath, 'utf8').catch(() => '');
  const deadline = Date.now() + kReadyTimeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    if (exitStatus !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not start (${JSON.stringify(exitStatus)}):\n${output}\n${await errorLog()}`);
    }
    await sleep(50);
  }
  return {
    url,
    port,
    dir,
    pid: child.pid,
    accessLog: async () => (await readFile(path.join(dir, 'access.log'), 'utf8').catch(() => ''))
      .split('\n').filter(Boolean).map((line) => {
        const [msec, method, uri, status, addrs, statuses] = line.split('|');
        const tried = addrs.split(', ');
        return {
          at: Math.round(Number(msec) * 1000), method, uri, status: Number(status),
          tried, upstreamStatuses: statuses.split(', '), answeredBy: tried.at(-1),
        };
      }),
    errorLog,
    stop,
  };
}
