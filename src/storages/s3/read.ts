/**
 * Reading an object from S3 as a stream that survives a dropped or stalled connection: when the
 * body fails midway with a transient error, the read resumes with a Range request from the byte it
 * got to, pinned to the same object version by If-Match on its ETag. A restore or verify of a large
 * backup therefore does not start over (or fail) because of one network blip.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { LifeboatError } from '../../util/errors.js';
import { isTransientS3Error } from './errors.js';
import { retryDelay, type RetryPolicy } from '../../util/backoff.js';
import { sleep } from '../../util/sleep.js';

export interface ReadTarget {
  client: S3Client;
  bucket: string;
  key: string;
  label: string;
  location: string;
  retry: RetryPolicy;
  fail: (err: unknown, what: string) => LifeboatError;
}

/** What the first answer said of the object: a bucket source records it beside the bytes. */
export interface ObjectHead {
  size: number;
  etag?: string;
  lastModified?: Date;
  contentType?: string;
  /** User metadata (x-amz-meta-*), names lower-cased as S3 returns them. */
  metadata: Record<string, string>;
}

export async function openObject(target: ReadTarget, signal?: AbortSignal): Promise<Readable> {
  return (await openObjectWithHead(target, signal)).stream;
}

/** openObject, plus the object's size, ETag, time, content type and user metadata. */
export async function openObjectWithHead(
  target: ReadTarget,
  signal?: AbortSignal,
): Promise<{ stream: Readable; head: ObjectHead }> {
  const { chunks, head } = await openObjectChunks(target, signal);
  return { stream: Readable.from(chunks, { objectMode: false, highWaterMark: 1 << 20 }), head };
}

/**
 * openObjectWithHead's bytes as the chunks the network brings, for a consumer that iterates them
 * itself: a Readable around them buffers up to its high-water mark and hands them on joined into a
 * fresh buffer, one more copy and allocation per MiB (a bucket backup reads every object once).
 */
export async function openObjectChunks(
  target: ReadTarget,
  signal?: AbortSignal,
): Promise<{ chunks: AsyncGenerator<Uint8Array>; head: ObjectHead }> {
  const what = `read ${target.label} from ${target.location}`;
  const request = (range?: { from: number; etag?: string }) =>
    target.client.send(
      new GetObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        ...(range ? { Range: `bytes=${range.from}-`, IfMatch: range.etag } : {}),
      }),
      { abortSignal: signal },
    );
  let first: GetObjectCommandOutput;
  try {
    first = await request();
  } catch (err) {
    throw target.fail(signal?.aborted ? signal.reason : err, what);
  }
  const etag = first.ETag;
  const total = first.ContentLength;

  async function* bytes(): AsyncGenerator<Uint8Array> {
    let response: GetObjectCommandOutput | undefined = first;
    let offset = 0;
    let failures = 0;
    for (;;) {
      try {
        response ??= await request({ from: offset, etag });
        for await (const chunk of response.Body as AsyncIterable<Uint8Array>) {
          offset += chunk.length;
          failures = 0;
          yield chunk;
        }
        // A body that ends early without an error is a dropped connection too.
        if (total === undefined || offset >= total) return;
        throw Object.assign(new Error(`body ended at byte ${offset} of ${total}`), { code: 'ECONNRESET' });
      } catch (err) {
        response = undefined;
        if (signal?.aborted) throw target.fail(signal.reason, what);
        if (!isTransientS3Error(err) || ++failures >= target.retry.maxAttempts) {
          if ((err as { name?: string }).name === 'PreconditionFailed') {
            throw new LifeboatError('integrity', `${what}: the object changed while it was read`, {
              cause: err,
            });
          }
          throw target.fail(err, `${what} at byte ${offset}`);
        }
        await sleep(retryDelay(target.retry, failures - 1), signal).catch((abort: unknown) => {
          throw target.fail(abort, what);
        });
      }
    }
  }
  const head: ObjectHead = {
    size: total ?? 0,
    etag,
    lastModified: first.LastModified,
    contentType: first.ContentType,
    metadata: first.Metadata ?? {},
  };
  return { chunks: bytes(), head };
}
