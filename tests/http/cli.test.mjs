// The command line as an operator meets it: --config before or after the command, a command's
// own --help that does nothing else, and arguments a command does not take refused instead of
// ignored (a backup written to a file named "--help", a server on the wrong database).
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/cli.test.mjs

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { binary, repoRoot } from './helpers.mjs';

let dir;

// Runs onedoor in `dir` with no ONEDOOR_* settings of the caller's: { code, stdout, stderr }.
function onedoor(args, env = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ONEDOOR_')));
  return new Promise((resolve) => {
    execFile(path.resolve(binary), args, { cwd: dir, env: { ...clean, ONEDOOR_LOG_LEVEL: 'error', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

// A query on a database file, with the sqlite3 shell.
function sqlite(db, query) {
  return new Promise((resolve, reject) => execFile('sqlite3', [db, query], (e, out) => (e ? reject(e) : resolve(out.trim()))));
}

before(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'onedoor-cli-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

test('a command given --help shows its usage and does nothing', async () => {
  for (const command of ['backup', 'serve', 'migrate', 'token', 'user', 'audit']) {
    const r = await onedoor([command, '--help']);
    assert.equal(r.code, 0, `${command}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^  ${command}\\b`, 'm'), `${command}: ${r.stdout}`);
  }
  assert.deepEqual(await readdir(dir), [], 'no database made, no backup written');
  const unknown = await onedoor(['frobnicate', '--help']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});

test('--help names the environment variable of every setting, as the operators\' guide does', async () => {
  const r = await onedoor(['--help']);
  assert.equal(r.code, 0, r.stderr);
  const listed = new Set(r.stdout.slice(r.stdout.indexOf('Configuration comes from')).match(/ONEDOOR_[A-Z_]+/g));
  const guide = await readFile(path.join(repoRoot, 'docs', 'operators.md'), 'utf8');
  const start = guide.indexOf('## Configure');
  const documented = new Set(guide.slice(start, guide.indexOf('\n## ', start + 1)).match(/^\w+:.*# (ONEDOOR_[A-Z_]+)/gm)
    .map((line) => /# (ONEDOOR_[A-Z_]+)/.exec(line)[1]));
  assert.ok(documented.size >= 30, `settings in the guide: ${[...documented]}`);
  assert.deepEqual([...documented].filter((v) => !listed.has(v)), [], 'in the guide, not in --help');
  for (const v of ['ONEDOOR_DB', 'ONEDOOR_AUDIT_SIGNING_KEY', 'ONEDOOR_TOKEN_REQUESTS_PER_MINUTE', 'ONEDOOR_TIME_ZONE']) {
    assert.ok(listed.has(v), `${v} in --help`);
  }
});

test('--config is read after the command too, and a command refuses arguments it does not take', async () => {
  const db = path.join(dir, 'configured.db');
  await writeFile(path.join(dir, 'onedoor.yaml'), `db: ${db}\n`);
  for (const args of [['--config', 'onedoor.yaml', 'migrate'], ['migrate', '--config', 'onedoor.yaml'], ['migrate', '--config=onedoor.yaml']]) {
    const r = await onedoor(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /configured\.db is at schema version \d+/);
  }
  assert.ok(existsSync(db));
  assert.ok(!existsSync(path.join(dir, 'var')), 'no database at the default path');

  const serve = await onedoor(['serve', '--confg', 'onedoor.yaml']);
  assert.equal(serve.code, 2);
  assert.match(serve.stderr, /usage: onedoor \[--config FILE\] serve/);
  const backup = await onedoor(['--config', 'onedoor.yaml', 'backup', '-o']);
  assert.equal(backup.code, 2);
  assert.match(backup.stderr, /a file name, not an option/);
  const two = await onedoor(['--config', 'onedoor.yaml', 'backup', 'a.db', 'b.db']);
  assert.equal(two.code, 2);
  assert.match(two.stderr, /'backup' was given arguments it does not take; its usage:\n  backup FILE/);
  assert.ok(!existsSync(path.join(dir, 'a.db')) && !existsSync(path.join(dir, '-o')));
  const copy = await onedoor(['backup', path.join(dir, 'copy.db'), '--config', 'onedoor.yaml']);
  assert.equal(copy.code, 0, copy.stderr);
  assert.ok(existsSync(path.join(dir, 'copy.db')));
});

test('a database path typed wrong is named, not made: audit verify does not find an empty log intact', async () => {
  const missing = path.join(dir, 'no-such.db');
  for (const args of [['audit', 'verify'], ['audit', 'seals'], ['backup', path.join(dir, 'b.db')], ['rules', 'screen', '--all'],
    ['agency', 'create', '--code', 'x', '--name', 'X', '--kind', 'government']]) {
    const r = await onedoor(args, { ONEDOOR_DB: missing });
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, /there is no database at .*no-such\.db: check the db setting \(ONEDOOR_DB\), or create it with onedoor migrate/);
    assert.ok(!existsSync(missing), `${args.join(' ')} made no database`);
  }
  assert.ok(!existsSync(path.join(dir, 'b.db')));
});

test('routes are printed without creating or upgrading the database', async () => {
  const missing = path.join(dir, 'routes-no-such.db');
  const r = await onedoor(['routes'], { ONEDOOR_DB: missing });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /"pattern":"\/api\/v1\/persons\/\{id\}"/);
  assert.ok(!existsSync(missing), 'no database made');
  assert.ok(!existsSync(path.join(dir, 'var')), 'nor the default one');
});

test('an empty database name, a setting given twice and a folder for --config are named, and nothing runs', async () => {
  const empty = await onedoor(['migrate'], { ONEDOOR_DB: '' });
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /environment variable ONEDOOR_DB must name the database/);
  const twice = path.join(dir, 'twice.yaml');
  await writeFile(twice, `db: ${path.join(dir, 'one.db')}\ndb: ${path.join(dir, 'two.db')}\n`);
  const r = await onedoor(['--config', twice, 'migrate']);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`${twice}:2: 'db' is set twice (also on line 1): keep one`), r.stderr);
  assert.ok(!existsSync(path.join(dir, 'one.db')) && !existsSync(path.join(dir, 'two.db')));
  const folder = await onedoor(['--config', dir, 'migrate']);
  assert.equal(folder.code, 1, folder.stderr);
  assert.ok(folder.stderr.includes(`${dir}: is a folder: give the configuration file in it`), folder.stderr);
});

test('a backup needs a file of its own: not an empty name, not the database, not a file of something else', async () => {
  const db = path.join(dir, 'live.db');
  assert.equal((await onedoor(['migrate'], { ONEDOOR_DB: db })).code, 0);
  const empty = await onedoor(['backup', ''], { ONEDOOR_DB: db });
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /give the name of the backup file/);
  const itself = await onedoor(['backup', db], { ONEDOOR_DB: db });
  assert.equal(itself.code, 1);
  assert.match(itself.stderr, /live\.db is the database itself: write the backup to another file/);
  await writeFile(path.join(dir, 'notes.txt'), 'not a database, and longer than a header of one hundred bytes or so'.repeat(4));
  const other = await onedoor(['backup', path.join(dir, 'notes.txt')], { ONEDOOR_DB: db });
  assert.equal(other.code, 1);
  assert.match(other.stderr, /notes\.txt is a file that is not a SQLite database: give the backup a new file name/);
  assert.match(await readFile(path.join(dir, 'notes.txt'), 'utf8'), /^not a database/);
});

test('demo-data names what is wrong with its arguments', async () => {
  for (const args of [['demo-data', '--people'], ['demo-data', '--people', '12x'], ['demo-data', '--people', '-1']]) {
    const r = await onedoor(args, { ONEDOOR_DB: path.join(dir, 'demo-args.db') });
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /--people must be a number from 0 to 100000/);
  }
  const other = await onedoor(['demo-data', '--persons', '5'], { ONEDOOR_DB: path.join(dir, 'demo-args.db') });
  assert.equal(other.code, 2);
  assert.match(other.stderr, /'demo-data' was given arguments it does not take; its usage:\n  demo-data/);
  assert.ok(!existsSync(path.join(dir, 'demo-args.db')));
});

test('rules check on a folder without programs fails instead of checking nothing', async () => {
  await mkdir(path.join(dir, 'empty-rules'), { recursive: true });
  const r = await onedoor(['rules', 'check', '--rules', path.join(dir, 'empty-rules')]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /empty-rules: no programs in these rules: check the folders/);
});

test('a program whose agency no agency of the deployment has is named when the rules are loaded', async () => {
  const db = path.join(dir, 'agencies.db');
  assert.equal((await onedoor(['migrate'], { ONEDOOR_DB: db })).code, 0);
  assert.equal((await onedoor(['demo-data', '--people', '0'], { ONEDOOR_DB: db })).code, 0);
  const rules = path.join(dir, 'misspelt-rules');
  await mkdir(rules, { recursive: true });
  const us = path.join(repoRoot, 'rules', 'us');
  await writeFile(path.join(rules, 'inputs.yaml'), await readFile(path.join(repoRoot, 'rules', 'inputs.yaml'), 'utf8'));
  await mkdir(path.join(rules, 'parameters'));
  for (const f of await readdir(path.join(us, 'parameters'))) {
    await writeFile(path.join(rules, 'parameters', f), await readFile(path.join(us, 'parameters', f), 'utf8'));
  }
  for (const f of (await readdir(us)).filter((n) => n.endsWith('.yaml'))) {
    const text = await readFile(path.join(us, f), 'utf8');
    await writeFile(path.join(rules, f), f === 'snap.yaml' ? text.replace('agency: state-benefits', 'agency: state-benefit') : text);
  }
  // The server says it as it starts (the demo's programs beside, for the life events).
  const dirs = `${rules}:${path.join(repoRoot, 'rules', 'demo')}`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ONEDOOR_')));
  const server = spawn(path.resolve(binary), ['serve'], {
    cwd: repoRoot,
    env: { ...clean, ONEDOOR_DB: db, ONEDOOR_RULES_DIRS: dirs, ONEDOOR_LOG_LEVEL: 'warn', ONEDOOR_LISTEN: '127.0.0.1:0' },
  });
  let stderr = '';
  server.stderr.on('data', (d) => { stderr += d; });
  const printed = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${stderr}`)), 30_000);
    server.stdout.on('data', (d) => { if (/running at/.test(String(d))) { clearTimeout(timer); resolve(String(d)); } });
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the server stopped (${code}): ${stderr}`)); });
  });
  server.removeAllListeners('exit');
  // Port 0 in listen: the server prints the port the system gave it, and answers there.
  const url = /onedoor is running at (http:\/\/127\.0\.0\.1:(\d+))\//.exec(printed);
  assert.ok(url && Number(url[2]) > 0, printed);
  assert.equal((await fetch(`${url[1]}/healthz`)).status, 200);
  const stopped = new Promise((resolve) => server.on('exit', resolve));
  server.kill('SIGTERM');
  await stopped;
  assert.match(stderr, /program snap names agency 'state-benefit', which no agency of this deployment has/);
  assert.doesNotMatch(stderr, /program wic names agency/, 'the others are the codes of agencies');
  // The other commands do not repeat the rules' warnings (an operator's cron job would mail them).
  const token = await onedoor(['token', 'create', '--agency', 'city-social', '--name', 'cron', '--roles', 'caseworker',
    '--scopes', 'persons:read'], { ONEDOOR_DB: db, ONEDOOR_RULES_DIRS: dirs, ONEDOOR_LOG_LEVEL: 'warn' });
  assert.equal(token.code, 0, token.stderr);
  assert.doesNotMatch(token.stderr, /rules\.warning/);
});

test('audit verify checks a database as it is: an older one is not upgraded, an empty file is no database', async () => {
  const db = path.join(dir, 'verify.db');
  assert.equal((await onedoor(['migrate'], { ONEDOOR_DB: db })).code, 0);
  // A backup made by the build before the last migration.
  const older = path.join(dir, 'older.db');
  await writeFile(older, await readFile(db));
  const latest = Number((await onedoor(['migrate', '--check'], { ONEDOOR_DB: db })).stdout.match(/this onedoor's is (\d+)/)[1]);
  await new Promise((resolve, reject) => execFile('sqlite3', [older, `DELETE FROM schema_migrations WHERE version = ${latest}`],
    (e) => (e ? reject(e) : resolve())));
  const before = await readFile(older);
  const check = await onedoor(['migrate', '--check'], { ONEDOOR_DB: older });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, new RegExp(`is at schema version ${latest - 1}; this onedoor's is ${latest}: onedoor migrate would apply 1 migration`));
  const verified = await onedoor(['audit', 'verify'], { ONEDOOR_DB: older });
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, new RegExp(`at schema version ${latest - 1} \\(this onedoor's is ${latest}\\): checked as it is, not upgraded`));
  assert.match(verified.stdout, /audit log verified/);
  assert.ok((await readFile(older)).equals(before), 'the file is unchanged');

  await writeFile(path.join(dir, 'empty.db'), '');
  const empty = await onedoor(['audit', 'verify'], { ONEDOOR_DB: path.join(dir, 'empty.db') });
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /empty\.db is empty: it is not an onedoor database/);
  assert.equal((await readFile(path.join(dir, 'empty.db'))).length, 0, 'and it stays empty');
  await writeFile(path.join(dir, 'text.db'), 'not a database at all, but long enough to look like a file with a header');
  const text = await onedoor(['audit', 'verify'], { ONEDOOR_DB: path.join(dir, 'text.db') });
  assert.equal(text.code, 1);
  assert.match(text.stderr, /text\.db: /, 'the file is named');
  // A mistyped command is a usage error (2), not a broken log (1).
  assert.equal((await onedoor(['audit', 'verify', 'extra'], { ONEDOOR_DB: db })).code, 2);
});

test('tokens are listed and revoked from the command line, and a mistyped option is refused', async () => {
  const db = path.join(dir, 'tokens.db');
  assert.equal((await onedoor(['migrate'], { ONEDOOR_DB: db })).code, 0);
  assert.equal((await onedoor(['demo-data', '--people', '0'], { ONEDOOR_DB: db })).code, 0);
  const create = (...more) => onedoor(['token', 'create', '--agency', 'city-social', '--name', 'sync', '--roles', 'caseworker',
    '--scopes', 'persons:read', ...more], { ONEDOOR_DB: db });
  const typo = await create('--expires', '30');
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /'token create' does not take --expires; its usage:\n {2}token create/);
  const days = await create('--days', '30x');
  assert.equal(days.code, 2);
  assert.match(days.stderr, /--days must be a whole number of days from 1 to 730/);
  assert.equal(Number(await sqlite(db, 'SELECT count(*) FROM api_tokens')), 0, 'nothing was issued');
  const made = await create('--days', '30');
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /^od_\S+\n$/, 'the secret alone on standard output');
  const id = Number(/token (\d+) \(sync\) for city-social, valid until \d{4}-\d\d-\d\d/.exec(made.stderr)[1]);
  const list = await onedoor(['token', 'list', '--agency', 'city-social'], { ONEDOOR_DB: db });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`^${id}\\s+city-social\\s+sync\\s+active\\s+`, 'm'));
  assert.doesNotMatch(list.stdout, /od_/, 'never a secret');
  const revoked = await onedoor(['token', 'revoke', '--id', String(id)], { ONEDOOR_DB: db });
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, new RegExp(`token ${id} revoked`));
  assert.match((await onedoor(['token', 'list'], { ONEDOOR_DB: db })).stdout, new RegExp(`^${id}\\s+city-social\\s+sync\\s+revoked`, 'm'));
  assert.match((await onedoor(['token', 'revoke', '--id', '999'], { ONEDOOR_DB: db })).stderr, /no API token has id 999/);
  // An option given twice is refused, not half done (one token revoked, the other left working).
  const twice = await onedoor(['token', 'revoke', '--id', String(id), '--id', '1'], { ONEDOOR_DB: db });
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /--id is given twice: give it once/);
  const user = await onedoor(['user', 'create', '--agency', 'city-social', '--username', 'new.user', '--nmae', 'New User',
    '--roles', 'caseworker'], { ONEDOOR_DB: db, ONEDOOR_PASSWORD: 'a long enough passphrase 7' });
  assert.equal(user.code, 2);
  assert.match(user.stderr, /'user create' does not take --nmae/);
});

test('a backup names the file at fault and is readable by its owner only', async () => {
  const db = path.join(dir, 'backed.db');
  assert.equal((await onedoor(['migrate'], { ONEDOOR_DB: db })).code, 0);
  // The database itself, made by migrate, is its owner's only.
  assert.equal((await stat(db)).mode & 0o777, 0o600);
  const copy = path.join(dir, 'backed-copy.db');
  assert.equal((await onedoor(['backup', copy], { ONEDOOR_DB: db })).code, 0);
  assert.equal((await stat(copy)).mode & 0o777, 0o600);
  // The nightly copy over an earlier one left readable by others is made its owner's only too.
  await chmod(copy, 0o644);
  assert.equal((await onedoor(['backup', copy], { ONEDOOR_DB: db })).code, 0);
  assert.equal((await stat(copy)).mode & 0o777, 0o600);
  await writeFile(path.join(dir, 'notdb.db'), 'this is a text file, not a database, and long enough to have a header');
  const bad = await onedoor(['backup', path.join(dir, 'x.db')], { ONEDOOR_DB: path.join(dir, 'notdb.db') });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /the database .*notdb\.db is a file that is not a SQLite database/);
  assert.ok(!existsSync(path.join(dir, 'x.db')));
  await mkdir(path.join(dir, 'backups'), { recursive: true });
  const folder = await onedoor(['backup', path.join(dir, 'backups')], { ONEDOOR_DB: db });
  assert.match(folder.stderr, /backups is a folder: give the backup a file name inside it/);
});

test('a screening run that fails leaves the output file that was there', async () => {
  await writeFile(path.join(dir, 'results.csv'), 'last month\n');
  await writeFile(path.join(dir, 'bad.csv'), 'id,household_size,earned_income\n1,2,100\n2,two,100\n');
  const r = await onedoor(['rules', 'screen', '--as-of', '2025-11-01', '--csv', 'bad.csv', '--out', 'results.csv']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /bad\.csv:3/);
  assert.equal(await readFile(path.join(dir, 'results.csv'), 'utf8'), 'last month\n');
  assert.ok(!existsSync(path.join(dir, 'results.csv.partial')));
  await writeFile(path.join(dir, 'good.csv'), 'id,household_size,earned_income\n1,2,100\n');
  const ok = await onedoor(['rules', 'screen', '--as-of', '2025-11-01', '--csv', 'good.csv', '--out', 'results.csv']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.notEqual(await readFile(path.join(dir, 'results.csv'), 'utf8'), 'last month\n');
});
