/**
 * Two operators' runbooks mirrored as configs, on Ceph S3 against a real cluster (issue 17, items
 * 1 and 2): flat `{db}_{yyyy}-{MM}-{dd}_{HH}-{mm}-{ss}` keys with gzip at the bucket root, and
 * `postgresql-18/{yyyy}/{MM}/{dd}` + `name: full` with zstd rerun the same day. Each backs up,
 * reruns, lists, verifies, restores or drills, and is subject to retention, with no extra settings.
 */
import assert from 'node:assert/strict';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { after, describe, test } from 'node:test';
import { dumpForCompare } from '../src/sources/postgres/compare.js';
import { withCluster } from './helpers/cluster.js';
import { lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { awayFromUtcMidnight, writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket, type TestBucket } from './helpers/s3-server.js';
import { rawEntries, storageOn } from './helpers/s3-storage.js';
import { executePrune, planPrune } from '../src/core/prune.js';

type Listed = { backups: Array<{ id: string; artifacts: Array<{ key: string }> }> };

describe('S3: operators layouts', async () => {
  const source = await withCluster({ after }, { name: 's3-layouts' });
  for (const db of ['app', 'grafana']) {
    await source.psql(`create database ${db}`);
    await source.psql('create table t (x int); insert into t select generate_series(1, 30);', {
      database: db,
    });
  }

  async function setup(t: { after(fn: () => unknown): void }, bucket: TestBucket, job: string[]) {
    const dir = await tempDir(t);
    /** (Re)writes the config with the job's YAML lines. */
    const write = (lines: string[]) =>
      writeConfig(
        dir,
        `storages:\n${s3StorageYaml('bucket', { bucket: bucket.name, endpoint: bucket.server.endpoint })}jobs:\n  pg:\n    storages: [bucket]\n${lines.map((l) => `    ${l}\n`).join('')}`,
      );
    const config = await write(job);
    const env = { ...s3ConfigEnv(bucket.server), SOURCE_URL: source.url() };
    const run = (...args: string[]) => lifeboat(['--config', config, ...args], { env });
    return { run, write };
  }

  test('flat keys with gzip at the bucket root: backup, rerun, list, verify, restore', async (t) => {
    const bucket = await testBucket(t);
    const { run } = await setup(t, bucket, [
      'source: { type: postgres, url: "${SOURCE_URL}", databases: [app] }',
      'compression: { type: gzip }',
      'layout: ""',
      'name: "{db}_{yyyy}-{MM}-{dd}_{HH}-{mm}-{ss}"',
    ]);
    for (let i = 0; i < 2; i++) {
      const r = await run('backup');
      assert.equal(r.code, 0, r.stderr);
    }
    const list = await run('list', '--json');
    assert.equal(list.code, 0, list.stderr);
    const { backups } = JSON.parse(list.stdout) as Listed;
    assert.equal(backups.length, 2);
    const keys = backups.flatMap((b) => b.artifacts.map((a) => a.key));
    // At the root: no folder at all; the globals artifact named by its role.
    for (const key of keys)
      assert.match(key, /^(app|globals)_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}(-2)?\.sql\.gz$/);
    assert.deepEqual(
      await rawEntries(bucket),
      [...keys, ...keys.map((k) => `${k}.sha256`), ...backups.map((b) => `.lifeboat/pg/${b.id}.json`)].sort(),
    );
    assert.equal((await run('verify', '--all')).code, 0);

    const target = await withCluster(t, { name: 's3-layouts-target' });
    const restore = await run('restore', backups[0]!.id, '--to', target.url(), '--create');
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(await dumpForCompare(target.url('app')), await dumpForCompare(source.url('app')));
  });

  test('postgresql-18/{yyyy}/{MM}/{dd} + name full: a same-day rerun is full-2.sql.zst, listed, drilled, pruned', async (t) => {
    const bucket = await testBucket(t);
    const job = [
      'source: { type: postgres, url: "${SOURCE_URL}", dumpall: true }',
      'layout: "postgresql-18/{yyyy}/{MM}/{dd}"',
      'name: full',
      'drill: { expect: { databases: [app, grafana] } }',
    ];
    const { run, write } = await setup(t, bucket, job);
    await awayFromUtcMidnight();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await run('backup', '--json');
      assert.equal(r.code, 0, r.stderr);
      ids.push((JSON.parse(r.stdout) as Array<{ id: string }>)[0]!.id);
    }
    const folder = `postgresql-18/${ids[0]!.slice(0, 4)}/${ids[0]!.slice(4, 6)}/${ids[0]!.slice(6, 8)}`;
    assert.deepEqual(await rawEntries(bucket), [
      ...ids.map((id) => `.lifeboat/pg/${id}.json`),
      `${folder}/full-2.sql.zst`,
      `${folder}/full-2.sql.zst.sha256`,
      `${folder}/full.sql.zst`,
      `${folder}/full.sql.zst.sha256`,
    ]);
    // The sidecar follows the numbered name, so `sha256sum -c` works in the folder.
    const sidecar = await bucket.client.send(
      new GetObjectCommand({ Bucket: bucket.name, Key: `${folder}/full-2.sql.zst.sha256` }),
    );
    assert.match(await sidecar.Body!.transformToString(), /^[0-9a-f]{64} {2}full-2\.sql\.zst\n$/);

    const { backups } = JSON.parse((await run('list', '--json')).stdout) as Listed;
    assert.deepEqual(
      backups.map((b) => [b.id, b.artifacts.map((a) => a.key)]),
      [
        [ids[0], [`${folder}/full.sql.zst`]],
        [ids[1], [`${folder}/full-2.sql.zst`]],
      ],
    );
    // Both restore: the first is untouched by the second.
    for (const id of ids) {
      const drill = await run('drill', 'pg', '--backup', id);
      assert.equal(drill.code, 0, drill.stderr);
    }
    // Retention treats them as two backups: keepLast 1 removes the first, whole.
    await write([...job, 'retention: { keepLast: 1 }']);
    const prune = await run('prune');
    assert.equal(prune.code, 0, prune.stderr);
    const left = (await rawEntries(bucket)).filter((k) => !/\.drill-/.test(k));
    assert.deepEqual(left, [
      `.lifeboat/pg/${ids[1]}.json`,
      `${folder}/full-2.sql.zst`,
      `${folder}/full-2.sql.zst.sha256`,
    ]);
  });

  test("the runbooks' own files in the bucket survive backups with retention and a prune 30 days on", async (t) => {
    const bucket = await testBucket(t);
    const operator = [
      'helix_kit_production_2025-01-08_04-00-00.sql.gz',
      'postgresql-18/2025/01/08/full.sql.zst',
      'postgresql-18/2025/01/08/full.sql.zst.sha256',
    ];
    for (const key of operator)
      await bucket.client.send(new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: `own ${key}\n` }));
    const flat = [
      'source: { type: postgres, url: "${SOURCE_URL}", databases: [app] }',
      'compression: { type: gzip }',
      'layout: ""',
      'name: "{db}_{yyyy}-{MM}-{dd}_{HH}-{mm}-{ss}"',
      'retention: { keepLast: 1 }',
    ];
    const { run } = await setup(t, bucket, flat);
    for (let i = 0; i < 2; i++) {
      const r = await run('backup');
      assert.equal(r.code, 0, r.stderr);
    }
    // S3 sets the dates itself: instead of aging the objects, prune as if 30 days had passed.
    const storage = storageOn(bucket);
    const now = new Date(Date.now() + 30 * 86_400_000);
    const plan = await planPrune(storage, { name: 'pg', layout: '' }, { keepLast: 1 }, { now });
    assert.deepEqual(plan.orphans, []);
    assert.deepEqual(plan.foreign, [...operator].sort());
    await executePrune(storage, plan, { now });
    const left = await rawEntries(bucket);
    for (const key of operator) assert.ok(left.includes(key), `${key} removed: ${left.join(', ')}`);
    assert.equal((JSON.parse((await run('list', '--json')).stdout) as Listed).backups.length, 1);
  });
});
