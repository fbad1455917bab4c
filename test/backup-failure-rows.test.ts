/**
 * What a failed or half-failed backup leaves behind, storage by storage: a storage that could not
 * take an artifact gets no manifest while the healthy one commits; a run failing on its last
 * artifact removes the ones it already wrote; an artifact whose `.sha256` sidecar cannot be written
 * is removed (once, with the rest of what the run wrote there), so repeated runs on a full disk
 * leave nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test, type TestContext } from 'node:test';
import { runBackup } from '../src/core/backup.js';
import { createFilesSource } from '../src/sources/files/files-source.js';
import { filesSourceSchema } from '../src/sources/files/config.js';
import { createMemoryStorage } from '../src/storages/memory.js';
import type { Storage } from '../src/storages/storage.js';
import { withCluster } from './helpers/cluster.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { createBigTable, storageContents, writeConfig } from './helpers/scenarios.js';

const execFileAsync = promisify(execFile);

/** A small tmpfs mounted for the test, or undefined (test skipped) where mounting is not allowed. */
async function smallTmpfs(t: TestContext, options: string): Promise<string | undefined> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-full-'));
  // One hook, in order: unmount, then remove the mount point.
  t.after(async () => {
    await execFileAsync('umount', ['-l', dir]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  try {
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  } catch (err) {
    t.skip(`cannot mount a small tmpfs here: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
  return dir;
}

async function listed(storage: string): Promise<unknown[]> {
  const list = await lifeboat(['list', '--from', storage, '--json']);
  assert.equal(list.code, 0, list.stderr);
  return (JSON.parse(list.stdout) as { backups: unknown[] }).backups;
}

test('a storage that fails a sidecar: the healthy one commits, the other is cleaned once, key by key', async (t) => {
  const dir = await tempDir(t);
  const healthy = createMemoryStorage({ name: 'healthy' });
  const inner = createMemoryStorage({ name: 'sidecarless' });
  const deletes: string[] = [];
  const sidecarless: Storage = {
    ...inner,
    put: (key, body, opts) =>
      key.endsWith('.sha256')
        ? Promise.reject(new Error(`write ${key}: no space left on device`))
        : inner.put(key, body, opts),
    delete: (key, opts) => (deletes.push(key), inner.delete(key, opts)),
  };
  const source = createFilesSource(filesSourceSchema.parse({ type: 'files', paths: [dir] }));
  const { outcomes } = await runBackup({
    name: 'app',
    sources: [{ name: 'main', source }],
    storages: [healthy, sidecarless],
    compression: { type: 'none' },
  });
  assert.deepEqual(
    outcomes.map((o) => [o.storage, o.ok]),
    [
      ['healthy', true],
      ['sidecarless', false],
    ],
  );
  const artifact = deletes.find((k) => k.endsWith('.tar'));
  assert.ok(artifact, deletes.join(', '));
  assert.deepEqual(
    deletes.filter((k) => !k.startsWith('.lifeboat/')),
    [artifact, `${artifact}.sha256`],
    'the artifact and its sidecar, each deleted once',
  );
  const left: string[] = [];
  for await (const o of inner.list('')) left.push(o.key);
  assert.deepEqual(left, [], 'nothing left: no artifact, intent or lock');
});

describe('what a failed backup leaves in each storage', async () => {
  const cluster = await withCluster({ after }, { name: 'failure-rows' });
  await cluster.psql('create database app');
  // ~3.6 MB of dump: more than the 2 MB disk takes.
  await createBigTable(cluster, 'app', 60_000);
  // Sorts last among the databases of `databases: all`, and every connection to it fails.
  await cluster.psql('create database z_last');
  await cluster.psql(`alter database z_last set session_preload_libraries = 'lifeboat_no_such_library'`);

  test('one storage full: the healthy one commits, the full one gets no manifest, exit 1', async (t) => {
    const full = await smallTmpfs(t, 'size=2m');
    if (!full) return;
    const dir = await tempDir(t);
    const healthy = path.join(dir, 'healthy');
    const config = await writeConfig(
      dir,
      `storages:\n  full: { type: local, path: ${JSON.stringify(full)} }\n` +
        `  healthy: { type: local, path: ${JSON.stringify(healthy)} }\n` +
        `jobs:\n  app:\n    source: { type: postgres, url: "${cluster.url('app')}" }\n` +
        `    compression: { type: none }\n    storages: [full, healthy]\n`,
    );
    const r = await lifeboat(['--config', config, 'backup']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no space left on device/);
    assert.equal((await listed(healthy)).length, 1, 'the healthy storage holds the backup');
    assert.equal((await storageContents(healthy)).artifacts.length, 2, 'artifact and sidecar');
    assert.deepEqual(await listed(full), [], 'the full storage lists no backup');
    assert.deepEqual((await storageContents(full)).files, [], 'no manifest, artifact or temp file');
  });

  test('failing on the last of several artifacts removes the ones already written', async (t) => {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'b');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${JSON.stringify(storage)} }\n` +
        `jobs:\n  app:\n    source: { type: postgres, url: "${cluster.url()}", databases: all }\n` +
        `    compression: { type: none }\n    storages: [disk]\n`,
    );
    // globals, app and postgres are written first; z_last's pg_dump cannot connect.
    const r = await lifeboat(['--config', config, 'backup']);
    // 3: a database the source cannot connect to counts as unreachable.
    assert.equal(r.code, 3, r.stderr);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /z_last/);
    assert.deepEqual(await listed(storage), []);
    assert.deepEqual(
      (await storageContents(storage)).files,
      [],
      'no artifact, sidecar, manifest or temp file',
    );
  });

  test('a sidecar that cannot be written takes its artifact with it, run after run', async (t) => {
    // An inode limit that admits the job lock, the folders of the layout and the artifact but not
    // its sidecar: raised one at a time from too few, each failed run leaving nothing behind.
    let inodes = 6;
    const full = await smallTmpfs(t, `size=2m,nr_inodes=${inodes}`);
    if (!full) return;
    const args = ['backup', '--source', cluster.url('postgres'), '--to', full, '--compression', 'none'];
    let sidecarRuns = 0;
    while (sidecarRuns < 2) {
      const r = await lifeboat(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /no space left on device/);
      assert.deepEqual((await storageContents(full)).files, [], `nothing left (nr_inodes=${inodes})`);
      if (/write postgres\/\S*\/postgres\.sql\.sha256 to /.test(r.stderr)) sidecarRuns++;
      else {
        assert.equal(sidecarRuns, 0, r.stderr);
        assert.ok(inodes < 30, `no inode limit up to ${inodes} stops the sidecar only`);
        inodes++;
        await execFileAsync('mount', ['-o', `remount,nr_inodes=${inodes}`, full]);
      }
    }
  });
});
