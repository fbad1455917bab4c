/**
 * `lifeboat verify` of a bucket source's blobs, which the manifest's checksums do not reach (they
 * cover the index, not the blobs it names). Cheap: every blob the index names is in the storage,
 * with its stored size, found in one listing of the job's blob prefix per storage and run (not a
 * HEAD per blob). `--deep`: each blob is read back, decoded, and its SHA-256 and size checked
 * against the index. Blobs shared by several backups are listed and read once per run.
 */
import { codecChain } from '../../codecs/chain.js';
import type { Storage } from '../../storages/storage.js';
import { isLifeboatError, oneLine } from '../../util/errors.js';
import type { SourceVerifyOptions, SourceVerifyResult } from '../kind.js';
import type { SourceBackup } from '../../catalog/manifest.js';
import { readBack } from './blob-check.js';
import { blobPrefix } from './blobs.js';
import type { IndexEntry } from './index-file.js';
import { snapshotEntries } from './restore.js';

/** What one verify run learnt of a storage's blobs: their sizes, and what reading them back found. */
interface StorageBlobs {
  sizes: Promise<Map<string, number>>;
  /** Blob key → undefined when it read back intact, else what is wrong with it. */
  read: Map<string, { problem: 'sha256' | 'content'; detail: string } | undefined>;
}

/** A blob that did not read back: its bytes hash wrong (readBlob's message), or do not decode. */
function readProblem(err: unknown): { problem: 'sha256' | 'content'; detail: string } {
  const text = oneLine(err);
  const m = /^sha256 mismatch: \S+ \((.*)\)$/.exec(text);
  return m
    ? { problem: 'sha256', detail: m[1]! }
    : { problem: 'content', detail: `does not decode: ${text}` };
}

function blobsOf(storage: Storage, job: string, opts: SourceVerifyOptions): StorageBlobs {
  const key = `bucket-blobs:${storage.name}:${storage.location}:${job}`;
  let known = opts.memo.get(key) as StorageBlobs | undefined;
  if (!known) {
    const sizes = (async () => {
      const out = new Map<string, number>();
      for await (const o of storage.list(blobPrefix(job), { signal: opts.signal })) out.set(o.key, o.size);
      return out;
    })();
    sizes.catch(() => {});
    known = { sizes, read: new Map() };
    opts.memo.set(key, known);
  }
  return known;
}

export async function verifyBucket(
  storage: Storage,
  part: SourceBackup,
  opts: SourceVerifyOptions,
): Promise<SourceVerifyResult> {
  const what = `bucket ${part.name}`;
  // One entry per blob: identical objects share one.
  const blobs = new Map<string, IndexEntry>();
  try {
    for await (const e of snapshotEntries(storage, part, { keys: opts.keys, signal: opts.signal }))
      if (!blobs.has(e.blob)) blobs.set(e.blob, e);
  } catch (err) {
    if (opts.signal.aborted) throw err;
    // No identity (or another one) for an encrypted index: its checksums held, the blobs are not reached.
    if (!isLifeboatError(err, 'integrity') || /no identity matches/.test(err.message))
      return {
        problems: [],
        warnings: [`${what}: blobs not checked, the index cannot be read (${oneLine(err)})`],
      };
    const index = part.artifacts.find((a) => a.role === 'index')?.key ?? part.name;
    return { problems: [{ key: index, problem: 'content', detail: oneLine(err) }], warnings: [] };
  }
  const codecs = codecChain(part, opts.keys);
  const known = blobsOf(storage, part.job, opts);
  const sizes = await known.sizes;
  const problems: SourceVerifyResult['problems'] = [];
  const present: IndexEntry[] = [];
  for (const e of blobs.values()) {
    const size = sizes.get(e.blob);
    // The stored size when the index knows it; without codecs it is the object's own size.
    const expected = e.stored ?? (codecs.length === 0 ? e.size : undefined);
    if (size === undefined) problems.push({ key: e.blob, problem: 'missing', detail: 'blob is missing' });
    else if (expected !== undefined && size !== expected)
      problems.push({ key: e.blob, problem: 'size', detail: `size ${size}, the index says ${expected}` });
    else if (expected === undefined && size === 0)
      problems.push({ key: e.blob, problem: 'size', detail: 'size 0, but codecs never write an empty blob' });
    else present.push(e);
  }
  if (!opts.deep) {
    if (problems.length === 0)
      return { problems, warnings: [], proven: `${what}: ${blobs.size} blob(s) present` };
    return { problems, warnings: [] };
  }
  const unread = present.filter((e) => !known.read.has(e.blob));
  await readBack(storage, unread, codecs, opts.signal, {
    bad: (e, err) => known.read.set(e.blob, readProblem(err)),
  });
  for (const e of unread) if (!known.read.has(e.blob)) known.read.set(e.blob, undefined);
  for (const e of present) {
    const bad = known.read.get(e.blob);
    if (bad) problems.push({ key: e.blob, ...bad });
  }
  if (problems.length) return { problems, warnings: [] };
  return { problems, warnings: [], proven: `${what}: ${blobs.size} blob(s) read back, sha256 OK` };
}
