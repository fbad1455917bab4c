/**
 * A backup restores without Lifeboat, with exactly the commands the README gives:
 * `sha256sum -c X.sha256 && zstd -dc X | psql -v ON_ERROR_STOP=1`, run in the folder holding both.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { lifeboat } from './helpers/lifeboat.js';
import { dumpall, tempDir } from './helpers/roundtrip.js';
import { loadRealisticFixture } from './fixtures/realistic.js';
import { dumpForCompare } from '../src/sources/postgres/compare.js';

const execFileAsync = promisify(execFile);

/** Runs a README command line in `cwd` with bash, as an operator would paste it. */
async function shell(command: string, cwd: string, env: NodeJS.ProcessEnv = {}) {
  return execFileAsync('bash', ['-o', 'pipefail', '-c', command], {
    cwd,
    env: { ...process.env, PATH: `/usr/lib/postgresql/15/bin:${process.env.PATH}`, ...env },
    maxBuffer: 1 << 26,
  });
}

describe('restore by hand', async () => {
  const source = await withCluster({ after }, { name: 'byhand' });
  await loadRealisticFixture(source);

  test('full.sql.zst from a pg_dumpall job into a fresh cluster', async (t) => {
    const dir = await tempDir(t);
    const r = await lifeboat([
      'backup',
      '--source',
      source.url(),
      '--dumpall',
      '--to',
      dir,
      '--job',
      'cluster',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const key = (JSON.parse(r.stdout) as Array<{ artifacts: Array<{ key: string }> }>)[0]!.artifacts[0]!.key;
    assert.equal(path.basename(key), 'full.sql.zst');
    const target = await withCluster(t, { name: 'byhand-target' });
    const check = await shell(
      `sha256sum -c full.sql.zst.sha256 && zstd -dc full.sql.zst | psql -v ON_ERROR_STOP=1 -d ${target.url()}`,
      path.join(dir, path.dirname(key)),
    );
    assert.match(check.stdout, /full\.sql\.zst: OK/);
    assert.equal(await dumpall(target), await dumpall(source));
  });

  test('globals + one database from an "all" job', async (t) => {
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
      'dbs',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const keys = (JSON.parse(r.stdout) as Array<{ artifacts: Array<{ key: string }> }>)[0]!.artifacts.map(
      (a) => a.key,
    );
    const folder = path.join(dir, path.dirname(keys[0]!));
    const target = await withCluster(t, { name: 'byhand-target2' });
    await shell(
      // The README's commands, with this cluster's URLs; createdb finds the server through PG* variables.
      `sha256sum -c globals.sql.zst.sha256 app.sql.zst.sha256 &&\n` +
        `  zstd -dc globals.sql.zst | psql -v ON_ERROR_STOP=1 -d ${target.url()} &&\n` +
        `  createdb app && zstd -dc app.sql.zst | psql -v ON_ERROR_STOP=1 -d ${target.url('app')}`,
      folder,
      { PGHOST: '127.0.0.1', PGPORT: String(target.port), PGUSER: 'postgres' },
    );
    assert.equal(await dumpForCompare(target.url('app')), await dumpForCompare(source.url('app')));
    assert.equal(await dumpall(target, true), await dumpall(source, true));
  });
});
