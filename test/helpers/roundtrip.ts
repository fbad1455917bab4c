/**
 * Shared round-trip check: back up the realistic fixture with the real CLI, restore it into a fresh
 * cluster, and compare what pg_dump / pg_dumpall see on both sides.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LocalCluster } from '../../src/sources/postgres/local-cluster.js';
import { dumpForCompare, normalizeDump } from '../../src/sources/postgres/compare.js';
import { lifeboat } from './lifeboat.js';
import { withCluster, type HasAfterHook } from './cluster.js';
import { FIXTURE_DATABASES } from '../fixtures/realistic.js';

const execFileAsync = promisify(execFile);

export type Mode = 'database' | 'all' | 'dumpall';

export async function dumpall(cluster: LocalCluster, globalsOnly = false): Promise<string> {
  const { stdout } = await execFileAsync(
    path.join(cluster.binDir, 'pg_dumpall'),
    ['-w', `--dbname=${cluster.url()}`, ...(globalsOnly ? ['--globals-only'] : [])],
    { maxBuffer: 1 << 30 },
  );
  return normalizeDump(stdout);
}

export async function tempDir(t: HasAfterHook, prefix = 'lifeboat-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function roundTrip(
  t: HasAfterHook,
  source: LocalCluster,
  mode: Mode,
  format: 'plain' | 'custom',
  compression: 'zstd' | 'gzip' | 'none',
): Promise<void> {
  const dir = await tempDir(t);
  const job = `${mode}-${format}-${compression}`;
  const args =
    mode === 'database'
      ? ['--source', source.url('app')]
      : mode === 'all'
        ? ['--source', source.url(), '--databases', 'all']
        : ['--source', source.url(), '--dumpall'];
  const backup = await lifeboat([
    'backup',
    ...args,
    '--to',
    dir,
    '--job',
    job,
    '--compression',
    compression,
    ...(mode === 'dumpall' ? [] : ['--format', format]),
    '--json',
  ]);
  assert.equal(backup.code, 0, backup.stderr);
  const [result] = JSON.parse(backup.stdout) as Array<{
    ok: boolean;
    id: string;
    artifacts: Array<{ key: string }>;
  }>;
  assert.ok(result?.ok);
  const ext = `${mode === 'dumpall' || format === 'plain' ? '.sql' : '.dump'}${compression === 'zstd' ? '.zst' : compression === 'gzip' ? '.gz' : ''}`;
  for (const a of result.artifacts) assert.ok(a.key.endsWith(ext), `${a.key} ends with ${ext}`);

  const target = await withCluster(t, { name: 'target' });
  if (mode === 'database') {
    // A single-database dump references roles it does not create (as pg_dump does); a real restore
    // goes into a server that has them, so copy the roles over first.
    await target.psql((await dumpall(source, true)).replace(/^CREATE ROLE postgres;$/m, ''));
  }
  const to = mode === 'database' ? target.url('app_copy') : target.url();
  const restore = await lifeboat(['restore', result.id, '--from', dir, '--job', job, '--to', to, '--create']);
  assert.equal(restore.code, 0, restore.stderr);
  assert.match(restore.stderr, /sha256 OK/);
  assert.match(restore.stderr, /restore OK/);

  if (mode === 'database') {
    assert.equal(await dumpForCompare(target.url('app_copy')), await dumpForCompare(source.url('app')));
  } else if (mode === 'all') {
    assert.equal(await dumpall(target, true), await dumpall(source, true));
    for (const db of [...FIXTURE_DATABASES, 'postgres']) {
      assert.equal(
        await dumpForCompare(target.url(db)),
        await dumpForCompare(source.url(db)),
        `database ${db}`,
      );
    }
  } else {
    assert.equal(await dumpall(target), await dumpall(source));
  }
}
