/**
 * Encryption and signing on Ceph S3 (issue 12): one job with a PostgreSQL, an SQLite and a files
 * source, encrypted with age and signed, backs up to a real bucket; list, verify (no key needed),
 * restore of each source and a drill work with the identity; without it, or with the wrong one,
 * each fails in one line with nothing restored; no object in the bucket holds a sample row, the
 * file's text or the identity (test/helpers/encrypted-flow.ts).
 */
import { test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { withCluster } from './helpers/cluster.js';
import { encryptedFlow, makeFlowKeys } from './helpers/encrypted-flow.js';
import { tempDir } from './helpers/roundtrip.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket } from './helpers/s3-server.js';

test('S3: an encrypted, signed backup of PostgreSQL, SQLite and files sources round-trips; the bucket holds no plaintext', async (t) => {
  const [source, target] = await Promise.all([
    withCluster(t, { name: 's3-age-source' }),
    withCluster(t, { name: 's3-age-target' }),
  ]);
  const bucket = await testBucket(t);
  const dir = await tempDir(t);
  const keys = await makeFlowKeys(dir);
  const stored = async () => {
    const listed = await bucket.client.send(new ListObjectsV2Command({ Bucket: bucket.name }));
    return Promise.all(
      (listed.Contents ?? []).map(async (o) => {
        const got = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: o.Key }));
        return {
          key: o.Key!.replace(/^enc\//, ''),
          bytes: Buffer.from(await got.Body!.transformToByteArray()),
        };
      }),
    );
  };
  await encryptedFlow(
    {
      dir,
      storagesYaml: s3StorageYaml('offsite', {
        bucket: bucket.name,
        endpoint: bucket.server.endpoint,
        prefix: 'enc',
      }),
      storage: 'offsite',
      env: s3ConfigEnv(bucket.server),
      source,
      target,
      stored,
    },
    keys,
  );
});
