/**
 * The S3 storage through a fault-injecting proxy: every failed request (500, 503 SlowDown, a reset
 * mid-body, a stall caught by the watchdog) is retried on its own, so uploads and reads complete;
 * a permanent fault fails with one clear message and leaves no incomplete upload behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { wholeFile } from '../src/storages/whole-file.js';
import { LifeboatError } from '../src/util/errors.js';
import { isUploadPart, startFaultProxy, type Fault, type RequestInfo } from './helpers/fault-proxy.js';
import { testBucket } from './helpers/s3-server.js';
import { MiB, rawEntries, readAll, storageOn } from './helpers/s3-storage.js';

/** Matches the first `n` requests that `pred` accepts, then nothing. */
function firstN(n: number, pred: (r: RequestInfo) => boolean) {
  let left = n;
  return (r: RequestInfo) => pred(r) && left-- > 0;
}

async function proxied(t: { after(fn: () => unknown): void }, opts: Parameters<typeof storageOn>[1] = {}) {
  const bucket = await testBucket(t);
  const proxy = await startFaultProxy(bucket.server.endpoint);
  t.after(() => proxy.close());
  const storage = storageOn(bucket, { endpoint: proxy.endpoint, stallTimeoutSeconds: 1, ...opts });
  return { bucket, proxy, storage, direct: storageOn(bucket) };
}

/** `bytes` in a temp file, removed after the test. */
async function fileOf(t: TestContext, bytes: Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-faults-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'body'), bytes);
  return path.join(dir, 'body');
}

describe('s3 storage under faults', () => {
  // The two ways a body reaches S3 in parts: chunks cut into part buffers, or a whole file sent by
  // byte ranges (which the SDK cannot retry: Lifeboat does, and the SDK must not warn about it).
  const bodies = {
    chunks: async (_t: TestContext, bytes: Buffer) =>
      Array.from({ length: Math.ceil(bytes.length / MiB) }, (_, i) => bytes.subarray(i * MiB, (i + 1) * MiB)),
    'a whole file': async (t: TestContext, bytes: Buffer) => wholeFile(await fileOf(t, bytes)),
  };
  for (const [kind, bodyOf] of Object.entries(bodies)) {
    test(`each failed part is retried on its own (${kind}): 500, SlowDown, reset mid-body, stall`, async (t) => {
      const { bucket, proxy, storage } = await proxied(t, { partSize: 5 * MiB });
      const faults: Fault[] = ['error500', 'slowdown503', 'reset', 'stall'];
      proxy.plan({ permanent: true, faults, match: firstN(faults.length, isUploadPart) });
      const bytes = randomBytes(16 * MiB + 3);
      const warn = t.mock.method(console, 'warn', () => {});
      assert.deepEqual(await storage.put('app/big.sql', await bodyOf(t, bytes)), { size: bytes.length });
      assert.equal(warn.mock.callCount(), 0, 'nothing on the console');
      assert.deepEqual(proxy.stats.faults, {
        error500: 1,
        slowdown503: 1,
        reset: 1,
        stall: 1,
        skew403: 0,
        denied403: 0,
      });
      assert.ok((await readAll(await storageOn(bucket).get('app/big.sql'))).equals(bytes));
      assert.deepEqual(await rawEntries(bucket), ['app/big.sql']);
    });

    test(`a permanent fault fails with one clear line and aborts the multipart upload (${kind})`, async (t) => {
      const { bucket, proxy, storage } = await proxied(t, { partSize: 5 * MiB, maxAttempts: 3 });
      proxy.plan({ permanent: true, faults: ['error500'], match: isUploadPart });
      const err = await storage.put('app/big.sql', await bodyOf(t, randomBytes(12 * MiB))).then(
        () => assert.fail('put should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof LifeboatError);
      assert.match(
        err.message,
        /^write app\/big\.sql to s3:\/\/\S+: part \d+: http:\/\/127\.0\.0\.1:\d+ answered 500 InternalError after 3 attempts$/,
      );
      assert.deepEqual(await rawEntries(bucket), [], 'no object, no incomplete upload');
    });
  }

  test('a part whose file can no longer be read fails with one line, not an uncaught error, and leaves no upload', async (t) => {
    const { bucket, proxy, storage } = await proxied(t, { partSize: 5 * MiB });
    const file = await fileOf(t, randomBytes(12 * MiB));
    // The first part fails once, and by its retry the file is gone.
    let removed = false;
    proxy.plan({
      permanent: true,
      faults: ['error500'],
      match: (r) => {
        if (removed || !isUploadPart(r)) return false;
        rmSync(file);
        return (removed = true);
      },
    });
    const err = await storage.put('app/big.sql', wholeFile(file)).then(
      () => assert.fail('put should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof LifeboatError);
    assert.match(
      err.message,
      /^write app\/big\.sql to s3:\/\/\S+: part \d: read \S+: ENOENT: no such file or directory/,
    );
    assert.deepEqual(await rawEntries(bucket), [], 'no object, no incomplete upload');
  });

  test('small writes and every other request are retried too', async (t) => {
    const { proxy, storage, direct } = await proxied(t);
    proxy.plan({ rate: 0.5, faults: ['error500', 'reset', 'slowdown503', 'stall'] });
    for (let i = 0; i < 6; i++) await storage.put(`k/${i}`, [Buffer.from(`value ${i}`)]);
    assert.equal((await storage.stat('k/3'))?.size, 7);
    const keys: string[] = [];
    for await (const o of storage.list('k/')) keys.push(o.key);
    assert.equal(keys.length, 6);
    proxy.plan(undefined);
    assert.ok(Object.values(proxy.stats.faults).reduce((a, b) => a + b) >= 3, JSON.stringify(proxy.stats));
    for (let i = 0; i < 6; i++)
      assert.equal((await readAll(await direct.get(`k/${i}`))).toString(), `value ${i}`);
  });

  test('a read that breaks or stalls midway resumes where it stopped', async (t) => {
    const { proxy, storage, direct } = await proxied(t);
    const bytes = randomBytes(3 * MiB);
    await direct.put('app/dump.sql', [bytes]);
    const isGet = (r: RequestInfo) => r.method === 'GET' && r.url.includes('/app/dump.sql');
    proxy.plan({ permanent: true, faults: ['reset', 'stall', 'reset'], match: firstN(3, isGet) });
    assert.ok((await readAll(await storage.get('app/dump.sql'))).equals(bytes));
    assert.equal(proxy.stats.faults.reset + proxy.stats.faults.stall, 3);
  });
});
