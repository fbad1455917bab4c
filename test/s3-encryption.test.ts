/**
 * Encryption and signing on Ceph S3 (issue 12): one job with a PostgreSQL, an SQLite and a files
 * source, encrypted with age and signed, backs up to a real bucket; list, verify (no key needed),
 * restore of each source and a drill work with the identity; without it, or with the wrong one,
 * each fails in one line with nothing restored; no object in the bucket holds a sample row, the
 * file's text or the identity (test/helpers/encrypted-flow.ts).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { bucketState, bytesOf, dirState, putObject } from './helpers/bucket-fixture.js';
import { withCluster } from './helpers/cluster.js';
import { encryptedFlow, makeFlowKeys, MARKS } from './helpers/encrypted-flow.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
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
      stored: () => storedIn(bucket),
    },
    keys,
  );
});

/** Every object in the bucket, with its bytes, read behind Lifeboat's back. */
async function storedIn(bucket: Awaited<ReturnType<typeof testBucket>>, strip = /^enc\//) {
  const listed = await bucket.client.send(new ListObjectsV2Command({ Bucket: bucket.name }));
  return Promise.all(
    (listed.Contents ?? []).map(async (o) => {
      const got = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: o.Key }));
      return {
        key: o.Key!.replace(strip, ''),
        bytes: Buffer.from(await got.Body!.transformToByteArray()),
      };
    }),
  );
}

test('S3: a bucket source, encrypted and signed: every blob and index is age ciphertext; restore and drill need the identity', async (t) => {
  const source = await testBucket(t);
  const backups = await testBucket(t);
  const dir = await tempDir(t);
  const keys = await makeFlowKeys(dir);
  const env = s3ConfigEnv(source.server);
  await putObject(source.client, source.name, 'app/a.txt', Buffer.from(`${MARKS.file}-a\n`));
  await putObject(source.client, source.name, 'app/dir/b.txt', Buffer.from(`${MARKS.file}-b\n`));
  const config = await writeConfig(
    dir,
    `storages:\n${s3StorageYaml('offsite', { bucket: backups.name, endpoint: backups.server.endpoint })}` +
      `jobs:\n  objects:\n    source:\n      type: bucket\n      endpoint: ${source.server.endpoint}\n` +
      `      bucket: ${source.name}\n      prefix: app/\n      forcePathStyle: true\n` +
      `      accessKeyId: \${S3_KEY}\n      secretAccessKey: \${S3_SECRET}\n` +
      `    storages: [offsite]\n    encryption: { type: age, recipients: [${keys.ageRecipient}] }\n` +
      `signing: { key: ${keys.signingKey} }\n`,
  );
  const run = (args: string[], identity = '') =>
    lifeboat(['--config', config, ...args], { env: { ...env, LIFEBOAT_AGE_IDENTITY_FILE: identity } });
  const backup = await run(['backup', 'objects']);
  assert.equal(backup.code, 0, backup.stderr);
  const stored = await storedIn(backups);
  const blobs = stored.filter((o) => o.key.startsWith('objects/blobs/'));
  assert.equal(blobs.length, 2, stored.map((o) => o.key).join(' '));
  for (const { key, bytes } of stored) {
    assert.ok(!bytes.includes(Buffer.from(MARKS.file)), `${key} holds the objects' text`);
    assert.ok(!bytes.includes(Buffer.from(keys.ageSecret)), `${key} holds the identity`);
    if (!key.startsWith('.lifeboat/') && !key.endsWith('.sha256'))
      assert.equal(bytes.subarray(0, 21).toString(), 'age-encryption.org/v1', key);
  }
  const verify = await run(['verify', 'latest']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stderr, /signature OK/);

  const out = path.join(dir, 'restored');
  const restore = ['restore', 'latest', '--job', 'objects', '--to', out];
  const none = await run(restore);
  assert.equal(none.code, 2, none.stderr);
  assert.equal(errorLines(none.stderr).length, 1, none.stderr);
  const wrong = await run(restore, keys.otherKey);
  assert.equal(wrong.code, 4, wrong.stderr);
  assert.equal(errorLines(wrong.stderr).length, 1, wrong.stderr);
  assert.match(wrong.stderr, /decrypt FAILED: no identity matches/);
  const ok = await run(restore, keys.ageKey);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(await dirState(out), bytesOf(await bucketState(source.client, source.name, 'app/')));

  const noDrill = await run(['drill', 'objects']);
  assert.notEqual(noDrill.code, 0, noDrill.stderr);
  assert.match(noDrill.stderr, /no identity is set/);
  const drill = await run(['drill', 'objects'], keys.ageKey);
  assert.equal(drill.code, 0, drill.stderr);
});
