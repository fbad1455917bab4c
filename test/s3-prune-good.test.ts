/**
 * Prune on a real Ceph S3 bucket keeps the newest good backup: a flipped byte in the newest
 * artifact (same size, so only hashing finds it) and a manifest naming another backup's id must
 * not make `prune` remove every good backup, nor another backup's objects (issue 10 §2).
 */
import assert from 'node:assert/strict';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket } from './helpers/s3-server.js';
import { rawEntries } from './helpers/s3-storage.js';

describe('S3 prune keeps the newest good backup', async () => {
  const pg = await withCluster({ after }, { name: 's3-prune-good' });
  await pg.psql('create database app');
  await pg.psql('create table t (x int); insert into t select generate_series(1, 50);', { database: 'app' });

  test('a flipped byte in the newest artifact and a mislabelled manifest: the newest good backup stays', async (t) => {
    const bucket = await testBucket(t);
    const dir = await tempDir(t);
    const env = s3ConfigEnv(bucket.server);
    const yaml = (retention: string) =>
      `storages:\n${s3StorageYaml('offsite', { bucket: bucket.name, endpoint: bucket.server.endpoint, prefix: 'pg' })}` +
      `jobs:\n  app:\n    source: { type: postgres, url: "${pg.url('app')}" }\n    storages: [offsite]\n` +
      (retention ? `    retention: ${retention}\n` : '');
    const config = await writeConfig(dir, yaml(''));
    const ids: string[] = [];
    const keys: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await lifeboat(['--config', config, 'backup', '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      const [res] = JSON.parse(r.stdout) as Array<{ id: string; artifacts: Array<{ key: string }> }>;
      ids.push(res!.id);
      keys.push(res!.artifacts[0]!.key);
    }
    const get = async (key: string) =>
      Buffer.from(
        await (
          await bucket.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: `pg/${key}` }))
        ).Body!.transformToByteArray(),
      );
    const put = (key: string, body: Buffer | string) =>
      bucket.client.send(new PutObjectCommand({ Bucket: bucket.name, Key: `pg/${key}`, Body: body }));

    // The newest artifact: one byte flipped in place (S3 overwrites; Lifeboat never would).
    const bytes = await get(keys[3]!);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 1;
    await put(keys[3]!, bytes);
    // The oldest manifest claims to be the second newest backup.
    const manifest0 = JSON.parse((await get(`.lifeboat/app/${ids[0]}.json`)).toString()) as { id: string };
    await put(`.lifeboat/app/${ids[0]}.json`, JSON.stringify({ ...manifest0, id: ids[2] }));

    await writeConfig(dir, yaml('{ keepLast: 1 }'));
    const r = await lifeboat(['--config', config, 'prune'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`keep ${ids[3]} \\(not good: corrupt: sha256 mismatch in `));
    assert.match(r.stderr, new RegExp(`keep ${ids[2]} \\(last 1\\)`));
    assert.match(r.stderr, new RegExp(`leave \\.lifeboat/app/${ids[0]}\\.json alone \\(invalid manifest`));
    assert.match(r.stderr, new RegExp(`remove ${ids[1]} \\(no rule keeps it\\)`));

    const left = await rawEntries(bucket, 'pg/');
    for (const key of [
      `.lifeboat/app/${ids[2]}.json`,
      keys[2]!,
      `${keys[2]}.sha256`,
      `.lifeboat/app/${ids[0]}.json`,
      keys[0]!,
    ])
      assert.ok(left.includes(key), `${key} is gone:\n${left.join('\n')}`);
    assert.ok(!left.includes(`.lifeboat/app/${ids[1]}.json`) && !left.includes(keys[1]!), left.join('\n'));
    const verify = await lifeboat(['--config', config, 'verify', ids[2]!], { env });
    assert.equal(verify.code, 0, verify.stderr);
  });
});
