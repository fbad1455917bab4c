/**
 * Signed manifests (SPEC §6, issue 12 item 4) with the real CLI, real clusters and the real
 * `minisign`: a signed backup verifies, restores and drills, and minisign checks it by hand; a
 * backup rewritten behind Lifeboat's back (a `CREATE TABLE pwned` dump with its sidecar and the
 * manifest's size and sha256 updated) passes every checksum but fails verify, restore and drill
 * with exit 4 and `signature FAILED` once signing is configured, as does an unsigned manifest;
 * prune removes a signature with its manifest, and a leftover one after the grace period.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { replaceWithValidGarbage } from './helpers/drill.js';
import { exists, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

type HasAfter = { after(fn: () => unknown): void };

describe('signed manifests', async () => {
  const source = await withCluster({ after }, { name: 'signing-source' });
  await source.psql('create database app');
  await source.psql('create table t (x int); insert into t select generate_series(1, 20);', {
    database: 'app',
  });
  const target = await withCluster({ after }, { name: 'signing-target' });

  const keysDir = await tempDir({ after }, 'lifeboat-signing-keys-');
  const keygen = await lifeboat(['keygen', '--out', keysDir, '--json']);
  assert.equal(keygen.code, 0, keygen.stderr);
  const secretFile = path.join(keysDir, 'lifeboat-signing.key');
  const publicFile = path.join(keysDir, 'lifeboat-signing.pub');
  const secretText = await readFile(secretFile, 'utf8');
  const env = { LIFEBOAT_SIGNING_KEY: secretText };

  /** A storage and three configs over it: signing by ${VAR}, checking by public key only, and none. */
  async function setup(t: HasAfter, extra = '') {
    const dir = await tempDir(t, 'lifeboat-signing-test-');
    const storage = path.join(dir, 'storage');
    const base = `storages:\n  disk: { type: local, path: ${storage} }\njobs:\n  pg:\n    source: { type: postgres, url: "${source.url()}", databases: [app] }\n    storages: [disk]\n${extra}`;
    const signed = await writeConfig(dir, `${base}signing: { key: "\${LIFEBOAT_SIGNING_KEY}" }\n`);
    const checking = path.join(dir, 'checking.yaml');
    await writeFile(checking, `${base}signing: { publicKey: ${publicFile} }\n`);
    const plain = path.join(dir, 'plain.yaml');
    await writeFile(plain, base);
    return { storage, signed, checking, plain };
  }

  async function backup(config: string) {
    const r = await lifeboat(['--config', config, 'backup', 'pg', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const [res] = JSON.parse(r.stdout) as Array<{ id: string; artifacts: Array<{ key: string }> }>;
    return { id: res!.id, key: res!.artifacts.find((a) => a.key.includes('/app.sql'))!.key };
  }

  const targetDatabases = async () =>
    (await target.psql(`select string_agg(datname, ',' order by datname) from pg_database`)).trim();

  /** verify, restore and drill all refuse the backup with exit 4 and `signature FAILED`. */
  async function expectRefused(config: string, why: RegExp) {
    const verify = await lifeboat(['--config', config, 'verify', 'latest'], { env });
    assert.equal(verify.code, 4, verify.stderr);
    assert.match(verify.stderr, /signature FAILED/);
    assert.match(verify.stderr, why);
    const restore = await lifeboat(
      ['--config', config, 'restore', 'latest', '--to', target.url(), '--create'],
      { env },
    );
    assert.equal(restore.code, 4, restore.stderr);
    assert.match(restore.stderr, /^error: check signature of \.lifeboat\/pg\/.*signature FAILED/m);
    assert.equal(await targetDatabases(), 'postgres,template0,template1', 'nothing reached the target');
    const drill = await lifeboat(['--config', config, 'drill', 'pg'], { env });
    assert.equal(drill.code, 4, drill.stderr);
    assert.match(drill.stderr, /signature FAILED/);
    assert.doesNotMatch(drill.stderr, /restore OK/);
  }

  test('keygen: the secret key is 0600 and never printed; a second keygen refuses to overwrite', async (t) => {
    assert.equal((await stat(secretFile)).mode & 0o777, 0o600);
    assert.equal((await stat(publicFile)).mode & 0o777, 0o644);
    const line = secretText.split('\n')[1]!;
    assert.ok(line.length > 150 && !keygen.stdout.includes(line) && !keygen.stderr.includes(line));
    const out = JSON.parse(keygen.stdout) as { publicKey: string; keyId: string };
    assert.ok((await readFile(publicFile, 'utf8')).includes(out.publicKey));
    const again = await lifeboat(['keygen', '--out', keysDir]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /lifeboat-signing\.key: it already exists/);
    assert.equal(await readFile(secretFile, 'utf8'), secretText, 'the key pair is kept');
    const dir = await tempDir(t);
    const text = await lifeboat(['keygen', '--out', dir]);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(
      !text.stdout.includes((await readFile(path.join(dir, 'lifeboat-signing.key'), 'utf8')).split('\n')[1]!),
    );
  });

  test('a signed backup verifies, restores and drills; minisign checks it by hand', async (t) => {
    const { storage, signed, checking } = await setup(t);
    const { id } = await backup(signed);
    const catalog = path.join(storage, '.lifeboat', 'pg');
    assert.ok(await exists(path.join(catalog, `${id}.json.minisig`)));
    // The README's command, run where the manifest is.
    execFileSync('minisign', ['-Vm', `${id}.json`, '-p', publicFile], { cwd: catalog, stdio: 'pipe' });

    const verify = await lifeboat(['--config', signed, 'verify', 'latest'], { env });
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stderr, /sha256 OK \(\d+ artifact\(s\)\), signature OK/);
    const check = await lifeboat(['--config', checking, 'check']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(
      check.stderr,
      /ok {3}signing: manifests must be signed by key [0-9A-F]{16} \(signing\.publicKey only/,
    );
    // A machine that only restores holds the public key only.
    const restore = await lifeboat([
      '--config',
      checking,
      'restore',
      'latest',
      '--to',
      target.url(),
      '--create',
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, /signature OK/);
    assert.equal((await target.psql('select count(*) from t', { database: 'app' })).trim(), '20');
    await target.psql('drop database app');
    const drill = await lifeboat(['--config', checking, 'drill', 'pg']);
    assert.equal(drill.code, 0, drill.stderr);
    assert.match(drill.stderr, /signature OK[^]*sha256 OK[^]*restore OK/);
  });

  test('a rewritten backup passes its checksums but fails its signature', async (t) => {
    const { storage, signed, checking, plain } = await setup(t);
    const { id, key } = await backup(signed);
    await replaceWithValidGarbage(storage, 'pg', id, key, 'CREATE TABLE pwned (x int);\n');
    // Every checksum agrees: without signing, the rewrite passes (the hole signing closes).
    const unchecked = await lifeboat(['--config', plain, 'verify', 'latest']);
    assert.equal(unchecked.code, 0, unchecked.stderr);
    await expectRefused(signed, /the signature does not match the content/);
    await expectRefused(checking, /the signature does not match the content/);
    const byHand = spawnSync('minisign', ['-Vm', `${id}.json`, '-p', publicFile], {
      cwd: path.join(storage, '.lifeboat', 'pg'),
    });
    assert.equal(byHand.status, 1, 'minisign refuses it too');
  });

  test('an unsigned manifest is refused once signing is configured', async (t) => {
    const { signed, plain } = await setup(t);
    await backup(plain);
    await expectRefused(signed, /it is not signed \(no \.lifeboat\/pg\/.*\.json\.minisig\)/);
  });

  test('a key that cannot be read stops backup and verify with exit 2, never a silent unsigned run', async (t) => {
    const { storage, signed } = await setup(t);
    const missing = await lifeboat(['--config', signed, 'backup', 'pg'], {
      env: { LIFEBOAT_SIGNING_KEY: '' },
    });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /signing\.key: environment variable LIFEBOAT_SIGNING_KEY is not set/);
    const verify = await lifeboat(['--config', signed, 'verify', '--all'], {
      env: { LIFEBOAT_SIGNING_KEY: '' },
    });
    assert.equal(verify.code, 2, verify.stderr);
    assert.ok(!(await exists(path.join(storage, '.lifeboat'))), 'nothing was written');
    const check = await lifeboat(['--config', signed, 'check'], { env: { LIFEBOAT_SIGNING_KEY: '' } });
    assert.equal(check.code, 2, check.stderr);
    assert.match(
      check.stderr,
      /FAIL signing: signing\.key: environment variable LIFEBOAT_SIGNING_KEY is not set/,
    );
  });

  test('two copies, the first one badly signed: restore says so and reads the second', async (t) => {
    const dir = await tempDir(t, 'lifeboat-signing-test-');
    const [disk, spare] = [path.join(dir, 'disk'), path.join(dir, 'spare')];
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${disk} }\n  spare: { type: local, path: ${spare} }\n` +
        `jobs:\n  pg:\n    source: { type: postgres, url: "${source.url()}", databases: [app] }\n    storages: [disk, spare]\n` +
        `signing: { key: "\${LIFEBOAT_SIGNING_KEY}" }\n`,
    );
    const { id } = await backup(config);
    const manifestFile = path.join(disk, '.lifeboat', 'pg', `${id}.json`);
    await writeFile(manifestFile, JSON.stringify(JSON.parse(await readFile(manifestFile, 'utf8'))));
    const restore = await lifeboat(
      ['--config', config, 'restore', 'latest', '--to', target.url(), '--create'],
      { env },
    );
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(
      restore.stderr,
      new RegExp(
        `warn: restore pg ${id}: the copy in disk fails its signature check \\(.*signature FAILED: .*\\); reading from spare instead`,
      ),
    );
    assert.doesNotMatch(restore.stderr, /fails its checksum/);
    assert.equal((await target.psql('select count(*) from t', { database: 'app' })).trim(), '20');
    await target.psql('drop database app');
  });

  test('prune: a backup whose signature fails is not good, so the good one before it is kept', async (t) => {
    const { storage, signed } = await setup(t);
    const first = await backup(signed);
    await new Promise((r) => setTimeout(r, 1100)); // the next id is the next second
    const second = await backup(signed);
    // The newest manifest changed after it was signed (same content, other bytes): its checksums
    // all hold, only the signature tells.
    const manifestFile = path.join(storage, '.lifeboat', 'pg', `${second.id}.json`);
    await writeFile(manifestFile, JSON.stringify(JSON.parse(await readFile(manifestFile, 'utf8'))));
    const keepLast = path.join(path.dirname(signed), 'keep-last.yaml');
    await writeFile(
      keepLast,
      (await readFile(signed, 'utf8')).replace('signing:', '    retention: { keepLast: 1 }\nsigning:'),
    );
    const pruned = await lifeboat(['--config', keepLast, 'prune', 'pg'], { env });
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(
      pruned.stderr,
      new RegExp(
        `keep ${second.id} \\(not good: signature FAILED: .*the signature does not match the content.*; newer than the newest good backup\\)`,
      ),
    );
    assert.match(pruned.stderr, new RegExp(`keep ${first.id} \\(last 1\\)`));
    assert.ok(await exists(path.join(storage, '.lifeboat', 'pg', `${first.id}.json`)), pruned.stderr);
    const verify = await lifeboat(['--config', signed, 'verify', first.id], { env });
    assert.equal(verify.code, 0, verify.stderr);
  });

  test('prune removes a signature with its manifest, and a leftover one after the grace period', async (t) => {
    const { storage, signed } = await setup(t, '    retention: { keepLast: 1, minKeep: 1 }\n');
    const first = await backup(signed);
    await new Promise((r) => setTimeout(r, 1100)); // the next id is the next second
    const second = await backup(signed); // retention runs after it
    const catalog = path.join(storage, '.lifeboat', 'pg');
    assert.ok(!(await exists(path.join(catalog, `${first.id}.json`))));
    assert.ok(!(await exists(path.join(catalog, `${first.id}.json.minisig`))), 'the signature went with it');
    assert.ok(await exists(path.join(catalog, `${second.id}.json.minisig`)));
    // A signature whose manifest never came (a run killed between the two) and whose intent is gone.
    const leftover = path.join(catalog, '20200101T000000Z.json.minisig');
    await writeFile(leftover, await readFile(path.join(catalog, `${second.id}.json.minisig`)));
    const young = await lifeboat(['--config', signed, 'prune', 'pg'], { env });
    assert.equal(young.code, 0, young.stderr);
    assert.ok(await exists(leftover), 'kept within the grace period');
    const old = new Date(Date.now() - 3 * 24 * 3600 * 1000);
    await utimes(leftover, old, old);
    const pruned = await lifeboat(['--config', signed, 'prune', 'pg'], { env });
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.ok(!(await exists(leftover)), pruned.stderr);
    const verify = await lifeboat(['--config', signed, 'verify', '--all'], { env });
    assert.equal(verify.code, 0, verify.stderr);
  });
});
