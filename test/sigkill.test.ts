/**
 * SIGKILL of the lifeboat process at several points of a backup: `list` shows only complete
 * backups afterwards, and the next backup succeeds and verifies.
 */
import assert from 'node:assert/strict';
import { cp, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { createBigTable, storageContents, waitFor } from './helpers/scenarios.js';

/** A pg_dump or pg_dumpall that process `pid` started and that is running now. */
async function dumpChildOf(pid: number): Promise<string | undefined> {
  for (const name of await readdir('/proc')) {
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid …"
    const m = /^\d+ \((pg_dump|pg_dumpall)\) [RSD] (\d+) /.exec(stat);
    if (m && Number(m[2]) === pid) return m[1];
  }
  return undefined;
}

describe('SIGKILL during a backup', async () => {
  const pg = await withCluster({ after }, { name: 'sigkill' });
  await pg.psql('create database big');
  await pg.psql('create database small');
  await pg.psql('create table t (x int); insert into t values (1), (2);', { database: 'small' });
  await createBigTable(pg, 'big');

  const points: Array<[string, (storage: string, pid: number) => Promise<unknown>]> = [
    [
      'as the first dump starts',
      (_s, pid) => waitFor('lifeboat to start pg_dump or pg_dumpall', () => dumpChildOf(pid)),
    ],
    [
      'while the first artifact streams',
      (s) => waitFor('a temp file', async () => (await storageContents(s)).temp.length > 0),
    ],
    [
      'after an artifact is committed, before the manifest',
      (s) =>
        waitFor('globals committed and big streaming', async () => {
          const c = await storageContents(s);
          return c.artifacts.some((f) => path.basename(f) === 'globals.sql.sha256') && c.temp.length > 0;
        }),
    ],
  ];

  const backupTo = (storage: string) => [
    'backup',
    '--source',
    pg.url(),
    '--databases',
    'all',
    '--to',
    storage,
    '--job',
    'k',
    '--compression',
    'none',
  ];
  // One complete backup, made once: each test starts from its own copy of this storage.
  const goodStorage = await tempDir({ after });
  const good = await lifeboat([...backupTo(goodStorage), '--json']);
  assert.equal(good.code, 0, good.stderr);
  const goodId = (JSON.parse(good.stdout) as Array<{ id: string }>)[0]!.id;

  for (const [name, reach] of points) {
    test(name, async (t) => {
      const storage = await tempDir(t);
      await cp(goodStorage, storage, { recursive: true, preserveTimestamps: true });
      const args = backupTo(storage);

      const before = await storageContents(storage);
      const run = startLifeboat(args);
      await reach(storage, run.child.pid!);
      run.child.kill('SIGKILL');
      const killed = await run.done;
      assert.equal(killed.signal, 'SIGKILL');
      assert.deepEqual((await storageContents(storage)).manifests, before.manifests, 'no manifest added');

      const list = await lifeboat(['list', '--from', storage, '--json']);
      assert.equal(list.code, 0, list.stderr);
      const ids = (JSON.parse(list.stdout) as { backups: Array<{ id: string }> }).backups.map((b) => b.id);
      assert.deepEqual(ids, [goodId], 'only the complete backup is listed');

      // Often the same second as the killed run: its leftovers must not block the next id.
      const next = await lifeboat([...args, '--json']);
      assert.equal(next.code, 0, next.stderr);
      const verify = await lifeboat(['verify', '--all', '--from', storage]);
      assert.equal(verify.code, 0, verify.stderr);
      const after = await lifeboat(['list', '--from', storage, '--json']);
      assert.equal((JSON.parse(after.stdout) as { backups: unknown[] }).backups.length, 2);
    });
  }

  test('SIGTERM stops a backup cleanly: exit 1, nothing committed, no temp file', async (t) => {
    const storage = await tempDir(t);
    const run = startLifeboat([
      'backup',
      '--source',
      pg.url('big'),
      '--to',
      storage,
      '--compression',
      'none',
    ]);
    await waitFor('a temp file', async () => (await storageContents(storage)).temp.length > 0);
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /SIGTERM: stopping/);
    assert.deepEqual((await storageContents(storage)).files, []);
  });
});
