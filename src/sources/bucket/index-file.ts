/**
 * A bucket snapshot's index: one JSON line per object, in key order, saying what the object was
 * (key, size, ETag, last-modified, content type, user metadata) and where its content is (the
 * SHA-256 of the bytes and the blob key that holds them). It is the source's one artifact, stored
 * through the job's codecs like any other; restore, drill and prune read it back.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { LifeboatError } from '../../util/errors.js';

export interface IndexEntry {
  /** The object's full key in the source bucket. */
  key: string;
  size: number;
  etag: string;
  /** ISO 8601, UTC. */
  lastModified: string;
  contentType?: string;
  /** User metadata (x-amz-meta-*), as S3 returned it. */
  metadata?: Record<string, string>;
  /** Of the object's bytes. */
  sha256: string;
  /** The storage key of the blob holding the bytes (through the job's codecs). */
  blob: string;
  /**
   * The blob's stored size (after the job's codecs), when the run that wrote the entry knew it and
   * every storage's copy had it; `verify` checks it from a listing. Absent in older indexes.
   */
  stored?: number;
}

export function indexLine(e: IndexEntry): string {
  return `${JSON.stringify(e)}\n`;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** The entries of an index stream, one at a time (memory stays flat); a bad line fails naming it. */
export async function* readIndex(stream: Readable, what: string): AsyncGenerator<IndexEntry> {
  let n = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    n++;
    if (line === '') continue;
    let e: Partial<IndexEntry>;
    try {
      e = JSON.parse(line) as Partial<IndexEntry>;
    } catch {
      throw new LifeboatError('integrity', `${what}: line ${n} of the index is not JSON`);
    }
    if (
      typeof e.key !== 'string' ||
      typeof e.size !== 'number' ||
      typeof e.sha256 !== 'string' ||
      !SHA256.test(e.sha256) ||
      typeof e.blob !== 'string' ||
      (e.stored !== undefined && typeof e.stored !== 'number')
    )
      throw new LifeboatError('integrity', `${what}: line ${n} of the index is not an object entry`);
    yield e as IndexEntry;
  }
}
