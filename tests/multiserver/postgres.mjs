// A throwaway PostgreSQL 15 cluster for node tests, the same way as the C++ helper
// (tests/testing/postgres_cluster.cc): initdb into a temporary directory with trust
// authentication and superuser "onedoor", a server listening only on 127.0.0.1 at a free
// port with its unix socket inside the directory. PostgreSQL refuses to run as root, so
// as root the cluster belongs to the `postgres` system user (or `nobody`) via runuser.

import { execFile } from 'node:child_process';
import { access, chmod, chown, constants, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { freePort, makeTempDir } from '../browser/lib.mjs';

const run = promisify(execFile);

export const kPgBindir = process.env.ONEDOOR_PG_BINDIR || '/usr/lib/postgresql/15/bin';
const kUser = 'onedoor';
const kReadyTimeoutSeconds = 20;

const isExecutable = (p) => access(p, constants.X_OK).then(() => true, () => false);

async function tail(file, max = 3000) {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.length > max ? `...${text.slice(-max)}` : text;
}

// {name, uid, gid} of the first of `names` that exists.
async function systemUser(names) {
  for (const name of names) {
    try {
      const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
      return { name, uid: Number(uid.stdout), gid: Number(gid.stdout) };
    } catch { /* try the next one */ }
  }
  return null;
}

// The unprivileged user that root hands daemons to (postgres, else nobody); null when not root.
export async function unprivilegedUser() {
  if (process.geteuid() !== 0) return null;
  const user = await systemUser(['postgres', 'nobody']);
  if (!user) throw new Error('running as root, and neither user postgres nor nobody exists');
  const group = await run('id', ['-gn', user.name]);
  return { ...user, group: group.stdout.trim() };
}

// Starts a cluster and creates database `database`. Returns {url, port, dir, psql, stop}:
// url is postgres://onedoor@127.0.0.1:PORT/DATABASE; psql(sql) runs one statement and
// returns its unaligned, tuples-only output, trimmed; stop() stops the server and removes
// the directory (safe to call more than once, and after a failed start).
export async function startPostgres({ database = 'onedoor' } = {}) {
  for (const tool of ['initdb', 'pg_ctl', 'postgres', 'psql']) {
    if (!(await isExecutable(path.join(kPgBindir, tool)))) {
      throw new Error(`PostgreSQL 15 is needed for this test but ${path.join(kPgBindir, tool)} was not found; `
        + "install the Debian package 'postgresql' (scripts/install-deps.sh), or set ONEDOOR_PG_BINDIR");
    }
  }
  const dir = await makeTempDir('onedoor-pg-');
  const data = path.join(dir, 'data');
  const sockets = path.join(dir, 'sockets');
  const serverLog = path.join(dir, 'server.log');
  const user = await unprivilegedUser();
  if (user) await chown(dir, user.uid, user.gid);
  await chmod(dir, 0o700);

  const asUser = (argv, options = {}) => {
    const [file, ...args] = user ? ['runuser', '-u', user.name, '--', ...argv] : argv;
    return run(file, args, { cwd: dir, timeout: 60_000, ...options });
  };
  const pgCtl = (...args) => asUser([path.join(kPgBindir, 'pg_ctl'), '-D', data, ...args]);

  let port = 0;
  let running = false;
  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    // Immediate: nothing in a throwaway cluster needs a clean checkpoint.
    if (running) await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => {});
    running = false;
    await rm(dir, { recursive: true, force: true });
  }

  try {
    // --no-sync only skips flushing the fresh cluster; the server itself runs with fsync on.
    await asUser([path.join(kPgBindir, 'initdb'), '-D', data, '-A', 'trust', '-U', kUser, '-E', 'UTF8',
      '--locale=C', '--no-sync']).catch((e) => { throw new Error(`initdb failed:\n${e.stdout}${e.stderr}`); });
    await asUser(['mkdir', '-p', sockets]);

    // The port is free when chosen but could be taken before the server binds it: try again.
    let why = '';
    for (let attempt = 0; attempt < 3 && !running; ++attempt) {
      port = await freePort();
      const options = `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c fsync=on`;
      try {
        await pgCtl('-l', serverLog, '-o', options, '-w', '-t', String(kReadyTimeoutSeconds), 'start');
        running = true;
      } catch (e) {
        why = `${e.stdout ?? ''}${e.stderr ?? ''}`;
        // pg_ctl may give up while the server is still starting.
        await pgCtl('-m', 'immediate', 'stop').catch(() => {});
      }
    }
    if (!running) throw new Error(`the PostgreSQL test server did not start:\n${why}\n${await tail(serverLog)}`);

    const psqlAt = async (db, sql) => {
      const { stdout } = await run(path.join(kPgBindir, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
        '-h', '127.0.0.1', '-p', String(port), '-U', kUser, '-d', db, '-c', sql], { timeout: 15_000 });
      return stdout.trim();
    };
    await psqlAt('postgres', `CREATE DATABASE ${database}`);
    return {
      url: `postgres://${kUser}@127.0.0.1:${port}/${database}`,
      port,
      dir,
      psql: (sql) => psqlAt(database, sql),
      serverLog: () => tail(serverLog),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
