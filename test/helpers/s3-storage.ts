/**
 * Test helper: an S3 storage (src/storages/s3/storage.ts) on a fresh test bucket, with short retry waits,
 * and what its backing store really holds (objects and incomplete multipart uploads).
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Storage, type S3StorageOptions } from '../../src/storages/s3/storage.js';
import type { HasAfterHook } from './cluster.js';
import { testBucket, type TestBucket } from './s3-server.js';

export const MiB = 1024 * 1024;

export function storageOn(
  bucket: Pick<TestBucket, 'name' | 'server'>,
  opts: Partial<S3StorageOptions> & { endpoint?: string } = {},
) {
  return createS3Storage({
    name: 's3',
    bucket: bucket.name,
    endpoint: bucket.server.endpoint,
    region: bucket.server.region,
    forcePathStyle: true,
    accessKeyId: bucket.server.accessKeyId,
    secretAccessKey: bucket.server.secretAccessKey,
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    ...opts,
  });
}

/** Every object and incomplete upload under `prefix`, keys relative to it; uploads as "upload:KEY". */
export async function rawEntries(bucket: TestBucket, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await bucket.client.send(
      new ListObjectsV2Command({ Bucket: bucket.name, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.push(o.Key!.slice(prefix.length));
    token = page.NextContinuationToken;
  } while (token);
  for (const key of await bucket.incompleteUploads(prefix)) out.push(`upload:${key.slice(prefix.length)}`);
  return out.sort();
}

export async function s3Fixture(t: HasAfterHook, opts: Partial<S3StorageOptions> = {}) {
  const bucket = await testBucket(t);
  const prefix = opts.prefix ?? '';
  return {
    bucket,
    storage: storageOn(bucket, opts),
    rawEntries: () => rawEntries(bucket, prefix ? `${prefix}/` : ''),
  };
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}
