// Helpers for onedoor's browser tests: Debian's chromium driven by playwright-core,
// a onedoor server on a free loopback port, and axe-core accessibility checks.
//
// Nothing here downloads anything: the browser is /usr/bin/chromium (Debian's
// package) and axe-core is read from node_modules.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const execFileAsync = promisify(execFile);

// Makes `db` a database with onedoor's schema, the demo consortium and `people` demo clients, as
// `onedoor migrate` and `onedoor demo-data --people N` would: a copy of one made once per
// binary, size and hour, so that each test does not wait for the hundreds of durable commits of
// demo-data. The copies are kept in the temporary folder (onedoor-demo-*.db, about 1 MB each)
// for a day.
export async function demoDatabase(binary, db, people) {
  const built = (await stat(binary)).mtimeMs;
  const day = new Date().toISOString().slice(0, 10);
  const key = createHash('sha256').update(`${path.resolve(binary)} ${built} ${people} ${day}`).digest('hex').slice(0, 16);
  const template = path.join(os.tmpdir(), `onedoor-demo-${key}.db`);
  // Remade after an hour, so that what demo-data dates from its own time stays recent.
  const made = await stat(template).then((st) => st.mtimeMs, () => 0);
  if (Date.now() - made < 3_600_000) {
    await copyFile(template, db);
    return;
  }
  // Those of earlier runs go once a day old.
  for (const name of readdirSync(os.tmpdir()).filter((n) => /^onedoor-demo-[0-9a-f]{16}\.db$/.test(n))) {
    const old = path.join(os.tmpdir(), name);
    if (Date.now() - (await stat(old).then((st) => st.mtimeMs, () => Date.now())) > 86_400_000) await rm(old, { force: true });
  }
  // Made under its own name, then renamed: tests running at once may each make it, and none
  // copies one half made.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onedoor-demo-make-'));
  try {
    const env = {
      ...process.env,
      ONEDOOR_DB: path.join(dir, 'demo.db'),
      ONEDOOR_WEB_ROOT: path.join(repoRoot, 'web'),
      ONEDOOR_NODE_MODULES: path.join(repoRoot, 'node_modules'),
    };
    await execFileAsync(binary, ['migrate'], { env, timeout: 60_000 });
    await execFileAsync(binary, ['demo-data', '--people', String(people)], { env, timeout: 120_000 });
    await rename(env.ONEDOOR_DB, template);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await copyFile(template, db);
}

const kChromiumPath = process.env.ONEDOOR_CHROMIUM ?? '/usr/bin/chromium';
const kReadyTimeoutMs = 20_000;
const kStopTimeoutMs = 5_000;

// Starts headless chromium. The caller closes the returned Browser.
// The message catalogue of a language (web/locales/<lang>/*.json merged): English message ->
// the language's.
export function catalogue(lang) {
  const dir = path.join(repoRoot, 'web', 'locales', lang);
  const all = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) Object.assign(all, JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
  return all;
}

// A message as a person reading `lang` sees it, taken from the catalogue by its English text
// (a message the catalogue lacks fails the test), with its simple {arguments} filled in.
export function translator(lang) {
  const messages = lang === 'en' ? null : catalogue(lang);
  return (english, args = {}) => {
    let text = english;
    if (messages !== null) {
      assert.ok(Object.hasOwn(messages, english), `the ${lang} catalogue has "${english}"`);
      text = messages[english];
    }
    for (const [k, v] of Object.entries(args)) text = text.replaceAll(`{${k}}`, v);
    return text;
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: kChromiumPath,
    timeout: 15_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

// Returns a TCP port on 127.0.0.1 that was free a moment ago.
export async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

// Creates a fresh temporary directory for one test run.
export function makeTempDir(prefix = 'onedoor-browser-') {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function isReady(url) {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

// Starts `binary ...args` with ONEDOOR_LISTEN=127.0.0.1:0 added to the environment (on top
// of process.env and `env`), so that the system gives it a free port, which the server
// prints ("onedoor is running at http://127.0.0.1:PORT/"); then waits up to 20 s for
// GET /readyz to answer 200. Output goes to <logDir or a temp dir>/server.log,
// which is printed if the server does not become ready.
//
// Returns {url, port, logPath, pid, stop, exitStatus}; stop() sends SIGTERM and waits
// up to 5 s, then SIGKILL.
export async function startServer({ binary, args = ['serve'], env = {}, logDir } = {}) {
  if (!binary) throw new Error('startServer: no binary given (set ONEDOOR_BIN)');
  const dir = logDir ?? (await makeTempDir('onedoor-server-'));
  const logPath = path.join(dir, 'server.log');
  const log = createWriteStream(logPath);
  await once(log, 'open');

  const child = spawn(binary, args, {
    env: { ...process.env, ...env, ONEDOOR_LISTEN: '127.0.0.1:0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log, { end: false });
  // The port the server was given, from the line it prints once it listens.
  let port = null;
  let printed = '';
  const readPort = (chunk) => {
    printed += chunk.toString('utf8');
    const m = /onedoor is running at http:\/\/127\.0\.0\.1:(\d+)\//.exec(printed);
    if (m) {
      port = Number(m[1]);
      child.stdout.off('data', readPort);
    }
  };
  child.stdout.on('data', readPort);
  child.stderr.pipe(log, { end: false });
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  let exitStatus = null;
  exited.then((status) => { exitStatus = status; });

  const closeLog = () => new Promise((resolve) => log.end(resolve));

  async function stop() {
    if (exitStatus === null) {
      child.kill('SIGTERM');
      const result = await Promise.race([exited, sleep(kStopTimeoutMs).then(() => null)]);
      if (result === null) {
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(kStopTimeoutMs)]);
      }
    }
    await closeLog();
    return exitStatus;
  }

  const deadline = Date.now() + kReadyTimeoutMs;
  while (port === null || !(await isReady(`http://127.0.0.1:${port}`))) {
    if (exitStatus !== null || Date.now() > deadline) {
      const why = exitStatus !== null
        ? `exited (${exitStatus.error?.message ?? `code ${exitStatus.code}, signal ${exitStatus.signal}`})`
        : `did not answer 200 on /readyz within ${kReadyTimeoutMs / 1000} s`;
      await stop();
      const output = await readFile(logPath, 'utf8').catch(() => '');
      throw new Error(`onedoor server ${why}\n--- ${logPath} ---\n${output}`);
    }
    await sleep(100);
  }
  const url = `http://127.0.0.1:${port}`;
  // exitStatus() is null while the server runs, then {code, signal} once it has exited.
  return { url, port, logPath, stop, pid: child.pid, exitStatus: () => exitStatus };
}

const kAxeSource = path.join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js');
let axeSource;

// Runs axe-core (WCAG 2.0/2.1 A and AA, WCAG 2.2 AA rules) on the page and throws
// a readable list of violations if there are any. `label` names the page in the
// message.
export async function checkA11y(page, label = page.url()) {
  axeSource ??= await readFile(kAxeSource, 'utf8');
  const hasAxe = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!hasAxe) await page.addScriptTag({ content: axeSource });
  const results = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    }));
  if (results.violations.length === 0) return results;
  const lines = results.violations.map((v) => {
    const targets = v.nodes.map((n) => `      ${n.target.join(' ')}${n.failureSummary ? `\n        ${n.failureSummary.replace(/\n/g, '\n        ')}` : ''}`);
    return `  ${v.id} (${v.impact}): ${v.help}\n${targets.join('\n')}`;
  });
  throw new Error(`Accessibility violations on ${label}:\n${lines.join('\n')}`);
}
