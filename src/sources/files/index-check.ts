/**
 * `verify --deep` for a files source: reads the stored archive and the stored index side by side
 * (both already decoded) and checks that they describe the same members, in the same order, with
 * the same type, size, mode, owner, mtime, link target and, for regular files, the same SHA-256 of
 * the bytes the archive holds. The sidecar checksums only prove the objects are the ones written;
 * this proves the archive holds what the index (and so a drill) expects. Streams both: memory stays
 * flat however many members.
 */
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { TarIndexer, type IndexEntry } from './tar-index.js';

export interface IndexCheck {
  /** Members in the archive. */
  entries: number;
  /** Members that differ, or that only one side lists. */
  differing: number;
  /** The first few differences, one line each. */
  details: string[];
}

const FIELDS = ['path', 'type', 'size', 'mode', 'uid', 'gid', 'mtime', 'sha256', 'link'] as const;

function difference(actual: IndexEntry, indexed: IndexEntry): string | undefined {
  const field = FIELDS.find((f) => (actual[f] ?? null) !== (indexed[f] ?? null));
  if (!field) return undefined;
  if (field === 'path') return `archive has ${actual.path} where the index lists ${indexed.path}`;
  return `${actual.path}: ${field} ${String(actual[field])} in the archive, ${String(indexed[field])} in the index`;
}

export async function checkArchiveAgainstIndex(
  archive: AsyncIterable<Buffer>,
  index: Readable,
  what: string,
): Promise<IndexCheck> {
  const result: IndexCheck = { entries: 0, differing: 0, details: [] };
  const note = (line: string) => {
    result.differing++;
    if (result.details.length < 5) result.details.push(line);
  };
  const lines = createInterface({ input: index, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const nextIndexed = async (): Promise<IndexEntry | undefined> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) return undefined;
      if (value) return JSON.parse(value) as IndexEntry;
    }
  };
  // The indexer reports members as their bytes go by; a chunk holds at most a few hundred.
  const pending: IndexEntry[] = [];
  const indexer = new TarIndexer((e) => pending.push(e));
  let indexEnded = false;
  const compare = async () => {
    for (const actual of pending.splice(0)) {
      result.entries++;
      const indexed = indexEnded ? undefined : await nextIndexed();
      if (!indexed) {
        indexEnded = true;
        note(`${actual.path}: in the archive, not in the index`);
        continue;
      }
      const why = difference(actual, indexed);
      if (why) note(why);
    }
  };
  for await (const chunk of archive) {
    indexer.write(chunk);
    await compare();
  }
  indexer.end(what);
  await compare();
  for (let extra = indexEnded ? undefined : await nextIndexed(); extra; extra = await nextIndexed())
    note(`${extra.path}: in the index, not in the archive`);
  return result;
}
