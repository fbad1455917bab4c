/**
 * One snapshot of a bucket: lists the objects under the prefix page by page, and for each one
 * either carries its entry over from the previous index (unchanged: same size, ETag and
 * last-modified) or reads it once, hashes it, and stores its blob where it is missing. Yields the
 * index lines in key order while at most `concurrency` objects are in flight, so memory holds a
 * window of objects (each at most SPOOL_LIMIT bytes; larger ones go to a temp file), never the bucket.
 */
import path from 'node:path';
import { chainExtension, codecChain } from '../../codecs/chain.js';
import type { Storage } from '../../storages/storage.js';
import { BytePool } from '../../util/byte-pool.js';
import type { PlanContext } from '../source.js';
import type { BucketClient, ListedObject } from './bucket-client.js';
import { blobKey, storagesWithoutBlobs, storeBlob } from './blobs.js';
import { spool, spoolFile } from './spool.js';
import { indexLine, type IndexEntry } from './index-file.js';
import { listAhead } from './list-ahead.js';
import type { Previous } from './previous.js';

/** Objects up to this size are held in memory while hashed; larger ones are encoded into a temp file. */
export const SPOOL_LIMIT = 4 * 1024 * 1024;

export interface SnapshotTotals {
  objects: number;
  bytes: number;
  read: number;
  readBytes: number;
  stored: number;
  storedBytes: number;
  skipped: string[];
}

export interface SnapshotOptions {
  client: BucketClient;
  prefix: string;
  exclude: string[];
  concurrency: number;
  ctx: PlanContext;
  previous?: Previous;
  /** A private directory for spooled objects. */
  tmp: string;
  signal: AbortSignal;
}

/** Whether `key` (below the prefix) matches an exclude glob: with a slash the whole key, else its last segment. */
export function excluded(rel: string, patterns: string[]): boolean {
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  return patterns.some((p) =>
    p.includes('/') ? path.posix.matchesGlob(rel, p) : path.posix.matchesGlob(base, p),
  );
}

export function startSnapshot(opts: SnapshotOptions): {
  lines: AsyncGenerator<string>;
  totals: SnapshotTotals;
} {
  const totals: SnapshotTotals = {
    objects: 0,
    bytes: 0,
    read: 0,
    readBytes: 0,
    stored: 0,
    storedBytes: 0,
    skipped: [],
  };
  const codecs = codecChain(opts.ctx.codecs);
  const extension = chainExtension(codecs);
  // Blobs of this run by key: a second object with the same content waits for the first's write.
  const writing = new Map<string, Promise<number | undefined>>();
  let spools = 0;
  // Each object in flight holds one buffer of its bytes and one of their encoded form (a large
  // object's goes up from its temp file, holding no parts: storages/whole-file.ts).
  const pool = new BytePool(2 * opts.concurrency * SPOOL_LIMIT);
  let lacking: Promise<Set<Storage>> | undefined;

  async function capture(o: ListedObject, signal: AbortSignal): Promise<IndexEntry | undefined> {
    const lastModified = o.lastModified.toISOString();
    const before = opts.previous?.entries.get(o.key);
    if (before && before.size === o.size && before.etag === o.etag && before.lastModified === lastModified)
      return before;
    const opened = await opts.client.open(o.key, signal);
    if (!opened) {
      totals.skipped.push(o.key);
      return undefined;
    }
    const bytes = await spool(opened.chunks, {
      file: spoolFile(opts.tmp, ++spools),
      limit: SPOOL_LIMIT,
      sizeHint: o.size,
      codecs,
      pool,
      signal,
    });
    try {
      totals.read++;
      totals.readBytes += bytes.size;
      const blob = blobKey(opts.ctx.job, bytes.sha256, extension);
      let write = writing.get(blob);
      if (!write) {
        // Asked once, before this run writes any blob; a blob put where it exists is refused and
        // counts as stored, so the answer going stale costs bytes, never correctness.
        const storagesLacking = (lacking ??= storagesWithoutBlobs(opts.ctx.storages, opts.ctx.job, signal));
        write = storagesLacking
          .then((known) => storeBlob(bytes, blob, opts.ctx.storages, known, signal))
          .then(({ written, stored }) => {
            if (written > 0) {
              totals.stored++;
              totals.storedBytes += bytes.size;
            }
            return stored;
          });
        writing.set(blob, write);
        write.catch(() => writing.delete(blob));
      }
      const stored = await write;
      // What was listed, unless the object changed between list and read: then what was read (the
      // next run sees the difference and reads it again).
      const same = opened.head.etag === o.etag;
      return {
        key: o.key,
        size: bytes.size,
        etag: same ? o.etag : (opened.head.etag ?? ''),
        lastModified: same ? lastModified : (opened.head.lastModified ?? o.lastModified).toISOString(),
        ...(opened.head.contentType ? { contentType: opened.head.contentType } : {}),
        ...(Object.keys(opened.head.metadata).length ? { metadata: opened.head.metadata } : {}),
        sha256: bytes.sha256,
        blob,
        ...(stored !== undefined ? { stored } : {}),
      };
    } finally {
      await bytes.release();
    }
  }

  async function* lines(): AsyncGenerator<string> {
    // The window's objects stop as soon as one fails (or the run stops).
    const stop = new AbortController();
    const signal = AbortSignal.any([opts.signal, stop.signal]);
    const window: Array<Promise<IndexEntry | undefined>> = [];
    const ahead = listAhead(opts.client.list(opts.prefix, signal), {
      keep: (o) => !excluded(o.key.slice(opts.prefix.length), opts.exclude),
      large: (o) => o.size > SPOOL_LIMIT,
      capture: (o) => capture(o, signal),
    });
    const emit = (e: IndexEntry | undefined) => {
      if (!e) return undefined;
      totals.objects++;
      totals.bytes += e.size;
      return indexLine(e);
    };
    try {
      for (let o = await ahead.next(); o; o = await ahead.next()) {
        window.push(o.entry);
        if (window.length >= opts.concurrency) {
          const line = emit(await window.shift()!);
          if (line) yield line;
        }
      }
      while (window.length) {
        const line = emit(await window.shift()!);
        if (line) yield line;
      }
    } finally {
      stop.abort();
      await Promise.allSettled([...window, ...ahead.started()]);
      await ahead.close();
    }
  }

  return { lines: lines(), totals };
}
