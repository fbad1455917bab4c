/**
 * The per-job lock from the CLI on Ceph S3 (the lock is created with PutObject `If-None-Match: *`,
 * or after a HeadObject with `conditionalWrites: false`): the scenarios of lock-cli.test.ts, and
 * on a bucket with Object Lock, where every version of the lock object is retained.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { lifeboat } from './helpers/lifeboat.js';
import {
  lockObjects,
  refusedWhileHeld,
  staleLockOfKilledRun,
  threeAtOnce,
  type LockTarget,
} from './helpers/lock-scenarios.js';
import { tempDir } from './helpers/roundtrip.js';
import { createBigTable, writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { rawEntries } from './helpers/s3-storage.js';
import { testBucket } from './helpers/s3-server.js';

describe('job lock (S3 storage, CLI)', async () => {
  const pg = await withCluster({ after }, { name: 's3-lock-cli' });
  await pg.psql('create database app');
  await createBigTable(pg, 'app', 20_000);

  async function target(
    t: { after(fn: () => unknown): void },
    extra = {},
    bucketOpts: Parameters<typeof testBucket>[1] = {},
  ): Promise<LockTarget> {
    const bucket = await testBucket(t, bucketOpts);
    const dir = await tempDir(t);
    const config = await writeConfig(
      dir,
      'storages:\n' +
        s3StorageYaml('offsite', {
          bucket: bucket.name,
          endpoint: bucket.server.endpoint,
          prefix: 'pg',
          extra,
        }) +
        `jobs:\n  app:\n    source: { type: postgres, url: "\${APP_URL}" }\n    storages: [offsite]\n`,
    );
    return {
      config,
      job: 'app',
      storage: 'offsite',
      env: { APP_URL: pg.url('app'), ...s3ConfigEnv(bucket.server) },
      rawKeys: () => rawEntries(bucket, 'pg/'),
      sourceUrl: pg.url('app'),
      table: 'big',
    };
  }

  test('three backups started at once: one commits, two are refused naming it (exit 1)', async (t) => {
    await threeAtOnce(await target(t));
  });

  test('conditionalWrites: false — a backup while another holds the lock is refused', async (t) => {
    await refusedWhileHeld(await target(t, { conditionalWrites: false }));
  });

  test('the lock of a SIGKILLed backup is broken by the next run, with a warning', async (t) => {
    await staleLockOfKilledRun(await target(t));
  });

  test('Object Lock bucket: each run removes its retained lock (a delete marker), no warning', async (t) => {
    const tg = await target(t, {}, { objectLock: { mode: 'COMPLIANCE', days: 1 } });
    for (let i = 0; i < 2; i++) {
      const run = await lifeboat(['--config', tg.config, 'backup', 'app'], { env: tg.env });
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /^warn: /m);
      assert.deepEqual(await lockObjects(tg), []);
    }
  });
});
