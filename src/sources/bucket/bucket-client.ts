/**
 * The bucket a source backs up, or a restore writes to, reached through the S3 storage's own
 * machinery (storages/s3/): the same client with its retries and stall watchdog, resumable reads,
 * multipart uploads with Content-MD5. Keys here are the bucket's own, whatever they hold (a
 * storage's keys are Lifeboat's and validated; a user's bucket may have any key S3 allows).
 */
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { s3Error, s3ErrorStatus } from '../../storages/s3/errors.js';
import { openObjectChunks, type ObjectHead } from '../../storages/s3/read.js';
import { connectS3, type S3ConnectionOptions } from '../../storages/s3/settings.js';
import { uploadObject } from '../../storages/s3/upload.js';
import { s3Location } from '../../storages/s3/url.js';
import type { Body } from '../../storages/storage.js';
import { isLifeboatError, LifeboatError } from '../../util/errors.js';

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface BucketClient {
  /** s3://bucket, for messages. */
  readonly location: string;
  /** Every object under `prefix`, in key order, page by page. */
  list(prefix: string, signal?: AbortSignal): AsyncGenerator<ListedObject>;
  /** The object's bytes and what S3 says of it; undefined when it is gone. */
  open(
    key: string,
    signal?: AbortSignal,
  ): Promise<{ chunks: AsyncIterable<Uint8Array>; head: ObjectHead } | undefined>;
  /** Stores `body` at `key` with its content type and metadata; refuses an existing key unless `overwrite`. */
  put(
    key: string,
    body: Body,
    opts: {
      contentType?: string;
      metadata?: Record<string, string>;
      overwrite?: boolean;
      signal?: AbortSignal;
    },
  ): Promise<{ size: number }>;
  destroy(): void;
}

/**
 * `conditionalWrites: false` (an `s3` storage's setting, for servers that ignore If-None-Match)
 * guards a create-only put with a HEAD instead.
 */
export function openBucket(
  conn: S3ConnectionOptions,
  bucket: string,
  settings: { conditionalWrites?: boolean } = {},
): BucketClient {
  const { client, retry, partSize, stallTimeoutSeconds, endpoint } = connectS3(conn);
  const location = s3Location(bucket, '');
  const fail = (err: unknown, what: string) =>
    s3Error(err, what, { bucket, location, endpoint, stallTimeoutSeconds });

  async function head(key: string, signal?: AbortSignal) {
    try {
      const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), {
        abortSignal: signal,
      });
      return { size: h.ContentLength ?? 0, etag: h.ETag };
    } catch (err) {
      if (s3ErrorStatus(err) === 404) return undefined;
      throw fail(err, `stat ${key} in ${location}`);
    }
  }

  return {
    location,
    async *list(prefix, signal) {
      let token: string | undefined;
      do {
        let page;
        try {
          page = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
            { abortSignal: signal },
          );
        } catch (err) {
          throw fail(err, `list ${location}/${prefix}`);
        }
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined) continue;
          yield {
            key: o.Key,
            size: o.Size ?? 0,
            etag: o.ETag ?? '',
            lastModified: o.LastModified ?? new Date(0),
          };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async open(key, signal) {
      try {
        return await openObjectChunks({ client, bucket, key, label: key, location, retry, fail }, signal);
      } catch (err) {
        if (isLifeboatError(err, 'not-found')) return undefined;
        throw err;
      }
    },
    put(key, body, opts) {
      if (key === '') throw new LifeboatError('usage', `write to ${location}: an empty key`);
      const headers = {
        ...(opts.contentType ? { ContentType: opts.contentType } : {}),
        ...(opts.metadata && Object.keys(opts.metadata).length ? { Metadata: opts.metadata } : {}),
      };
      return uploadObject(
        body,
        {
          client,
          bucket,
          key,
          label: key,
          location,
          partSize,
          retry,
          conditionalWrites: settings.conditionalWrites ?? true,
          headers,
          overwrite: opts.overwrite,
          head: () => head(key, opts.signal),
          fail,
        },
        opts.signal,
      );
    },
    destroy: () => client.destroy(),
  };
}
