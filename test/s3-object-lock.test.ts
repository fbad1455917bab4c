/**
 * Object Lock: on a bucket with COMPLIANCE default retention, backups succeed, the lock reads back
 * from the server (and the server really refuses to delete a locked version), and prune reports
 * the locked backups as retained — exit 0, every backup still listed and verifiable. The same for
 * GOVERNANCE, which a privileged caller could bypass: prune never does.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DeleteObjectCommand, GetObjectRetentionCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { withCluster } from './helpers/cluster.js';
import { lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket } from './helpers/s3-server.js';

describe('Object Lock', async () => {
  const pg = await withCluster({ after }, { name: 's3-lock' });
  await pg.psql('create database app');
  await pg.psql('create table t (x int); insert into t values (1), (2);', { database: 'app' });

  test('COMPLIANCE bucket: backups succeed, the lock reads back, prune reports them retained', async (t) => {
    const bucket = await testBucket(t, { objectLock: { mode: 'COMPLIANCE', days: 1 } });
    const dir = await tempDir(t);
    const config = await writeConfig(
      dir,
      `storages:\n${s3StorageYaml('vault', { bucket: bucket.name, endpoint: bucket.server.endpoint, prefix: 'pg' })}` +
        `jobs:\n  app:\n    source: { type: postgres, url: "\${APP_URL}" }\n    storages: [vault]\n` +
        `    retention: { keepLast: 1 }\n`,
    );
    const env = { ...s3ConfigEnv(bucket.server), APP_URL: pg.url('app') };

    // Each backup runs retention afterwards; from the second on it meets locked backups.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await lifeboat(['--config', config, 'backup', '--json'], { env });
      assert.equal(run.code, 0, run.stderr);
      ids.push((JSON.parse(run.stdout) as Array<{ id: string }>)[0]!.id);
      if (i > 0) assert.match(run.stderr, /keep \S+ \(retained by Object Lock until \d{4}-\d\d-\d\dT/);
    }

    // The lock as the server holds it, on the manifest and on an artifact.
    const list = await lifeboat(['--config', config, 'list', '--json'], { env });
    const backups = (
      JSON.parse(list.stdout) as { backups: Array<{ id: string; artifacts: Array<{ key: string }> }> }
    ).backups;
    assert.deepEqual(
      backups.map((b) => b.id),
      ids,
    );
    const oldest = backups[0]!;
    for (const key of [`pg/.lifeboat/app/${oldest.id}.json`, `pg/${oldest.artifacts[0]!.key}`]) {
      const { Retention } = await bucket.client.send(
        new GetObjectRetentionCommand({ Bucket: bucket.name, Key: key }),
      );
      assert.equal(Retention?.Mode, 'COMPLIANCE', key);
      assert.ok(Retention!.RetainUntilDate!.getTime() > Date.now() + 23 * 3600_000, key);
    }
    // Not just a label: the server refuses to delete the locked version.
    const manifestKey = `pg/.lifeboat/app/${oldest.id}.json`;
    const head = await bucket.client.send(new HeadObjectCommand({ Bucket: bucket.name, Key: manifestKey }));
    await assert.rejects(
      bucket.client.send(
        new DeleteObjectCommand({ Bucket: bucket.name, Key: manifestKey, VersionId: head.VersionId }),
      ),
      (err: Error) => err.name === 'AccessDenied',
    );

    const prune = await lifeboat(['--config', config, 'prune', '--json'], { env });
    assert.equal(prune.code, 0, prune.stderr);
    for (const id of ids.slice(0, 2))
      assert.match(
        prune.stderr,
        new RegExp(
          `keep ${id} \\(retained by Object Lock until \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z; a later prune removes it\\)`,
        ),
      );
    const [result] = JSON.parse(prune.stdout) as Array<{
      remove: string[];
      retained: Array<{ id?: string }>;
    }>;
    assert.deepEqual(result!.remove, []);
    assert.deepEqual(result!.retained.map((r) => r.id).sort(), ids.slice(0, 2));

    // Still whole: listed and verifiable.
    const again = await lifeboat(['--config', config, 'list', '--json'], { env });
    assert.equal((JSON.parse(again.stdout) as { backups: unknown[] }).backups.length, 3);
    const verify = await lifeboat(['--config', config, 'verify', '--all'], { env });
    assert.equal(verify.code, 0, verify.stderr);
  });

  test('GOVERNANCE bucket: prune does not bypass the lock; it keeps the backup and reports it retained', async (t) => {
    const bucket = await testBucket(t, { objectLock: { mode: 'GOVERNANCE', days: 1 } });
    // GOVERNANCE yields to whoever sends x-amz-bypass-governance-retention, and this test's user may
    // (testBucket's clean-up does): the request Lifeboat must never send.
    const dir = await tempDir(t);
    const config = await writeConfig(
      dir,
      `storages:\n${s3StorageYaml('vault', { bucket: bucket.name, endpoint: bucket.server.endpoint, prefix: 'pg' })}` +
        `jobs:\n  app:\n    source: { type: postgres, url: "\${APP_URL}" }\n    storages: [vault]\n`,
    );
    const env = { ...s3ConfigEnv(bucket.server), APP_URL: pg.url('app') };
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const run = await lifeboat(['--config', config, 'backup', '--json'], { env });
      assert.equal(run.code, 0, run.stderr);
      ids.push((JSON.parse(run.stdout) as Array<{ id: string }>)[0]!.id);
    }
    const manifestKey = `pg/.lifeboat/app/${ids[0]}.json`;
    const { Retention } = await bucket.client.send(
      new GetObjectRetentionCommand({ Bucket: bucket.name, Key: manifestKey }),
    );
    assert.equal(Retention?.Mode, 'GOVERNANCE');

    // keepLast 1 would remove the older backup; its lock says not yet.
    const keepOne = await writeConfig(
      dir,
      `storages:\n${s3StorageYaml('vault', { bucket: bucket.name, endpoint: bucket.server.endpoint, prefix: 'pg' })}` +
        `jobs:\n  app:\n    source: { type: postgres, url: "\${APP_URL}" }\n    storages: [vault]\n    retention: { keepLast: 1 }\n`,
    );
    const prune = await lifeboat(['--config', keepOne, 'prune', '--json'], { env });
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(
      prune.stderr,
      new RegExp(
        `keep ${ids[0]} \\(retained by Object Lock until \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z; a later prune removes it\\)`,
      ),
    );
    const [result] = JSON.parse(prune.stdout) as Array<{
      remove: string[];
      retained: Array<{ id?: string }>;
    }>;
    assert.deepEqual(result!.remove, []);
    assert.deepEqual(
      result!.retained.map((r) => r.id),
      [ids[0]],
    );
    const list = await lifeboat(['--config', keepOne, 'list', '--json'], { env });
    assert.deepEqual(
      (JSON.parse(list.stdout) as { backups: Array<{ id: string }> }).backups.map((b) => b.id),
      ids,
    );
    const verify = await lifeboat(['--config', keepOne, 'verify', '--all'], { env });
    assert.equal(verify.code, 0, verify.stderr);
  });
});
