// Sealing the audit log, through the binary: a key pair made with `onedoor audit keygen` (the
// secret readable by its owner only, never overwritten), the server sealing at start with it,
// the seals exported with `onedoor audit seals`, and `onedoor audit verify` passing on the
// untouched log and naming each kind of tampering on a copy: an entry modified, deleted or
// reordered (the chains), the newest entries cut off (the seal), a seal changed, seals deleted
// (the exported copy), and a seal made with a key no one trusts.
//
//   ONEDOOR_BIN=build/dev/onedoor node --test tests/http/audit_seal.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { binary, onedoorEnv, prepareDatabase, serve, sleep, sql } from './helpers.mjs';

const T = { timeout: 120_000 };
const execFileP = promisify(execFile);

let dir;
let db;
let keyFile;
let verifyFile;
let exported;

// Runs onedoor on `database`; resolves {code, stdout, stderr} whatever the exit code.
async function onedoor(database, args, env = {}) {
  try {
    const { stdout, stderr } = await execFileP(binary, args, {
      env: { ...process.env, ...onedoorEnv(database, env) }, timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (typeof e.code !== 'number') throw e;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const keys = () => ({ ONEDOOR_AUDIT_VERIFY_KEYS: verifyFile });

// A copy of the sealed database with `tamper` (SQL) applied; the verify run's answer on it.
async function tampered(name, tamper, { env = keys(), args = [] } = {}) {
  const copy = path.join(dir, `${name}.db`);
  await copyFile(db, copy);
  await execFileP('sqlite3', [copy, tamper]);
  return onedoor(copy, ['audit', 'verify', ...args], env);
}

before(async () => {
  ({ dir, db } = await prepareDatabase({ people: 5, prefix: 'onedoor-seal-' }));
  keyFile = path.join(dir, 'audit-signing.key');
  verifyFile = path.join(dir, 'audit-verify.keys');
  exported = path.join(dir, 'seals.jsonl');
});

test('a key pair is made once, the server seals with it, and the untouched log verifies', T, async () => {
  const none = await onedoor(db, ['audit', 'verify']);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /no seals yet/);

  const made = await onedoor(db, ['audit', 'keygen', '2026-12', keyFile]);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /^2026-12 [A-Za-z0-9+/]{43}=\n$/);
  assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
  await writeFile(verifyFile, `# the keys onedoor's audit seals may be signed with\n${made.stdout}`);
  const again = await onedoor(db, ['audit', 'keygen', '2026-12', keyFile]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already exists: keys are never overwritten/);

  const server = await serve(db, { env: { ONEDOOR_AUDIT_SIGNING_KEY: keyFile }, logDir: dir });
  try {
    for (let i = 0; i < 100 && Number(await sql(db, 'SELECT count(*) FROM audit_seals')) === 0; i++) await sleep(100);
  } finally {
    await server.stop();
  }
  assert.equal(await sql(db, 'SELECT count(*) FROM audit_seals'), '1');

  // A seal by hand, then both exported.
  const sealed = await onedoor(db, ['audit', 'seal'], { ONEDOOR_AUDIT_SIGNING_KEY: keyFile });
  assert.equal(sealed.code, 0, sealed.stderr);
  assert.match(sealed.stdout, /audit log sealed: seal 2, \d+ entries on 1 chain, key 2026-12/);
  const seals = await onedoor(db, ['audit', 'seals']);
  assert.equal(seals.stdout.trim().split('\n').length, 2);
  await writeFile(exported, seals.stdout);

  const ok = await onedoor(db, ['audit', 'verify', '--seals', exported], keys());
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /audit log verified: \d+ entries on 1 chain, every chain intact/);
  assert.match(ok.stdout, /audit seals verified: 2 seals, every signature holds and the log holds what each sealed, and the exported seals are all there/);
  // Without a key to check them with, the seals are said to be unchecked.
  const unchecked = await onedoor(db, ['audit', 'verify']);
  assert.equal(unchecked.code, 1);
  assert.match(unchecked.stdout, /audit seals NOT CHECKED: 2 seals and no key/);
});

test('each kind of tampering is named', T, async () => {
  const last = Number(await sql(db, 'SELECT max(seq) FROM audit_log'));
  const cases = [
    ['modified', "UPDATE audit_log SET reason = 'nothing' WHERE seq = 5", /audit log BROKEN at entry 5: entry 5 was modified/],
    ['deleted', 'DELETE FROM audit_log WHERE seq = 7', /audit log BROKEN at entry 7: entry 7 is missing/],
    ['reordered', `UPDATE audit_log SET seq = -1 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 4;
                   UPDATE audit_log SET seq = 4 WHERE seq = -1`, /audit log BROKEN at entry 3/],
    ['truncated', `DELETE FROM audit_log WHERE seq > ${last - 3}`,
      new RegExp(`audit seals BROKEN: seal 1 \\(.+ UTC\\): entry ${last} on chain 0 is missing: the log was cut short`)],
    ['seal-changed', "UPDATE audit_seals SET sealed_at = sealed_at + 1 WHERE id = 2", /audit seals BROKEN: seal 2 .*its signature does not hold/],
  ];
  for (const [name, tamper, expected] of cases) {
    const r = await tampered(name, tamper);
    assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, expected, name);
  }
  const deleted = await tampered('seals-deleted', `DELETE FROM audit_log WHERE seq > ${last - 3}; DELETE FROM audit_seals`,
    { args: ['--seals', exported] });
  assert.equal(deleted.code, 1);
  assert.match(deleted.stdout, /seal 1 \(.+\) of the exported seals is not among the log's seals: seals were deleted/);

  // Someone else's key: a verification keys file that does not list the one that signed.
  const otherKeys = path.join(dir, 'other.keys');
  const other = await onedoor(db, ['audit', 'keygen', 'other', path.join(dir, 'other.key')]);
  await writeFile(otherKeys, other.stdout);
  const unknown = await tampered('unknown-key', 'SELECT 1', { env: { ONEDOOR_AUDIT_VERIFY_KEYS: otherKeys } });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stdout, /audit seals BROKEN: seal 1 .*signed with the unknown key 2026-12/);
});
