/**
 * Test helper for bucket sources: fill a source bucket, and read a bucket or a directory back as
 * key → (bytes hash, size, content type, metadata), so that two of them can be compared whole.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { filesUnder } from './lifeboat.js';

export interface ObjectState {
  sha256: string;
  size: number;
  contentType?: string;
  metadata?: Record<string, string>;
}

export type BucketState = Map<string, ObjectState>;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function putObject(
  client: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  opts: { contentType?: string; metadata?: Record<string, string> } = {},
) {
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentLength: body.length,
      ...(opts.contentType ? { ContentType: opts.contentType } : {}),
      ...(opts.metadata ? { Metadata: opts.metadata } : {}),
    }),
  );
}

export async function deleteObject(client: S3Client, bucket: string, key: string) {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** Every object under `prefix` (keys relative to it), with bytes, content type and metadata. */
export async function bucketState(client: S3Client, bucket: string, prefix = ''): Promise<BucketState> {
  const out: BucketState = new Map();
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      const bytes = await got.Body!.transformToByteArray();
      out.set(o.Key!.slice(prefix.length), {
        sha256: sha(bytes),
        size: bytes.length,
        contentType: got.ContentType,
        metadata: got.Metadata ?? {},
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** A bucket state's bytes only (what a directory restore keeps). */
export function bytesOf(state: BucketState): Map<string, string> {
  return new Map([...state].map(([k, v]) => [k, `${v.size}:${v.sha256}`]));
}

export async function dirState(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const rel of await filesUnder(dir)) {
    const bytes = await readFile(path.join(dir, rel));
    out.set(rel, `${bytes.length}:${sha(bytes)}`);
  }
  return out;
}
