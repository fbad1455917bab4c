/**
 * Cutting an upload's body — a stream of unknown length — into multipart-upload parts. The part
 * size grows with the object: the first 1,000 parts have the configured size (8 MiB by default),
 * every further 1,000 twice the size before, up to S3's 5 GiB, so 10,000 parts hold
 * partSize × 1,023,000 bytes (8 TiB from 8 MiB) while a small dump only ever fills small parts.
 */
import type { Body } from '../storage.js';

const MiB = 1024 * 1024;
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;
const PARTS_PER_SIZE = 1000;
/** Parts uploading at once; with the one being filled, at most three parts sit in memory. */
export const PARTS_IN_FLIGHT = 2;

/** The size of part `partNumber` (1-based) for an upload that starts at `initial` bytes a part. */
export function partSizeFor(partNumber: number, initial: number): number {
  return Math.min(MAX_PART_SIZE, initial * 2 ** Math.floor((partNumber - 1) / PARTS_PER_SIZE));
}

/** The largest object an upload starting at `initial` bytes a part can hold. */
export function maxObjectSize(initial: number): number {
  let total = 0;
  for (let tier = 0; tier < MAX_PARTS / PARTS_PER_SIZE; tier++)
    total += PARTS_PER_SIZE * partSizeFor(tier * PARTS_PER_SIZE + 1, initial);
  return total;
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function iteratorOf(body: Body): AsyncIterator<Uint8Array> | Iterator<Uint8Array> {
  return Symbol.asyncIterator in body
    ? (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
    : (body as Iterable<Uint8Array>)[Symbol.iterator]();
}

/**
 * Part buffers, reused: an upload allocates its first three, then nothing more until the part size
 * grows. Long uploads then leave no garbage of their own, which keeps the RSS low and flat.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  take(size: number): Buffer {
    const i = this.free.findIndex((b) => b.length === size);
    return i >= 0 ? this.free.splice(i, 1)[0]! : Buffer.allocUnsafe(size);
  }
  give(buf: Buffer): void {
    if (this.free.length <= PARTS_IN_FLIGHT) this.free.push(buf);
  }
}

export interface Part {
  bytes: Buffer;
  /** The buffer behind `bytes`, to give back to the pool once the part is stored. */
  buffer: Buffer;
}

/**
 * A part as a multipart upload sends it (upload.ts): from a buffer (partsOf) or from a file's byte
 * range (file-parts.ts). send() resolves to the part's ETag.
 */
export interface OutgoingPart {
  length: number;
  send(partNumber: number, uploadId: string | undefined, signal: AbortSignal): Promise<string | undefined>;
  /** Called once the part is stored. */
  stored?(): void;
}

/** Memory whose producer never writes it again (handOver). */
const handedOver = new WeakSet<ArrayBufferLike>();

/**
 * Says that the producer of `chunk` (an in-process encoder's output, codecs/out-chunk.ts) never
 * writes its memory again, so a small body's adjacent chunks of it may go up as one view instead
 * of a copy. A producer that reuses its buffer must not call this.
 */
export function handOver<T extends Uint8Array>(chunk: T): T {
  handedOver.add(chunk.buffer);
  return chunk;
}

/**
 * `chunks` (of `size` bytes in all) as one Buffer: a view when they are adjacent slices of one
 * handed-over allocation, else a copy. Only for a body that fits in one part: such a buffer is
 * never given to the pool (it is not ours to write into).
 */
export function joined(chunks: Uint8Array[], size: number): Buffer {
  const first = chunks[0];
  if (!first || !handedOver.has(first.buffer)) return Buffer.concat(chunks, size);
  let end = first.byteOffset;
  for (const c of chunks) {
    if (c.buffer !== first.buffer || c.byteOffset !== end) return Buffer.concat(chunks, size);
    end += c.byteLength;
  }
  return end - first.byteOffset === size
    ? Buffer.from(first.buffer, first.byteOffset, size)
    : Buffer.concat(chunks, size);
}

/** Copies `chunks` into `into`, from its start. */
function gathered(chunks: Uint8Array[], into: Buffer): Buffer {
  let at = 0;
  for (const c of chunks) {
    into.set(c, at);
    at += c.length;
  }
  return into;
}

/**
 * Cuts `body` into parts of the sizes above. The last part may be short (or empty, for an empty
 * body). The first part gathers chunks and copies them into a pooled buffer once it knows its
 * size, so a small body never costs a whole part's buffer; later chunks are copied straight into
 * pooled buffers. A read that never resolves (a stalled dump) loses to the signal.
 */
export async function* partsOf(
  body: Body,
  initial: number,
  pool: BufferPool,
  signal: AbortSignal,
): AsyncGenerator<Part> {
  const it = iteratorOf(body);
  let partNumber = 1;
  let pending: Uint8Array[] = [];
  let buffer: Buffer | undefined;
  let filled = 0;
  try {
    for (;;) {
      const next = await raceAbort(Promise.resolve(it.next()), signal);
      if (next.done) break;
      let chunk = next.value;
      while (chunk.length > 0) {
        const size = partSizeFor(partNumber, initial);
        const take = Math.min(chunk.length, size - filled);
        if (partNumber === 1) pending.push(chunk.subarray(0, take));
        else (buffer ??= pool.take(size)).set(chunk.subarray(0, take), filled);
        filled += take;
        chunk = chunk.subarray(take);
        if (filled === size) {
          const full = buffer ?? gathered(pending, pool.take(size));
          yield { bytes: full, buffer: full };
          partNumber++;
          pending = [];
          buffer = undefined;
          filled = 0;
        }
      }
    }
    if (filled > 0 || partNumber === 1) {
      const bytes = buffer ? buffer.subarray(0, filled) : joined(pending, filled);
      yield { bytes, buffer: buffer ?? bytes };
    }
  } finally {
    // Stop the producer (closes a stream, runs a generator's cleanup), without waiting on one that
    // is stuck: it may never answer.
    void Promise.resolve(it.return?.()).catch(() => {});
  }
}
