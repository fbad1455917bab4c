/**
 * End to end with S3: `lifeboat backup` of the realistic fixture with a config that names a local
 * and an S3 storage (one dump, written to both, each with its manifest), then with no config at
 * all, only the standard AWS_* variables: `list --from s3://…`, `verify`, and `restore` into a fresh
 * cluster, compared database by database as in the local round-trip tests.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { dumpForCompare } from '../src/sources/postgres/compare.js';
import { withCluster } from './helpers/cluster.js';
import { lifeboat } from './helpers/lifeboat.js';
import { dumpall, tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { awsEnv, testBucket } from './helpers/s3-server.js';
import { FIXTURE_DATABASES, loadRealisticFixture } from './fixtures/realistic.js';

describe('S3 end to end', async () => {
  const source = await withCluster({ after }, { name: 's3-source' });
  await loadRealisticFixture(source);

  test('local + S3 from one dump; list, verify and restore from s3:// with AWS_* variables', async (t) => {
    const bucket = await testBucket(t);
    const dir = await tempDir(t);
    const local = path.join(dir, 'backups');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${JSON.stringify(local)} }\n` +
        s3StorageYaml('offsite', {
          bucket: bucket.name,
          endpoint: bucket.server.endpoint,
          prefix: 'pg/prod',
        }) +
        `jobs:\n  pg:\n    source: { type: postgres, url: "\${SOURCE_URL}", databases: all }\n    storages: [disk, offsite]\n`,
    );
    const backup = await lifeboat(['--config', config, 'backup', '--json'], {
      env: { ...s3ConfigEnv(bucket.server), SOURCE_URL: source.url() },
    });
    assert.equal(backup.code, 0, backup.stderr);
    const [result] = JSON.parse(backup.stdout) as Array<{ id: string; storages: Array<{ ok: boolean }> }>;
    assert.deepEqual(
      result!.storages.map((s) => s.ok),
      [true, true],
    );

    // Both manifests exist and are the same document: one dump, two copies, identical bytes.
    const manifestKey = `.lifeboat/pg/${result!.id}.json`;
    const onDisk = await readFile(path.join(local, manifestKey), 'utf8');
    const inBucket = await bucket.client.send(
      new GetObjectCommand({ Bucket: bucket.name, Key: `pg/prod/${manifestKey}` }),
    );
    assert.equal(await inBucket.Body!.transformToString(), onDisk);

    // From here on: no config file, only the standard AWS variables (as on a fresh restore machine).
    const url = `s3://${bucket.name}/pg/prod`;
    const env = awsEnv(bucket.server);
    const cwd = await tempDir(t);
    const list = await lifeboat(['list', '--from', url, '--json'], { env, cwd });
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as { storage: string; backups: Array<{ id: string }> };
    assert.equal(listed.storage, url);
    assert.deepEqual(
      listed.backups.map((b) => b.id),
      [result!.id],
    );
    const verify = await lifeboat(['verify', 'latest', '--from', url], { env, cwd });
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stderr, /sha256 OK/);

    const target = await withCluster(t, { name: 's3-target' });
    const restore = await lifeboat(['restore', 'latest', '--from', url, '--to', target.url(), '--create'], {
      env,
      cwd,
    });
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, /restore OK/);
    assert.equal(await dumpall(target, true), await dumpall(source, true));
    for (const db of [...FIXTURE_DATABASES, 'postgres'])
      assert.equal(
        await dumpForCompare(target.url(db)),
        await dumpForCompare(source.url(db)),
        `database ${db}`,
      );

    // A one-off backup to an s3:// URL, also configured by the AWS variables alone.
    const oneOff = await lifeboat(
      [
        'backup',
        '--source',
        source.url('app'),
        '--to',
        `s3://${bucket.name}/one-off`,
        '--job',
        'app',
        '--json',
      ],
      { env, cwd },
    );
    assert.equal(oneOff.code, 0, oneOff.stderr);
    const listOneOff = await lifeboat(['list', '--from', `s3://${bucket.name}/one-off`, '--json'], {
      env,
      cwd,
    });
    assert.equal((JSON.parse(listOneOff.stdout) as { backups: unknown[] }).backups.length, 1);
    const all = [backup, list, verify, restore, oneOff].map((r) => r.stdout + r.stderr).join('\n');
    assert.doesNotMatch(all, /testsecret/);
  });
});
