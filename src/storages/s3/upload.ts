/**
 * Writes one object to S3 from a stream of unknown length, so that nothing appears at the key
 * unless every byte arrived, and never over an existing object.
 *
 * - A body smaller than one part goes up in one PutObject with `If-None-Match: *`, which AWS S3,
 *   Ceph radosgw, R2 and MinIO refuse atomically (412) when the key exists. For servers that
 *   ignore it, `conditionalWrites: false` puts a HeadObject check first instead.
 * - A larger body becomes a multipart upload, cut into parts that grow with the object so 5 TiB
 *   fits in 10,000 parts (parts.ts). Two parts upload at once while the next one fills: memory
 *   holds at most three parts. Each part is retried on its own by the client.
 * - A body that is a whole local file (whole-file.ts) of a part or more is sent from the file by
 *   byte ranges instead (file-parts.ts): memory holds no part at all.
 * - Complete is sent with `If-None-Match: *` (honoured by AWS S3) after a HeadObject check (for
 *   servers, like radosgw, that ignore it there); then the stored size is read back.
 * - Any failure — of the body, a part, or the caller's signal — aborts the multipart upload, so the
 *   key stays empty; prune's cleanupIncomplete removes uploads whose abort itself failed.
 *
 * Every part and single upload carries Content-MD5, so the server rejects bytes that changed on the
 * way (and Object Lock buckets, which require an integrity header, accept the upload).
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { LifeboatError } from '../../util/errors.js';
import { s3ErrorAttempts, s3ErrorName } from './errors.js';
import { fileParts } from './file-parts.js';
import { BufferPool, MAX_PARTS, PARTS_IN_FLIGHT, partsOf, type OutgoingPart, type Part } from './parts.js';
import type { RetryPolicy } from '../../util/backoff.js';
import type { Body } from '../storage.js';
import { wholeFileOf } from '../whole-file.js';

export interface UploadTarget {
  client: S3Client;
  bucket: string;
  /** The full S3 key (storage prefix included). */
  key: string;
  /** The key as the caller named it, for messages. */
  label: string;
  location: string;
  partSize: number;
  /** Retries for parts sent from a file, which the SDK cannot retry (file-parts.ts). */
  retry: RetryPolicy;
  /**
   * Whether the server refuses PutObject with `If-None-Match: *` over an existing key. When not,
   * a HeadObject check comes first (which narrows the race, but cannot close it).
   */
  conditionalWrites: boolean;
  /** Content type and user metadata to store with the object (a bucket restore's). */
  headers?: { ContentType?: string; Metadata?: Record<string, string> };
  /**
   * Replace an object already at the key (a restore with --force) instead of refusing it; every
   * write of a backup leaves this unset.
   */
  overwrite?: boolean;
  /** HeadObject of the key: size and ETag, or undefined when absent; throws a LifeboatError. */
  head: () => Promise<{ size: number; etag?: string } | undefined>;
  /** Maps an SDK error to a LifeboatError whose message starts with `what`. */
  fail: (err: unknown, what: string) => LifeboatError;
}

const md5 = (buf: Buffer) => createHash('md5').update(buf).digest();

export async function uploadObject(
  body: Body,
  target: UploadTarget,
  signal: AbortSignal = new AbortController().signal,
): Promise<{ size: number }> {
  const what = `write ${target.label} to ${target.location}`;
  if (signal.aborted) throw target.fail(signal.reason, what);
  const file = wholeFileOf(body);
  // A file that cannot be stat'ed goes the common way, which reports its read error.
  const fileSize =
    file === undefined
      ? undefined
      : await stat(file).then(
          (s) => s.size,
          () => undefined,
        );
  if (file !== undefined && fileSize !== undefined && fileSize >= target.partSize) {
    // Sent from the file by ranges; the stream is never read.
    (body as { destroy?: () => void }).destroy?.();
    return await multipart(target, what, signal, fileParts(file, fileSize, target, what));
  }
  // Part uploads stop on the caller's abort and on the first failed part.
  const stop = new AbortController();
  const pool = new BufferPool();
  const parts = partsOf(body, target.partSize, pool, AbortSignal.any([signal, stop.signal]));
  try {
    const first = await parts.next();
    if (first.done || first.value.bytes.length < target.partSize)
      return await putSingle(first.value?.bytes ?? Buffer.alloc(0), target, signal, what);
    return await multipart(target, what, signal, bufferParts(first.value, parts, target, pool), stop);
  } catch (err) {
    stop.abort(err);
    if (signal.aborted) throw target.fail(signal.reason, what);
    throw err;
  } finally {
    // Closes the body if we stopped reading it early (a failed part, a refused key).
    void parts.return(undefined).catch(() => {});
  }
}

/** `first` and the rest of `parts`, each sent from its buffer and given back to `pool` once stored. */
async function* bufferParts(
  first: Part,
  parts: AsyncGenerator<Part>,
  target: UploadTarget,
  pool: BufferPool,
): AsyncGenerator<OutgoingPart> {
  for (let part: Part | undefined = first; part;) {
    const { bytes, buffer } = part;
    yield {
      length: bytes.length,
      send: async (partNumber, uploadId, partSignal) =>
        (
          await target.client.send(
            new UploadPartCommand({
              Bucket: target.bucket,
              Key: target.key,
              UploadId: uploadId,
              PartNumber: partNumber,
              Body: bytes,
              ContentLength: bytes.length,
              ContentMD5: md5(bytes).toString('base64'),
            }),
            { abortSignal: partSignal },
          )
        ).ETag,
      stored: () => pool.give(buffer),
    };
    const next = await parts.next();
    part = next.done ? undefined : next.value;
  }
}

/**
 * One multipart upload of `parts`: PARTS_IN_FLIGHT of them at once while the next one is made
 * ready, then Complete. Any failure (of a part, of `parts` itself, or the caller's signal) aborts
 * the upload, so nothing appears at the key. `stop`, when given, is aborted with the failure too
 * (it stops the producer of `parts`).
 */
async function multipart(
  target: UploadTarget,
  what: string,
  signal: AbortSignal,
  parts: AsyncGenerator<OutgoingPart>,
  stop = new AbortController(),
): Promise<{ size: number }> {
  // Part uploads stop on the caller's abort and on the first failed part.
  const partSignal = AbortSignal.any([signal, stop.signal]);
  let uploadId: string | undefined;
  const inflight = new Set<Promise<void>>();
  try {
    uploadId = (
      await send(target, what, signal, () =>
        target.client.send(
          new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, ...target.headers }),
          { abortSignal: signal },
        ),
      )
    ).UploadId;
    const completed: CompletedPart[] = [];
    let failure: unknown;
    let count = 0;
    let size = 0;
    const start = (part: OutgoingPart) => {
      const partNumber = ++count;
      if (partNumber > MAX_PARTS) {
        throw new LifeboatError('failed', `${what}: larger than S3's ${MAX_PARTS} parts allow`, {
          hint: 'raise partSizeMiB for this storage',
        });
      }
      size += part.length;
      const done = part
        .send(partNumber, uploadId, partSignal)
        .then(
          (etag) => {
            completed[partNumber - 1] = { PartNumber: partNumber, ETag: etag };
            part.stored?.();
          },
          (err) => {
            // A part's own LifeboatError (its file could not be read) already says what failed.
            failure ??= err instanceof LifeboatError ? err : target.fail(err, `${what}: part ${partNumber}`);
            stop.abort(failure);
          },
        )
        .finally(() => inflight.delete(done));
      inflight.add(done);
    };

    for (;;) {
      const next = await parts.next();
      if (next.done) break;
      while (inflight.size >= PARTS_IN_FLIGHT && !failure) await Promise.race(inflight);
      if (failure) throw failure;
      start(next.value);
    }
    await Promise.all(inflight);
    if (failure) throw failure;

    // radosgw ignores If-None-Match on Complete; AWS S3 honours it.
    if (!target.overwrite) await refuseExisting(target, what);
    // A retried Complete whose first try went through finds its upload gone: ours is stored.
    await sendOnce(target, signal, what, {
      send: (abortSignal) =>
        target.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: uploadId,
            MultipartUpload: { Parts: completed },
            ...(target.overwrite ? {} : { IfNoneMatch: '*' }),
          }),
          { abortSignal },
        ),
      refusedAs: 'NoSuchUpload',
      stored: async () => (await target.head())?.size === size,
    });
    uploadId = undefined;
    await checkStoredSize(target, size, what);
    return { size };
  } catch (err) {
    stop.abort(err);
    // Parts still going stop on the abort; the upload is aborted once none can add to it.
    await Promise.allSettled(inflight);
    if (uploadId) await abortUpload(target, uploadId);
    if (signal.aborted) throw target.fail(signal.reason, what);
    throw err;
  } finally {
    void parts.return(undefined).catch(() => {});
  }
}

/** Runs one SDK call, mapping its failure to a LifeboatError. */
async function send<T>(target: UploadTarget, what: string, signal: AbortSignal, call: () => Promise<T>) {
  try {
    return await call();
  } catch (err) {
    throw target.fail(signal.aborted ? signal.reason : err, what);
  }
}

async function refuseExisting(target: UploadTarget, what: string): Promise<void> {
  if (await target.head()) {
    throw new LifeboatError('exists', `${what}: an object already exists at this key`, {
      hint: 'Lifeboat never overwrites; something else wrote this key meanwhile (another job with the same layout and no {job}?)',
    });
  }
}

async function putSingle(buf: Buffer, target: UploadTarget, signal: AbortSignal, what: string) {
  const conditional = target.conditionalWrites && !target.overwrite;
  if (!target.conditionalWrites && !target.overwrite) await refuseExisting(target, what);
  const digest = md5(buf);
  // 412 on a retry can mean our own first attempt was stored and only its answer was lost.
  await sendOnce(target, signal, what, {
    send: (abortSignal) =>
      target.client.send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: target.key,
          Body: buf,
          ContentLength: buf.length,
          ContentMD5: digest.toString('base64'),
          ...target.headers,
          ...(conditional ? { IfNoneMatch: '*' } : {}),
        }),
        { abortSignal },
      ),
    refusedAs: 'PreconditionFailed',
    stored: () => sameBytes(target, buf, digest),
  });
  // Content-MD5 made the server check every byte; no read-back needed.
  return { size: buf.length };
}

/**
 * Sends a write that must not replace anything. The SDK retries a write whose answer was lost;
 * when the first try went through, the retry is refused (`refusedAs`), and `stored` then finds
 * our object in place: that refusal is our success, any other failure is the write's.
 */
async function sendOnce(
  target: UploadTarget,
  signal: AbortSignal,
  what: string,
  write: {
    send: (abortSignal: AbortSignal) => Promise<unknown>;
    refusedAs: string;
    stored: () => Promise<boolean>;
  },
): Promise<void> {
  try {
    await write.send(signal);
  } catch (err) {
    const retried = s3ErrorAttempts(err) > 1;
    if (!(s3ErrorName(err) === write.refusedAs && retried && (await write.stored())))
      throw target.fail(signal.aborted ? signal.reason : err, what);
  }
}

async function sameBytes(target: UploadTarget, buf: Buffer, digest: Buffer): Promise<boolean> {
  const head = await target.head().catch(() => undefined);
  return head?.size === buf.length && head.etag === `"${digest.toString('hex')}"`;
}

/** Reads back the stored size; a wrong one (never seen, but cheap to rule out) removes the object. */
async function checkStoredSize(target: UploadTarget, size: number, what: string): Promise<void> {
  const stored = await target.head().catch(() => 'unknown' as const);
  if (stored === 'unknown' || stored?.size === size) return;
  await target.client
    .send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key }))
    .catch(() => undefined);
  throw new LifeboatError(
    'integrity',
    `${what}: stored ${stored?.size ?? 'nothing'} bytes instead of ${size}`,
    { hint: 'the S3 server lost data; check it and run the backup again' },
  );
}

/** Best effort, with its own short deadline: the caller's signal may be the reason we are here. */
async function abortUpload(target: UploadTarget, uploadId: string): Promise<void> {
  await target.client
    .send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }), {
      abortSignal: AbortSignal.timeout(60_000),
    })
    .catch(() => undefined);
}
