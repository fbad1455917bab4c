/**
 * Removing objects from an S3 storage: one key (idempotent), many keys in DeleteObjects batches of
 * at most 1,000, and stale incomplete multipart uploads (what a killed run leaves). Locked objects
 * are refused with ObjectLockedError before any delete marker is written (see lock.ts).
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
} from '@aws-sdk/client-s3';
import type { S3Bucket } from './bucket.js';
import { s3ErrorName, s3ErrorStatus } from './errors.js';
import type { LockCheck } from './lock.js';

/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

const isDenied = (name: string | undefined) => name === 'AccessDenied';

export async function deleteOne(
  b: S3Bucket,
  locks: LockCheck,
  key: string,
  signal?: AbortSignal,
  evenIfRetained = false,
) {
  const locked = evenIfRetained ? undefined : (await locks.lockedAmong([key], signal)).get(key);
  if (locked) throw locked;
  try {
    await b.client.send(new DeleteObjectCommand({ Bucket: b.bucket, Key: b.key(key) }), {
      abortSignal: signal,
    });
  } catch (err) {
    if (s3ErrorStatus(err) === 404 && s3ErrorName(err) !== 'NoSuchBucket') return;
    throw isDenied(s3ErrorName(err))
      ? await locks.refused(key, err, signal)
      : b.fail(err, `delete ${key} from ${b.location}`);
  }
}

/** Storage.deleteMany: the keys not removed, each with its error; throws when a whole batch fails. */
export async function deleteMany(b: S3Bucket, locks: LockCheck, keys: string[], signal?: AbortSignal) {
  const failures: Array<{ key: string; error: unknown }> = [];
  const unique = [...new Set(keys)];
  const locked = await locks.lockedAmong(unique, signal);
  for (const [key, error] of locked) failures.push({ key, error });
  const todo = unique.filter((key) => !locked.has(key));
  for (let i = 0; i < todo.length; i += DELETE_BATCH) {
    const batch = todo.slice(i, i + DELETE_BATCH);
    let result;
    try {
      result = await b.client.send(
        new DeleteObjectsCommand({
          Bucket: b.bucket,
          Delete: { Objects: batch.map((key) => ({ Key: b.key(key) })), Quiet: true },
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      throw b.fail(err, `delete ${batch.length} object(s) from ${b.location}`);
    }
    for (const e of result.Errors ?? []) {
      if (e.Code === 'NoSuchKey') continue;
      const key = (e.Key ?? '').slice(b.root.length);
      const cause = Object.assign(new Error(e.Message ?? e.Code ?? 'refused'), { name: e.Code });
      failures.push({
        key,
        error: isDenied(e.Code)
          ? await locks.refused(key, cause, signal)
          : b.fail(cause, `delete ${key} from ${b.location}`),
      });
    }
  }
  return failures;
}

/** Aborts multipart uploads under the prefix started before `olderThan`; returns their keys. */
export async function abortStaleUploads(b: S3Bucket, olderThan: Date, signal?: AbortSignal) {
  const removed: string[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  do {
    let page;
    try {
      page = await b.client.send(
        new ListMultipartUploadsCommand({
          Bucket: b.bucket,
          Prefix: b.root,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      throw b.fail(err, `list incomplete uploads in ${b.location}`);
    }
    for (const upload of page.Uploads ?? []) {
      if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated >= olderThan) continue;
      try {
        await b.client.send(
          new AbortMultipartUploadCommand({ Bucket: b.bucket, Key: upload.Key, UploadId: upload.UploadId }),
          { abortSignal: signal },
        );
      } catch (err) {
        if (s3ErrorName(err) !== 'NoSuchUpload')
          throw b.fail(err, `abort incomplete upload of ${upload.Key}`);
      }
      removed.push(upload.Key.slice(b.root.length));
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
  } while (keyMarker);
  return removed;
}
