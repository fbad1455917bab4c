/**
 * Two operators' runbooks copied into configs, run end to end on a real cluster, a local directory
 * and Ceph S3 with no settings beyond what the runbooks had (issue 17):
 *  (a) one production database, `pg_dump` to flat `{db}_{yyyy}-{MM}-{dd}_{HH}-{mm}-{ss}.sql.gz` keys
 *      at the root of both a directory and a bucket, the URL in ${DATABASE_URL}, objects owned by
 *      and granted to application roles: two runs, status and list without the database's
 *      variable, a drill with no scratch roles, a restore onto a fresh server with --create-roles.
 *  (b) `pg_dumpall` to `postgresql-18/{yyyy}/{MM}/{dd}/full.sql.zst` through a libpq service, a
 *      same-day rerun, a drill expecting the named databases, and a restore onto a fresh server.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { dumpForCompare } from '../src/sources/postgres/compare.js';
import { withCluster } from './helpers/cluster.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { awayFromUtcMidnight, writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket } from './helpers/s3-server.js';

type Listed = { backups: Array<{ id: string; storages: string[]; artifacts: Array<{ key: string }> }> };

describe('operators runbooks', async () => {
  const source = await withCluster({ after }, { name: 'runbooks' });
  await source.psql(
    `create role helix nologin; create role helix_reader nologin;
     create database helix_kit_production owner helix; create database grafana;`,
  );
  await source.psql(
    `set role helix;
     create table deployments (id serial primary key, app text not null, at timestamptz default now());
     insert into deployments (app) select 'app-' || g from generate_series(1, 40) g;
     reset role;
     grant select on deployments to helix_reader;`,
    { database: 'helix_kit_production' },
  );
  await source.psql('create table dashboards (id int); insert into dashboards values (1), (2);', {
    database: 'grafana',
  });

  test('(a) flat gzip keys at the root of a directory and a bucket, single database', async (t) => {
    const bucket = await testBucket(t);
    const dir = await tempDir(t);
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${JSON.stringify(path.join(dir, 'backups'))} }\n` +
        s3StorageYaml('bucket', { bucket: bucket.name, endpoint: bucket.server.endpoint }) +
        `jobs:
  helix:
    source: { type: postgres, url: "\${DATABASE_URL}" }
    compression: { type: gzip }
    storages: [disk, bucket]
    layout: ""
    name: "{db}_{yyyy}-{MM}-{dd}_{HH}-{mm}-{ss}"
`,
    );
    const s3 = s3ConfigEnv(bucket.server);
    const withDb = { ...s3, DATABASE_URL: source.url('helix_kit_production') };
    const run = (args: string[], env: NodeJS.ProcessEnv = withDb) =>
      lifeboat(['--config', config, ...args], { env });

    for (let i = 0; i < 2; i++) {
      const r = await run(['backup']);
      assert.equal(r.code, 0, r.stderr);
    }
    // Inspecting backups needs the storages' credentials, not the database's.
    const status = await run(['status'], s3);
    assert.equal(status.code, 0, status.stderr);
    const list = await run(['list', '--json'], s3);
    assert.equal(list.code, 0, list.stderr);
    const { backups } = JSON.parse(list.stdout) as Listed;
    assert.equal(backups.length, 2);
    for (const b of backups) {
      assert.deepEqual(b.storages, ['disk', 'bucket']);
      assert.match(
        b.artifacts[0]!.key,
        /^helix_kit_production_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}(-2)?\.sql\.gz$/,
      );
    }

    const drill = await run(['drill', 'helix']);
    assert.equal(drill.code, 0, drill.stderr);
    assert.match(drill.stderr, /scratch: create role helix NOLOGIN \(named by the backup\)/);

    const target = await withCluster(t, { name: 'runbooks-a-target' });
    const to = target.url('helix_kit_production');
    const restore = await run(['restore', 'latest', '--to', to, '--create', '--create-roles'], s3);
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(errorLines(restore.stderr), []);
    assert.equal(await dumpForCompare(to), await dumpForCompare(source.url('helix_kit_production')));
  });

  test('(b) pg_dumpall to postgresql-18/{yyyy}/{MM}/{dd}/full.sql.zst through a service, rerun the same day', async (t) => {
    const bucket = await testBucket(t);
    const dir = await tempDir(t);
    const serviceFile = path.join(dir, 'pg_service.conf');
    await writeFile(
      serviceFile,
      `[backup]\nhost=127.0.0.1\nport=${source.port}\nuser=postgres\ndbname=postgres\n`,
    );
    const config = await writeConfig(
      dir,
      `storages:\n${s3StorageYaml('bucket', { bucket: bucket.name, endpoint: bucket.server.endpoint })}` +
        `jobs:
  postgres:
    source: { type: postgres, url: "postgres://", dumpall: true }
    storages: [bucket]
    layout: "postgresql-18/{yyyy}/{MM}/{dd}"
    name: full
    drill:
      expect: { databases: [helix_kit_production, grafana] }
`,
    );
    const env = { ...s3ConfigEnv(bucket.server), PGSERVICEFILE: serviceFile, PGSERVICE: 'backup' };
    const run = (...args: string[]) => lifeboat(['--config', config, ...args], { env });

    await awayFromUtcMidnight();
    for (let i = 0; i < 2; i++) {
      const r = await run('backup');
      assert.equal(r.code, 0, r.stderr);
    }
    const { backups } = JSON.parse((await run('list', '--json')).stdout) as Listed;
    assert.deepEqual(
      backups.map((b) => b.artifacts.map((a) => path.basename(a.key))),
      [['full.sql.zst'], ['full-2.sql.zst']],
    );
    const drill = await run('drill', 'postgres');
    assert.equal(drill.code, 0, drill.stderr);

    const target = await withCluster(t, { name: 'runbooks-b-target' });
    const restore = await run('restore', 'latest', '--to', target.url());
    assert.equal(restore.code, 0, restore.stderr);
    for (const db of ['helix_kit_production', 'grafana'])
      assert.equal(await dumpForCompare(target.url(db)), await dumpForCompare(source.url(db)));
  });
});
