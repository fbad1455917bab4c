/**
 * Blobs: a bucket source's object contents, stored once per distinct content in each of the job's
 * storages at `{job}/blobs/sha256/{h[0..2]}/{sha256}{codec extensions}` (SPEC §3), where the hash
 * is of the object's own bytes and the stored bytes went through the job's codecs (compressed,
 * encrypted when the job is). A blob is never written twice: a storage that holds the key already
 * holds those bytes, since puts are create-only and atomic. Which backups use a blob is in their
 * indexes; prune's mark and sweep (sweep.ts) removes the ones none uses.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { safeSegment } from '../../catalog/layout.js';
import { decodeArtifact } from '../../catalog/artifact-stream.js';
import type { CodecChain } from '../../codecs/chain.js';
import { encodeStream } from '../../codecs/in-process.js';
import type { Storage } from '../../storages/storage.js';
import { handOver } from '../../storages/s3/parts.js';
import { fanOut } from '../../util/fan-out.js';
import { isLifeboatError, LifeboatError } from '../../util/errors.js';

/** Every blob of a job sits under this prefix (what prune lists). */
export function blobPrefix(job: string): string {
  return `${safeSegment(job)}/blobs/`;
}

export function blobKey(job: string, sha256: string, extension: string): string {
  return `${blobPrefix(job)}sha256/${sha256.slice(0, 2)}/${sha256}${extension}`;
}

/** A view of the same memory (Buffer.from would copy). */
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** An object's bytes as read once: hashed on the way, kept in memory when small, else in a temp file. */
export interface Spooled {
  size: number;
  sha256: string;
  open(): Readable;
  release(): Promise<void>;
}

/**
 * Reads `source` to its end, hashing it. Up to `limit` bytes stay in memory; a larger object goes
 * to `file` (written as it arrives, so memory stays flat however large it is). The hash must be
 * known before the blob's key is, which is why the bytes are held once rather than streamed on.
 *
 * A small object (most of a bucket) is joined into one buffer (for a moment it is held twice):
 * one write into the encoder instead of one per network read, dozens per MiB, each a round trip
 * to libuv's thread pool, which together cost more CPU than the copy.
 */
export async function spool(
  source: AsyncIterable<Uint8Array>,
  file: string,
  limit: number,
  signal: AbortSignal,
): Promise<Spooled> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  const it = source[Symbol.asyncIterator]();
  // The next chunk, hashed and counted; undefined at the end.
  const take = async (): Promise<Buffer | undefined> => {
    const next = await it.next();
    if (next.done) return undefined;
    const chunk = asBuffer(next.value);
    hash.update(chunk);
    size += chunk.length;
    return chunk;
  };
  let spilled = false;
  for (let chunk = await take(); chunk; chunk = await take()) {
    chunks.push(chunk);
    if (size > limit) {
      spilled = true;
      break;
    }
  }
  if (!spilled) {
    const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    chunks.length = 0;
    return { size, sha256: hash.digest('hex'), open: () => Readable.from([whole]), release: async () => {} };
  }
  async function* rest() {
    try {
      for (const c of chunks) yield c;
      chunks.length = 0;
      for (let chunk = await take(); chunk; chunk = await take()) yield chunk;
    } finally {
      // Stopped early (the file could not be written): the object's connection is let go of.
      await it.return?.();
    }
  }
  try {
    await pipeline(rest(), createWriteStream(file, { flags: 'wx', mode: 0o600 }), { signal });
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
  return {
    size,
    sha256: hash.digest('hex'),
    open: () => createReadStream(file, { highWaterMark: 1 << 20 }),
    release: () => rm(file, { force: true }),
  };
}

/**
 * The storages that held no blob of `job` when the run started: a blob this run stores there needs
 * no existence check first (one HeadObject per blob saved on a first backup), since only a run
 * holding the job's lock writes blobs, and this run dedups its own writes.
 */
export async function storagesWithoutBlobs(
  storages: Storage[],
  job: string,
  signal: AbortSignal,
): Promise<Set<Storage>> {
  const empty = new Set<Storage>();
  for (const s of storages) {
    let any = false;
    for await (const _ of s.list(blobPrefix(job), { signal })) {
      any = true;
      break;
    }
    if (!any) empty.add(s);
  }
  return empty;
}

/**
 * Stores the spooled bytes at `key` through the codecs in every storage that lacks it (those in
 * `lacking` are known to; the others are asked). Returns how many storages took it (0: all had
 * it), and the blob's stored size when every storage's copy has the same one (copies written at
 * different times may differ: another zstd, another level). A storage that got the same blob from
 * someone else meanwhile ('exists') holds the same bytes, which is success (its size is then
 * unknown).
 */
export async function storeBlob(
  bytes: Spooled,
  key: string,
  storages: Storage[],
  lacking: ReadonlySet<Storage>,
  codecs: CodecChain,
  signal: AbortSignal,
): Promise<{ written: number; stored?: number }> {
  const missing: Storage[] = [];
  const sizes = new Set<number>();
  let unknown = false;
  const result = (written: number) => ({
    written,
    ...(!unknown && sizes.size === 1 ? { stored: [...sizes][0]! } : {}),
  });
  for (const s of storages) {
    const info = lacking.has(s) ? undefined : await s.stat(key, { signal });
    if (info) sizes.add(info.size);
    else missing.push(s);
  }
  if (missing.length === 0) return result(0);
  const stop = new AbortController();
  const local = AbortSignal.any([signal, stop.signal]);
  const encoded = encodeStream(codecs, bytes.open(), local, bytes.size);
  const body: AsyncIterable<Uint8Array> = encoded.stdout;
  const done = Promise.all(encoded.stages);
  done.catch(() => stop.abort());
  async function* whole() {
    // node:zlib, a child's stdout and the spool hand out fresh memory for every chunk and never
    // write it again: the upload may send a small blob's chunks uncopied.
    for await (const chunk of body) yield handOver(chunk);
    // Only a clean end of every codec lets a storage commit the blob.
    await done;
  }
  try {
    const settled = await fanOut(
      whole(),
      missing.map((s) => async (b: AsyncIterable<Uint8Array>) => {
        await s.put(key, b, { signal: local }).then(
          (put) => sizes.add(put.size),
          (err: unknown) => {
            if (!isLifeboatError(err, 'exists')) throw err;
            unknown = true;
          },
        );
      }),
    );
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return result(missing.length);
  } finally {
    stop.abort();
    await Promise.allSettled(encoded.stages);
  }
}

/**
 * A blob's original bytes: read from the storage, decoded, and checked against the SHA-256 and
 * size the index names as they pass. The stream fails at its end (before the last chunk is
 * handed on) when they differ, so a consumer that commits only a complete stream commits nothing.
 */
export async function readBlob(
  storage: Storage,
  entry: { blob: string; sha256: string; size: number },
  codecs: CodecChain,
  signal: AbortSignal,
): Promise<AsyncGenerator<Uint8Array>> {
  const { stream, done } = await decodeArtifact(storage, codecs, entry.blob, signal);
  return (async function* checked() {
    const hash = createHash('sha256');
    let size = 0;
    let held: Uint8Array | undefined;
    for await (const chunk of stream) {
      if (held) yield held;
      hash.update(chunk);
      size += chunk.length;
      held = chunk;
    }
    await done;
    const sha256 = hash.digest('hex');
    if (sha256 !== entry.sha256 || size !== entry.size)
      throw new LifeboatError(
        'integrity',
        `sha256 mismatch: ${entry.blob} (${size} bytes, sha256 ${sha256.slice(0, 12)}…; the index says ${entry.size} bytes, ${entry.sha256.slice(0, 12)}…)`,
        { hint: 'the blob is damaged in this storage; restore it from another storage or an older backup' },
      );
    if (held) yield held;
  })();
}

/** A path for a spooled object in the run's private temp directory. */
export function spoolFile(dir: string, n: number): string {
  return path.join(dir, `object-${n}`);
}
