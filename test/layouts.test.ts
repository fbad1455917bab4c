/**
 * Operators' existing layouts, run as they are against a real cluster on a local storage (issue
 * 17; the same on Ceph S3: test/s3-layouts.test.ts): flat keys at the storage root with gzip, and
 * `{db}` of an artifact that is not one database rendering as its role (`globals`, `full`).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { storageContents, writeConfig } from './helpers/scenarios.js';

type Listed = { backups: Array<{ id: string; artifacts: Array<{ key: string }> }> };

describe('layouts', async () => {
  const pg = await withCluster({ after }, { name: 'layouts' });
  await pg.psql('create database app');
  await pg.psql('create table t (x int); insert into t select generate_series(1, 20);', { database: 'app' });

  /** A job `pg` on a local storage: `source` adds to its source, `job` (YAML lines) to the job. */
  async function setup(t: { after(fn: () => unknown): void }, source: string, job: string) {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'storage');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${storage} }\njobs:\n  pg:\n    source: { type: postgres, url: "${pg.url()}", ${source} }\n    storages: [disk]\n${job}`,
    );
    return { storage, config };
  }

  test('layout "" puts flat {db}_{yyyy}-… keys with gzip at the storage root; list, verify and drill use them', async (t) => {
    const { storage, config } = await setup(
      t,
      'databases: [app]',
      [
        'compression: { type: gzip }',
        'layout: ""',
        'name: "{db}_{yyyy}-{MM}-{dd}_{HH}-{mm}-{ss}"',
        'drill: { expect: { databases: [app] } }',
      ]
        .map((l) => `    ${l}\n`)
        .join(''),
    );
    const backup = await lifeboat(['--config', config, 'backup', '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    const listed = JSON.parse((await lifeboat(['--config', config, 'list', '--json'])).stdout) as Listed;
    const [b] = listed.backups;
    const stamp = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(b!.id)!.slice(1);
    const flat = `${stamp.slice(0, 3).join('-')}_${stamp.slice(3).join('-')}`;
    // The globals artifact is named by its role, not by an empty {db}.
    assert.deepEqual(
      b!.artifacts.map((a) => a.key),
      [`globals_${flat}.sql.gz`, `app_${flat}.sql.gz`],
    );
    const { files, artifacts } = await storageContents(storage);
    assert.deepEqual(artifacts, [
      `app_${flat}.sql.gz`,
      `app_${flat}.sql.gz.sha256`,
      `globals_${flat}.sql.gz`,
      `globals_${flat}.sql.gz.sha256`,
    ]);
    assert.deepEqual(
      files.filter((f) => f.startsWith('.lifeboat/')),
      [`.lifeboat/pg/${b!.id}.json`],
    );
    assert.match(
      await readFile(path.join(storage, `app_${flat}.sql.gz.sha256`), 'utf8'),
      new RegExp(`^[0-9a-f]{64}  app_${flat}\\.sql\\.gz\\n$`),
    );
    assert.equal((await lifeboat(['--config', config, 'verify', 'latest'])).code, 0);
    const drill = await lifeboat(['--config', config, 'drill', 'pg']);
    assert.equal(drill.code, 0, drill.stderr);
    assert.match(drill.stderr, /restore OK/);
  });

  test('{db} of a pg_dumpall stream renders as "full"', async (t) => {
    const { storage, config } = await setup(
      t,
      'dumpall: true',
      '    layout: eternia\n    name: "eternia-backup-{yyyy}{MM}{dd}-{db}"\n',
    );
    const backup = await lifeboat(['--config', config, 'backup', '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    const [{ id }] = JSON.parse(backup.stdout) as [{ id: string }];
    const { artifacts } = await storageContents(storage);
    assert.deepEqual(artifacts, [
      `eternia/eternia-backup-${id.slice(0, 8)}-full.sql.zst`,
      `eternia/eternia-backup-${id.slice(0, 8)}-full.sql.zst.sha256`,
    ]);
  });
});
