/**
 * What a backup of `databases: all` captured (issue 10 §3): a selection that leaves no database is
 * a configuration error at plan time (exit 2, naming the job and the filter, in `check` too); a
 * database dropped while the others are being dumped leaves a committed backup marked partial
 * that names it, the run exits 1, and retention does not run after it.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import pg from 'pg';
import { errorLines, lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { createBigTable, storageContents, waitFor, writeConfig } from './helpers/scenarios.js';

describe('what an `all` backup captured', async () => {
  const cluster = await withCluster({ after }, { name: 'partial' });
  await cluster.psql('create database a_big');
  await createBigTable(cluster, 'a_big', 50_000);

  const yaml = (storage: string, extra = '', retention = true) =>
    `storages:\n  disk: { type: local, path: ${JSON.stringify(storage)} }\n` +
    `jobs:\n  app:\n    source: { type: postgres, url: "${cluster.url()}", databases: all${extra} }\n` +
    `    compression: { type: none }\n    storages: [disk]\n` +
    (retention ? `    retention: { keepLast: 1 }\n` : '');

  test('exclude: ["*"] selects no database: exit 2 naming the job and the filter, check too', async (t) => {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'b');
    const config = await writeConfig(dir, yaml(storage, ', exclude: ["*"]'));
    const backup = await lifeboat(['--config', config, 'backup']);
    assert.equal(backup.code, 2, backup.stderr);
    const errors = errorLines(backup.stderr);
    assert.equal(errors.length, 1, backup.stderr);
    assert.match(
      errors[0]!,
      /^error: backup app failed: select databases: databases: all with exclude: \["\*"\] selects no database \(the server has: a_big, postgres\)/,
    );
    assert.deepEqual((await storageContents(storage)).files, []);
    const check = await lifeboat(['--config', config, 'check']);
    assert.equal(check.code, 2, check.stderr);
    assert.match(
      check.stderr,
      /^error: FAIL source app: select databases: databases: all with exclude: \["\*"\] selects no database/m,
    );
  });

  test('a database dropped during the run: committed as partial, named, exit 1, no retention', async (t) => {
    await cluster.psql('create database b_victim');
    const dir = await tempDir(t);
    const storage = path.join(dir, 'b');
    // Two good backups first, taken without retention; then keepLast: 1 for the partial run: it
    // would remove the older good one if retention ran after the partial run.
    const config = await writeConfig(dir, yaml(storage, '', false));
    for (let i = 0; i < 2; i++) {
      const good = await lifeboat(['--config', config, 'backup']);
      assert.equal(good.code, 0, good.stderr);
      await new Promise((r) => setTimeout(r, 1100)); // a new id each second
    }
    const before = await storageContents(storage);
    assert.equal(before.manifests.length, 2);
    await writeConfig(dir, yaml(storage));

    // Hold the dump of a_big on a lock, drop b_victim, then let the run go on.
    const locker = new pg.Client({ connectionString: cluster.url('a_big') });
    await locker.connect();
    t.after(() => locker.end().catch(() => {}));
    await locker.query('begin; lock table big in access exclusive mode');
    const run = startLifeboat(['--config', config, 'backup', '--json']);
    await waitFor('pg_dump of a_big waiting for its lock', async () =>
      (
        await cluster.psql(
          `select 1 from pg_stat_activity where application_name = 'pg_dump' and datname = 'a_big' and wait_event_type = 'Lock'`,
        )
      ).trim(),
    );
    await cluster.psql('drop database b_victim');
    await locker.query('commit');
    const r = await run.done;
    assert.equal(r.code, 1, r.stderr);
    const errors = errorLines(r.stderr);
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /^error: backup app \S+ is partial: database b_victim is missing \(.+\)$/);
    const [result] = JSON.parse(r.stdout) as Array<{ id: string; ok: boolean; partial?: boolean }>;
    assert.equal(result!.ok, false);
    assert.equal(result!.partial, true);

    const manifestFile = path.join(storage, '.lifeboat', 'app', `${result!.id}.json`);
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
      partial?: boolean;
      missing?: Array<{ database: string; error: string }>;
      sources: { main: { databases: string[] } };
      artifacts: Array<{ database?: string }>;
    };
    assert.equal(manifest.partial, true);
    assert.deepEqual(
      manifest.missing?.map((m) => m.database),
      ['b_victim'],
    );
    assert.match(manifest.missing![0]!.error, /b_victim/);
    assert.deepEqual(manifest.sources.main.databases, ['a_big', 'postgres']);
    assert.deepEqual(
      manifest.artifacts.map((a) => a.database ?? '-'),
      ['-', 'a_big', 'postgres'],
    );
    // Retention did not run: both earlier good backups are still there, beside the partial one.
    const after = await storageContents(storage);
    for (const f of before.files) assert.ok(after.files.includes(f), `${f} kept`);
    assert.equal(after.manifests.length, 3);
    const list = await lifeboat(['--config', config, 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      new RegExp(`${result!.id}\\t.*a_big,postgres \\(PARTIAL, missing: b_victim\\)`),
    );
  });
});
