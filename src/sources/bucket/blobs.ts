/**
 * Blobs: a bucket source's object contents, stored once per distinct content in each of the job's
 * storages at `{job}/blobs/sha256/{h[0..2]}/{sha256}{codec extensions}` (SPEC §3), where the hash
 * is of the object's own bytes and the stored bytes went through the job's codecs (compressed,
 * encrypted when the job is). A blob is never written twice: a storage that holds the key already
 * holds those bytes, since puts are create-only and atomic. Which backups use a blob is in their
 * indexes; prune's mark and sweep (sweep.ts) removes the ones none uses.
 */
import { createHash } from 'node:crypto';
import { safeSegment } from '../../catalog/layout.js';
import { decodeArtifact } from '../../catalog/artifact-stream.js';
import type { CodecChain } from '../../codecs/chain.js';
import type { Body, Storage } from '../../storages/storage.js';
import { wholeFile, wholeFileOf } from '../../storages/whole-file.js';
import { fanOut } from '../../util/fan-out.js';
import { isLifeboatError, LifeboatError } from '../../util/errors.js';
import type { Spooled } from './spool.js';

/** Every blob of a job sits under this prefix (what prune lists). */
export function blobPrefix(job: string): string {
  return `${safeSegment(job)}/blobs/`;
}

export function blobKey(job: string, sha256: string, extension: string): string {
  return `${blobPrefix(job)}sha256/${sha256.slice(0, 2)}/${sha256}${extension}`;
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
 * Stores the spooled bytes' encoded form at `key` in every storage that lacks it (those in
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
  const put = (s: Storage, b: Body) =>
    s.put(key, b, { signal }).then(
      (stored) => {
        sizes.add(stored.size);
      },
      (err: unknown) => {
        if (!isLifeboatError(err, 'exists')) throw err;
        unknown = true;
      },
    );
  // Encoded in full (held in memory or a temp file) before any storage sees a byte: only a clean
  // end of every codec lets a storage commit the blob. A temp file each storage reads on its own
  // (an S3 one by ranges, holding no parts; the first storage takes the stream encoded() gave),
  // held bytes go to all of them at once.
  const body = await bytes.encoded(signal);
  const file = wholeFileOf(body);
  let settled: PromiseSettledResult<void>[];
  if (file !== undefined)
    settled = await Promise.allSettled(missing.map((s, i) => put(s, i === 0 ? body : wholeFile(file))));
  else {
    async function* chunks() {
      yield* body;
    }
    settled = await fanOut(
      chunks(),
      missing.map((s) => (b: AsyncIterable<Uint8Array>) => put(s, b)),
    );
  }
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return result(missing.length);
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
