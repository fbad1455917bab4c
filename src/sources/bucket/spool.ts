/**
 * Reading one object once: its SHA-256 (which names its blob) is only known at its last byte, so
 * the bytes are held until then, and encoded (compressed, encrypted) for storing.
 *
 * - An object up to `limit` bytes is copied into a pooled buffer as it arrives, and encoded into a
 *   second pooled buffer only when a storage lacks its blob. The network's chunks die young, and
 *   the pooled buffers are never garbage (byte-pool.ts says why that matters).
 * - A larger object goes through the codecs as it arrives and its encoded form into a temp file,
 *   so memory stays flat however large it is, the encoder works while the network delivers, and
 *   the disk sees the stored form (a mostly-zero multi-GB object: tens of MB), not the object.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CodecChain } from '../../codecs/chain.js';
import { encodeStream } from '../../codecs/in-process.js';
import type { Body } from '../../storages/storage.js';
import { handOver } from '../../storages/s3/parts.js';
import { wholeFile } from '../../storages/whole-file.js';
import type { BytePool } from '../../util/byte-pool.js';

/** An object's bytes as read once, hashed on the way. */
export interface Spooled {
  size: number;
  sha256: string;
  /** The blob's bytes: the object through the codecs. Called at most once. */
  encoded(signal: AbortSignal): Promise<Body>;
  /** Lets go of the held bytes, once nothing reads what encoded() gave any more. */
  release(): Promise<void>;
}

export interface SpoolOptions {
  /** Where an object larger than `limit` goes (its encoded form). */
  file: string;
  limit: number;
  /** The object's listed size: what to make room for (it may differ when the object changed). */
  sizeHint: number;
  codecs: CodecChain;
  pool: BytePool;
  signal: AbortSignal;
}

/**
 * Room for an object's encoded form: zstd and gzip grow incompressible bytes by well under 1/256,
 * age by 16 bytes per 64 KiB plus its header. Beyond it the buffer moves to a larger one (append).
 */
function encodedBound(size: number): number {
  return size + (size >> 7) + 4096;
}

/** A view of the same memory (Buffer.from would copy). */
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Appends `chunk` at `at` in `into`, moving to a larger pooled buffer when it does not fit. */
function append(pool: BytePool, into: Buffer, at: number, chunk: Uint8Array): Buffer {
  if (at + chunk.length <= into.length) {
    into.set(chunk, at);
    return into;
  }
  const larger = pool.take(at + chunk.length);
  into.copy(larger, 0, 0, at);
  pool.give(into);
  larger.set(chunk, at);
  return larger;
}

export async function spool(source: AsyncIterable<Uint8Array>, opts: SpoolOptions): Promise<Spooled> {
  const { pool, limit } = opts;
  const hash = createHash('sha256');
  const it = source[Symbol.asyncIterator]();
  let held = pool.take(Math.min(opts.sizeHint, limit));
  let size = 0;
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      const chunk = asBuffer(next.value);
      hash.update(chunk);
      if (size + chunk.length > limit) {
        // Too large to hold: what was held and the rest go through the codecs into the file.
        const spilled = await spill(
          { head: held.subarray(0, size), chunk, size: size + chunk.length },
          it,
          hash,
          opts,
        );
        pool.give(held);
        return spilled;
      }
      held = append(pool, held, size, chunk);
      size += chunk.length;
    }
  } catch (err) {
    // Stopped early (a failed read): the object's connection is let go of.
    await it.return?.();
    throw err;
  }
  return inMemory(held, size, hash.digest('hex'), opts);
}

/** An object held in memory; encoded into a second pooled buffer when asked. */
function inMemory(held: Buffer, size: number, sha256: string, opts: SpoolOptions): Spooled {
  const { pool, codecs } = opts;
  let out: Buffer | undefined;
  let settled = true;
  return {
    size,
    sha256,
    async encoded(signal) {
      const raw = held.subarray(0, size);
      if (codecs.length === 0) return [handOver(raw)];
      settled = false;
      const encoding = encodeStream(codecs, Readable.from([raw]), signal, size);
      let length = 0;
      try {
        out = pool.take(encodedBound(size));
        for await (const chunk of encoding.stdout as AsyncIterable<Buffer>) {
          out = append(pool, out, length, chunk);
          length += chunk.length;
        }
        await Promise.all(encoding.stages);
        settled = true;
      } finally {
        await Promise.allSettled(encoding.stages);
      }
      // Written here once, never again until released: an upload may send it uncopied.
      return [handOver(out.subarray(0, length))];
    },
    async release() {
      // Buffers an encoder may still have been reading (it failed) are left to the collector.
      if (!settled) return;
      pool.give(held);
      if (out) pool.give(out);
    },
  };
}

/**
 * The rest of an object larger than the limit: `first.head` (held so far) and `first.chunk`, then
 * what `it` still yields, hashed and counted, through the codecs into `opts.file`.
 */
async function spill(
  first: { head: Buffer; chunk: Buffer; size: number },
  it: AsyncIterator<Uint8Array>,
  hash: Hash,
  opts: SpoolOptions,
): Promise<Spooled> {
  let size = first.size;
  async function* rest() {
    try {
      yield first.head;
      yield first.chunk;
      for (let next = await it.next(); !next.done; next = await it.next()) {
        const chunk = asBuffer(next.value);
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    } finally {
      // Stopped early (the file could not be written): the object's connection is let go of.
      await it.return?.();
    }
  }
  const stop = new AbortController();
  const signal = AbortSignal.any([opts.signal, stop.signal]);
  const encoding = encodeStream(opts.codecs, Readable.from(rest()), signal);
  try {
    await Promise.all([
      pipeline(encoding.stdout, createWriteStream(opts.file, { flags: 'wx', mode: 0o600 }), { signal }),
      ...encoding.stages,
    ]);
  } catch (err) {
    stop.abort();
    await Promise.allSettled(encoding.stages);
    await rm(opts.file, { force: true });
    throw err;
  }
  const file = opts.file;
  return {
    size,
    sha256: hash.digest('hex'),
    // A whole file (storages/whole-file.ts): each storage may read it on its own.
    encoded: async () => wholeFile(file),
    release: () => rm(file, { force: true }),
  };
}

/** A path for a spooled object in the run's private temp directory. */
export function spoolFile(dir: string, n: number): string {
  return path.join(dir, `object-${n}`);
}
