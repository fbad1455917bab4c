/**
 * The worker thread that carries a files source's archive from tar to the first codec: it reads
 * tar's output from one FIFO, indexes it on the way (tar-index.ts: path, size, mode and the
 * SHA-256 of each file's bytes as archived) and writes it on into the FIFO the codec reads.
 *
 * Blocking reads and writes through one reused buffer, off the main thread: through the main
 * thread's streams every 64 KB of a 1 GB archive was a fresh buffer, and the GC and stream
 * machinery cost ~2 s of CPU (issue 13's files bench). A killed tar ends the read (end of file), a
 * killed or gone codec the write (EPIPE), so the loop never outlives them.
 */
import { readSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { isLifeboatError, oneLine, type ErrorCode } from '../../util/errors.js';
import { TarIndexer, type IndexEntry } from './tar-index.js';

export interface PumpFds {
  /** tar's output (a FIFO's read end). */
  input: number;
  /** The first codec's input (a FIFO's write end): closing it, once the pump is done, ends it. */
  output: number;
  /** The index file, JSON lines. */
  index: number;
}

export type PumpResult =
  { ok: true; entries: number; bytes: number } | { ok: false; message: string; code?: ErrorCode };

function pump({ input, output, index }: PumpFds): PumpResult {
  const buf = Buffer.allocUnsafe(1 << 20);
  let entries = 0;
  let bytes = 0;
  let lines = '';
  const indexer = new TarIndexer((e: IndexEntry) => {
    entries++;
    if (e.type === 'file') bytes += e.size;
    lines += `${JSON.stringify(e)}\n`;
  });
  // Many members' lines in one write: 100,000 small files were 100,000 writes.
  const flush = () => {
    if (lines) writeSync(index, lines);
    lines = '';
  };
  for (;;) {
    const n = readSync(input, buf, 0, buf.length, null);
    if (n === 0) break;
    const chunk = buf.subarray(0, n);
    // The indexer copies what it keeps (headers), so the buffer can be read into again.
    indexer.write(chunk);
    for (let done = 0; done < n;) done += writeSync(output, chunk, done);
    if (lines.length >= 65_536) flush();
  }
  indexer.end('archive files');
  flush();
  return { ok: true, entries, bytes };
}

// The descriptors come in a message: the thread starts before they exist, so its start-up
// (~0.1 s) overlaps making the FIFOs and starting tar instead of keeping tar waiting.
parentPort!.once('message', (fds: PumpFds) => {
  let result: PumpResult;
  try {
    result = pump(fds);
  } catch (err) {
    result = {
      ok: false,
      message: isLifeboatError(err) ? err.message : `archive files: ${oneLine(err)}`,
      code: isLifeboatError(err) ? err.code : undefined,
    };
  }
  // The main thread, which opened the descriptors, closes them when it hears this.
  parentPort!.postMessage(result);
});
