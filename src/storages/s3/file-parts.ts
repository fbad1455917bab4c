/**
 * Multipart parts sent straight from a local file (a body made by storages/whole-file.ts), so that
 * memory holds no part: each part's Content-MD5 comes from one read of its byte range into a small
 * reused buffer, and its body is a second read of that range (from the page cache), streamed.
 *
 * The SDK does not retry a request whose body is a stream (it cannot rewind it), so each part is
 * retried here (util/retrying.ts): the same failures and waits as the SDK's retries (retry.ts), a
 * fresh stream each attempt.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RetryPolicy } from '../../util/backoff.js';
import { LifeboatError } from '../../util/errors.js';
import { retrying } from '../../util/retrying.js';
import { isTransientS3Error } from './errors.js';
import { partSizeFor, type OutgoingPart } from './parts.js';
import { FILE_CHUNK } from '../whole-file.js';

export interface FilePartsTarget {
  client: S3Client;
  bucket: string;
  key: string;
  partSize: number;
  retry: RetryPolicy;
}

/** A part's byte range of the file, and its MD5. */
interface FileRange {
  file: string;
  start: number;
  length: number;
  md5: string;
}

/** One part to send from its range: where to, which part of which upload, until when. */
interface RangeSend {
  target: FilePartsTarget;
  range: FileRange;
  part: { number: number; what: string };
  uploadId: string | undefined;
  signal: AbortSignal;
}

/** How much of a part one read takes for its MD5 (one buffer per upload, reused). */
const MD5_READ = 256 * 1024;

/** The MD5 of `length` bytes of `file` from `start`, read through `buf`. */
async function rangeMd5(file: string, start: number, length: number, buf: Buffer): Promise<string> {
  const hash = createHash('md5');
  const handle = await open(file, 'r');
  try {
    for (let at = 0; at < length;) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, length - at), start + at);
      if (bytesRead === 0) throw new Error(`${file} ended at byte ${start + at}, before its part did`);
      hash.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('base64');
}

/** A part's file could not be read: one line, after the upload it belongs to. */
function readFailed(what: string, partNumber: number, file: string, err: unknown): LifeboatError {
  return new LifeboatError('failed', `${what}: part ${partNumber}: read ${file}: ${(err as Error).message}`);
}

/** Sends the range as its part, retried as the SDK would have; resolves to the part's ETag. */
async function sendRange(send: RangeSend): Promise<string | undefined> {
  let attempts = 0;
  try {
    return await retrying(
      (n) => {
        attempts = n;
        return sendOnce(send);
      },
      { policy: send.target.retry, retryable: isTransientS3Error, signal: send.signal },
    );
  } catch (err) {
    throw withAttempts(err, attempts);
  }
}

/** One attempt, from a fresh read of the range. */
async function sendOnce({ target, range, part, uploadId, signal }: RangeSend): Promise<string | undefined> {
  const body = createReadStream(range.file, {
    start: range.start,
    end: range.start + range.length - 1,
    highWaterMark: FILE_CHUNK,
  });
  // The SDK pipes the body without listening for its errors: a read that fails would be an
  // uncaught 'error' event. It ends this attempt instead, and the part with it.
  const unreadable = new AbortController();
  body.once('error', (err) => unreadable.abort(err));
  try {
    const r = await target.client.send(
      new UploadPartCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: uploadId,
        PartNumber: part.number,
        Body: body,
        ContentLength: range.length,
        ContentMD5: range.md5,
      }),
      { abortSignal: AbortSignal.any([signal, unreadable.signal]) },
    );
    return r.ETag;
  } catch (err) {
    if (unreadable.signal.aborted && !signal.aborted)
      throw readFailed(part.what, part.number, range.file, unreadable.signal.reason);
    throw err;
  } finally {
    body.destroy();
  }
}

/** Records on an SDK error how many attempts were made, as the SDK's own retries do (for messages). */
function withAttempts(err: unknown, attempts: number): unknown {
  if (typeof err === 'object' && err !== null) {
    const e = err as { $metadata?: { attempts?: number } };
    e.$metadata = { ...e.$metadata, attempts };
  }
  return err;
}

/**
 * The parts of `file` (`size` bytes), in order, each with its MD5 read ahead of its upload; a read
 * that fails says so after `what`.
 */
export async function* fileParts(
  file: string,
  size: number,
  target: FilePartsTarget,
  what: string,
): AsyncGenerator<OutgoingPart> {
  const buf = Buffer.allocUnsafe(MD5_READ);
  for (let partNumber = 1, start = 0; start < size; partNumber++) {
    const length = Math.min(partSizeFor(partNumber, target.partSize), size - start);
    const md5 = await rangeMd5(file, start, length, buf).catch((err: unknown) => {
      throw readFailed(what, partNumber, file, err);
    });
    const range = { file, start, length, md5 };
    yield {
      length,
      send: (number, uploadId, signal) =>
        sendRange({ target, range, part: { number, what }, uploadId, signal }),
    };
    start += length;
  }
}
