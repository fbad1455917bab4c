/** A flipped byte or a truncated artifact: verify and restore exit 4 and name the object; nothing is restored. */
import assert from 'node:assert/strict';
import { open, truncate, stat, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { loadRealisticFixture } from './fixtures/realistic.js';

describe('integrity', async () => {
  const source = await withCluster({ after }, { name: 'integrity' });
  await loadRealisticFixture(source);
  const target = await withCluster({ after }, { name: 'integrity-target' });

  async function backup(t: { after(fn: () => unknown): void }) {
    const dir = await tempDir(t);
    const r = await lifeboat([
      'backup',
      '--source',
      source.url(),
      '--databases',
      'all',
      '--to',
      dir,
      '--job',
      'pg',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [res] = JSON.parse(r.stdout) as Array<{ id: string; artifacts: Array<{ key: string }> }>;
    const key = res!.artifacts.find((a) => a.key.includes('/app.sql'))!.key;
    return { dir, id: res!.id, key, file: path.join(dir, key) };
  }

  async function expectIntegrityFailure(dir: string, key: string) {
    const verify = await lifeboat(['verify', 'latest', '--from', dir]);
    assert.equal(verify.code, 4, verify.stderr);
    assert.match(verify.stderr, new RegExp(`sha256 mismatch: ${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    const restore = await lifeboat(['restore', 'latest', '--from', dir, '--to', target.url(), '--create']);
    assert.equal(restore.code, 4, restore.stderr);
    assert.ok(restore.stderr.includes(`sha256 mismatch: ${key}`), restore.stderr);
    assert.doesNotMatch(restore.stderr, /restore OK/);
    // Checksums come first: nothing reached the target.
    const dbs = await target.psql(`select string_agg(datname, ',' order by datname) from pg_database`);
    assert.equal(dbs.trim(), 'postgres,template0,template1');
    const roles = await target.psql(`select count(*) from pg_roles where rolname = 'app_owner'`);
    assert.equal(roles.trim(), '0');
  }

  test('a flipped byte', async (t) => {
    const { dir, key, file } = await backup(t);
    const size = (await stat(file)).size;
    const fh = await open(file, 'r+');
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, Math.floor(size / 2));
    buf[0] = buf[0]! ^ 0x01;
    await fh.write(buf, 0, 1, Math.floor(size / 2));
    await fh.close();
    await expectIntegrityFailure(dir, key);
  });

  test('a truncated artifact', async (t) => {
    const { dir, key, file } = await backup(t);
    await truncate(file, Math.floor((await stat(file)).size / 2));
    await expectIntegrityFailure(dir, key);
  });

  test('a missing artifact', async (t) => {
    const { dir, key, file } = await backup(t);
    await rm(file);
    const verify = await lifeboat(['verify', '--all', '--from', dir]);
    assert.equal(verify.code, 4);
    assert.ok(verify.stderr.includes(`missing: ${key}`), verify.stderr);
  });

  test('an intact backup verifies', async (t) => {
    const { dir } = await backup(t);
    const verify = await lifeboat(['verify', '--all', '--from', dir, '--json']);
    assert.equal(verify.code, 0, verify.stderr);
    const out = JSON.parse(verify.stdout) as { backups: Array<{ ok: boolean }> };
    assert.deepEqual(
      out.backups.map((b) => b.ok),
      [true],
    );
  });
});
