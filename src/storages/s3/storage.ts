/**
 * A storage in an S3 bucket (AWS S3, Ceph radosgw, MinIO, R2 …), under an optional key prefix.
 * This file wires one storage together and owns stat and list; the rest lives beside it:
 * uploads in upload.ts, resumable reads in read.ts, deletes and stale-upload cleanup in
 * delete.ts (with Object Lock checks from lock.ts), error messages in errors.ts, and the
 * client — retries, stall watchdog, checksum modes — in client.ts.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { LifeboatError } from '../../util/errors.js';
import type { S3Bucket } from './bucket.js';
import { abortStaleUploads, deleteMany, deleteOne } from './delete.js';
import { s3Error, s3ErrorName, s3ErrorStatus } from './errors.js';
import { createLockCheck } from './lock.js';
import { openObject } from './read.js';
import { uploadObject } from './upload.js';
import { normalizePrefix, s3Location } from './url.js';
import { connectS3, type S3ConnectionOptions } from './settings.js';
import { validateKey, type ObjectInfo, type Storage } from '../storage.js';

export interface S3StorageOptions extends S3ConnectionOptions {
  name: string;
  bucket: string;
  prefix?: string;
  /**
   * The server honours `If-None-Match: *` on PutObject (AWS S3, Ceph radosgw, R2, MinIO): default
   * true. false: a HeadObject check before each write instead, and create-only is not atomic.
   */
  conditionalWrites?: boolean;
}

export function createS3Storage(opts: S3StorageOptions): Storage {
  const root = normalizePrefix(opts.prefix ?? '');
  const location = s3Location(opts.bucket, root);
  const { client: s3, retry, partSize, stallTimeoutSeconds, endpoint } = connectS3(opts);
  const conditionalWrites = opts.conditionalWrites ?? true;
  const b: S3Bucket = {
    client: s3,
    bucket: opts.bucket,
    root,
    location,
    key(key) {
      validateKey(key);
      return root + key;
    },
    fail: (err: unknown, what: string): LifeboatError =>
      s3Error(err, what, { bucket: opts.bucket, location, endpoint, stallTimeoutSeconds }),
  };
  const { client, bucket } = b;
  const locks = createLockCheck(b);

  /**
   * HeadObject answers carry no body, so a 403 does not say why (bad secret? no permission?
   * clock?). A one-byte GetObject of the same key does: its error names the reason.
   */
  async function explainForbidden(err: unknown, key: string, signal?: AbortSignal): Promise<unknown> {
    if (s3ErrorStatus(err) !== 403) return err;
    try {
      await client.send(new GetObjectCommand({ Bucket: bucket, Key: b.key(key), Range: 'bytes=0-0' }), {
        abortSignal: signal,
      });
    } catch (detailed) {
      if (s3ErrorStatus(detailed) === 403 && s3ErrorName(detailed) !== 'Unknown') return detailed;
    }
    return err;
  }

  /** HeadObject: size, time and ETag, or undefined when the key is absent. */
  async function head(key: string, what: string, signal?: AbortSignal) {
    try {
      const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: b.key(key) }), {
        abortSignal: signal,
      });
      return { size: h.ContentLength ?? 0, modified: h.LastModified ?? new Date(0), etag: h.ETag };
    } catch (err) {
      if (s3ErrorStatus(err) === 404) return undefined;
      throw b.fail(await explainForbidden(err, key, signal), what);
    }
  }

  return {
    name: opts.name,
    location,
    capabilities: { atomicCreateOnly: conditionalWrites },

    put(key, body, { signal } = {}) {
      const what = `write ${key} to ${location}`;
      const target = { ...b, key: b.key(key), label: key, partSize, retry, conditionalWrites };
      return uploadObject(body, { ...target, head: () => head(key, what, signal) }, signal);
    },

    async replace(key, bytes, { signal } = {}) {
      // A plain PutObject (no If-None-Match, no existence check): S3 swaps the object atomically.
      const target = { ...b, key: b.key(key), label: key, partSize, retry, conditionalWrites: false };
      await uploadObject([bytes], { ...target, head: async () => undefined }, signal);
    },

    get(key, { signal } = {}) {
      return openObject({ ...b, key: b.key(key), label: key, retry }, signal);
    },

    async stat(key, { signal } = {}) {
      const h = await head(key, `stat ${key} in ${location}`, signal);
      return h && { key, size: h.size, modified: h.modified };
    },

    async *list(prefix, { signal } = {}) {
      let token: string | undefined;
      do {
        let page;
        try {
          page = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: root + prefix, ContinuationToken: token }),
            { abortSignal: signal },
          );
        } catch (err) {
          throw b.fail(err, `list ${location}/${prefix}`);
        }
        for (const obj of page.Contents ?? []) {
          if (!obj.Key?.startsWith(root)) continue;
          yield {
            key: obj.Key.slice(root.length),
            size: obj.Size ?? 0,
            modified: obj.LastModified ?? new Date(0),
          } satisfies ObjectInfo;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    delete: (key, { signal, evenIfRetained } = {}) => deleteOne(b, locks, key, signal, evenIfRetained),
    deleteMany: (keys, { signal } = {}) => deleteMany(b, locks, keys, signal),
    /** Aborts multipart uploads under the prefix started before `olderThan` (killed runs). */
    cleanupIncomplete: (olderThan, { signal } = {}) => abortStaleUploads(b, olderThan, signal),
  };
}
