/**
 * The S3 storage against a real S3 server (Ceph radosgw, or LIFEBOAT_S3_ENDPOINT): the shared
 * storage conformance suite, then what only S3 has — multipart uploads with growing parts, no
 * incomplete upload left by a failed or cancelled one, batched deletes, cleanup of stale uploads.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CreateMultipartUploadCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { LifeboatError } from '../src/util/errors.js';
import { MAX_PART_SIZE, maxObjectSize, partSizeFor } from '../src/storages/s3/parts.js';
import { parseS3Url, s3OptionsFromUrl } from '../src/storages/s3/url.js';
import { wholeFile } from '../src/storages/whole-file.js';
import { storageConformance } from './helpers/storage-conformance.js';
import { testBucket } from './helpers/s3-server.js';
import { MiB, rawEntries, readAll, s3Fixture, storageOn } from './helpers/s3-storage.js';

storageConformance('s3', async () => {
  const hooks: Array<() => unknown> = [];
  // A prefix, so every test also checks that keys are stored under it and listed without it.
  const { storage, rawEntries } = await s3Fixture(
    { after: (fn) => hooks.push(fn) },
    { prefix: 'backups/pg' },
  );
  return {
    storage,
    rawEntries,
    cleanup: async () => {
      for (const fn of hooks) await fn();
    },
  };
});

/** `size` random bytes in chunks of uneven sizes, optionally failing after `failAfter` bytes. */
async function* body(size: number, opts: { failAfter?: number; onChunk?: (sent: number) => void } = {}) {
  let sent = 0;
  while (sent < size) {
    if (opts.failAfter !== undefined && sent >= opts.failAfter) throw new Error('pg_dump died');
    const n = Math.min(size - sent, 100_000 + Math.floor(Math.random() * 300_000));
    yield randomBytes(n);
    sent += n;
    opts.onChunk?.(sent);
  }
}

describe('s3 storage', () => {
  test('part sizes grow so a 5 TiB object fits in 10,000 parts, each ≤ 5 GiB', () => {
    assert.equal(partSizeFor(1, 8 * MiB), 8 * MiB);
    assert.equal(partSizeFor(1000, 8 * MiB), 8 * MiB);
    assert.equal(partSizeFor(1001, 8 * MiB), 16 * MiB);
    assert.equal(partSizeFor(10_000, 8 * MiB), 4096 * MiB);
    assert.ok(partSizeFor(10_000, 64 * MiB) <= MAX_PART_SIZE);
    assert.ok(maxObjectSize(8 * MiB) >= 5 * 2 ** 40, 'default part size holds 5 TiB');
    assert.ok(maxObjectSize(5 * MiB) >= 5e12, 'the smallest part size holds 5 TB');
  });

  test('s3:// URLs: bucket, prefix, and endpoint/region from AWS_* variables', () => {
    assert.deepEqual(parseS3Url('s3://bucket'), { bucket: 'bucket', prefix: '' });
    assert.deepEqual(parseS3Url('s3://bucket/a/b/'), { bucket: 'bucket', prefix: 'a/b/' });
    assert.throws(() => parseS3Url('s3:///x'), /expected s3:\/\/bucket/);
    const opts = s3OptionsFromUrl('s3://bkt/p', { AWS_ENDPOINT_URL: 'http://h:1', AWS_REGION: 'eu-west-3' });
    assert.equal(opts.endpoint, 'http://h:1');
    assert.equal(opts.forcePathStyle, true);
    assert.equal(opts.region, 'eu-west-3');
    assert.equal(opts.name, 's3://bkt/p');
    assert.equal(s3OptionsFromUrl('s3://bkt', {}).forcePathStyle, false);
    assert.equal(s3OptionsFromUrl('s3://bkt', {}).region, 'us-east-1');
  });

  test('a body larger than a part goes up as a multipart upload and reads back whole', async (t) => {
    const { bucket, storage } = await s3Fixture(t, { partSize: 5 * MiB, prefix: 'p' });
    const parts: Buffer[] = [];
    async function* recorded() {
      for await (const chunk of body(11 * MiB + 12345)) {
        parts.push(chunk);
        yield chunk;
      }
    }
    const { size } = await storage.put('app/big.sql.zst', recorded());
    const bytes = Buffer.concat(parts);
    assert.equal(size, bytes.length);
    assert.equal((await storage.stat('app/big.sql.zst'))?.size, bytes.length);
    assert.ok((await readAll(await storage.get('app/big.sql.zst'))).equals(bytes));
    const head = await bucket.client.send(
      new HeadObjectCommand({ Bucket: bucket.name, Key: 'p/app/big.sql.zst' }),
    );
    assert.match(head.ETag ?? '', /-3"$/, 'three parts: 5 MiB, 5 MiB, the rest');
    assert.deepEqual(await bucket.incompleteUploads(), []);
  });

  test('a whole-file body of a part or more goes up from the file by byte ranges, its stream never read', async (t) => {
    const { bucket, storage } = await s3Fixture(t, { partSize: 5 * MiB, prefix: 'p' });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-file-parts-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const [key, size, parts] of [
      ['app/big.bin', 16 * MiB + 999, 4],
      ['app/small.bin', MiB + 7, 0],
    ] as const) {
      const bytes = randomBytes(size);
      const file = path.join(dir, path.basename(key));
      await writeFile(file, bytes);
      const body = wholeFile(file);
      assert.deepEqual(await storage.put(key, body), { size });
      assert.ok((await readAll(await storage.get(key))).equals(bytes), key);
      const head = await bucket.client.send(new HeadObjectCommand({ Bucket: bucket.name, Key: `p/${key}` }));
      if (parts) {
        assert.match(head.ETag ?? '', new RegExp(`-${parts}"$`), `${parts} parts: 5, 5, 5 MiB and the rest`);
        // Streamed through the common path, its bytes would have been copied into part buffers.
        assert.equal(body.bytesRead, 0, 'the parts were read from the file, not from the stream');
      } else {
        assert.doesNotMatch(head.ETag ?? '', /-\d+"$/, 'one PutObject');
        assert.equal(body.bytesRead, size, 'less than a part goes the common way');
      }
    }
    assert.deepEqual(await bucket.incompleteUploads(), []);
  });

  test('a multipart upload whose body fails, or that is cancelled, leaves no object and no upload', async (t) => {
    const { bucket, storage } = await s3Fixture(t, { partSize: 5 * MiB });
    await assert.rejects(
      storage.put('app/broken.sql', body(20 * MiB, { failAfter: 12 * MiB })),
      /pg_dump died/,
    );
    const controller = new AbortController();
    const cancelled = storage.put(
      'app/cancelled.sql',
      body(40 * MiB, { onChunk: (sent) => sent > 11 * MiB && controller.abort() }),
      { signal: controller.signal },
    );
    await assert.rejects(cancelled, (err: unknown) => err instanceof LifeboatError && err.code === 'aborted');
    assert.deepEqual(await rawEntries(bucket), []);
  });

  test('a multipart upload to an existing key fails with "exists", keeps the original, leaves no upload', async (t) => {
    const { bucket, storage } = await s3Fixture(t, { partSize: 5 * MiB });
    await storage.put('app/x.sql', [Buffer.from('original')]);
    await assert.rejects(
      storage.put('app/x.sql', body(6 * MiB)),
      (err: unknown) => err instanceof LifeboatError && err.code === 'exists',
    );
    assert.equal((await readAll(await storage.get('app/x.sql'))).toString(), 'original');
    assert.deepEqual(await rawEntries(bucket), ['app/x.sql']);
  });

  test('deleteMany removes more than 1,000 keys in batches; missing keys are fine', async (t) => {
    const { storage, rawEntries: raw } = await s3Fixture(t, { prefix: 'x' });
    const keys = Array.from({ length: 1050 }, (_, i) => `k/${i}`);
    for (let i = 0; i < keys.length; i += 50)
      await Promise.all(keys.slice(i, i + 50).map((k) => storage.put(k, [Buffer.from(k)])));
    await storage.put('keep', [Buffer.from('keep')]);
    assert.deepEqual(await storage.deleteMany!([...keys, 'never/there']), []);
    assert.deepEqual(await raw(), ['keep']);
  });

  test('cleanupIncomplete aborts stale multipart uploads under the prefix only', async (t) => {
    const { bucket, storage } = await s3Fixture(t, { prefix: 'mine' });
    for (const Key of ['mine/app/killed.sql', 'other/app/theirs.sql'])
      await bucket.client.send(new CreateMultipartUploadCommand({ Bucket: bucket.name, Key }));
    assert.deepEqual(await storage.cleanupIncomplete!(new Date(Date.now() - 3_600_000)), [], 'grace period');
    assert.deepEqual(await storage.cleanupIncomplete!(new Date(Date.now() + 60_000)), ['app/killed.sql']);
    assert.deepEqual(await bucket.incompleteUploads(), ['other/app/theirs.sql']);
  });

  test('errors say what is wrong in one line: bucket, credentials, network', async (t) => {
    const bucket = await testBucket(t);
    const cases: Array<[Parameters<typeof storageOn>[1], number, RegExp]> = [
      [{ bucket: 'no-such-bucket-here' }, 3, /bucket no-such-bucket-here does not exist.*create the bucket/],
      [{ secretAccessKey: 'wrong-secret-value' }, 3, /refused the request signature.*secretAccessKey/],
      [{ accessKeyId: 'UNKNOWNKEY' }, 3, /does not know this access key.*accessKeyId/],
      [
        { endpoint: 'http://127.0.0.1:1', maxAttempts: 2 },
        3,
        /cannot reach http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/,
      ],
    ];
    for (const [opts, exit, pattern] of cases) {
      const storage = storageOn(bucket, opts);
      const err = await storage.put('probe', [Buffer.from('x')]).then(
        () => assert.fail('put should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof LifeboatError, String(err));
      const line = `${err.message} (hint: ${err.hint})`;
      assert.match(line, pattern);
      assert.doesNotMatch(line, /\n|wrong-secret-value|testsecret/);
      assert.equal({ unreachable: 3 }[err.code as 'unreachable'], exit, line);
    }
  });
});
