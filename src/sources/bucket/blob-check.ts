/**
 * Reading blobs back: each one decoded and its bytes hashed against the SHA-256 and size the index
 * names (readBlob), a few at a time. The drill and `verify --deep` both prove a snapshot this way.
 */
import type { CodecChain } from '../../codecs/chain.js';
import type { Storage } from '../../storages/storage.js';
import { pool } from '../../util/pool.js';
import { readBlob } from './blobs.js';
import type { IndexEntry } from './index-file.js';

const CONCURRENCY = 4;

/** Reads every entry's blob back; a bad one is handed to `onBad` (the run goes on), an abort stops it. */
export async function readBack(
  storage: Storage,
  entries: IndexEntry[],
  codecs: CodecChain,
  signal: AbortSignal,
  on: { bytes?: (n: number) => void; bad: (entry: IndexEntry, err: unknown) => void },
): Promise<void> {
  await pool(entries, CONCURRENCY, signal, async (e, s) => {
    try {
      for await (const chunk of await readBlob(storage, e, codecs, s)) on.bytes?.(chunk.length);
    } catch (err) {
      if (s.aborted) throw err;
      on.bad(e, err);
    }
  });
}
