/**
 * One `files` source as one POSIX (pax) tar stream, written by GNU tar (modes, owners, mtimes,
 * symlinks, hard links and empty directories, as tar keeps them). Lifeboat walks the paths and
 * hands tar the list on its stdin (so it decides what is skipped or refused), and reads tar's output
 * once on its way to the codecs to build the per-file index: path, size, mode and the SHA-256 of
 * exactly the bytes archived. The index goes to `indexFile` as JSON lines while the archive
 * streams, so memory stays flat; the caller stores it as the source's second artifact.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startChild } from '../../util/child.js';
import { LifeboatError } from '../../util/errors.js';
import type { DumpStream } from '../source.js';
import { TarIndexer, type IndexEntry } from './tar-index.js';
import { walk, type WalkOptions } from './walk.js';

export interface TarOptions {
  roots: string[];
  exclude: string[];
  onUnreadable: 'fail' | 'warn';
  indexFile: string;
  what: string;
  signal: AbortSignal;
}

export interface TarRun {
  dump: DumpStream;
  /** Files that changed, vanished or could not be read while archived (named in the manifest). */
  warnings: string[];
  /** Sockets and devices skipped. */
  notes: string[];
  /** Members archived and content bytes, once `done` resolved. */
  totals(): { entries: number; bytes: number };
}

/** tar's stderr lines that mean "archived, but not as it was when the run began". */
const CHANGED = [
  /^tar: (.*): (file changed as we read it)$/,
  /^tar: (.*): (File removed before we read it)$/,
  /^tar: (.*): (File shrank by \d+ bytes; padding with zeros)$/,
];
const UNREADABLE =
  /^tar: (.*): (Cannot open|Cannot read|Cannot stat|Cannot opendir|Cannot savedir): (Permission denied)$/;

export function tarCommand(onUnreadable: 'fail' | 'warn'): string[] {
  return [
    '--create',
    '--file=-',
    '--format=pax',
    // 64 KB records instead of 10 KB: each record is a chunk Lifeboat reads, indexes and passes on,
    // and the per-chunk cost dominated (tar reads any record size back; only the end pads to 64 KB).
    '--blocking-factor=128',
    // No access and change times: they differ on every run and restore nothing.
    '--pax-option=delete=atime,delete=ctime',
    '--no-recursion',
    '--null',
    '--verbatim-files-from',
    '--directory=/',
    '--files-from=-',
    ...(onUnreadable === 'warn' ? ['--ignore-failed-read'] : []),
  ];
}

export function startTar(opts: TarOptions): TarRun {
  const warnings: string[] = [];
  const notes: string[] = [];
  let failure: string | undefined;
  const onStderr = (line: string) => {
    for (const re of CHANGED) {
      const m = re.exec(line);
      if (m) return void warnings.push(`changed while read: /${m[1]} (${m[2]!.toLowerCase()})`);
    }
    const u = UNREADABLE.exec(line);
    if (u && opts.onUnreadable === 'warn') return void warnings.push(`unreadable, skipped: /${u[1]}`);
    if (/^tar: Exiting with failure status/.test(line)) return;
    failure ??= line.replace(/^tar: /, '');
  };
  // A walk that fails (a path vanished, a directory unreadable) stops tar at once.
  const stop = new AbortController();
  const signal = AbortSignal.any([opts.signal, stop.signal]);
  const tar = startChild('tar', tarCommand(opts.onUnreadable), {
    label: 'tar',
    stdin: 'pipe',
    signal,
    onStderr,
  });

  let entries = 0;
  let bytes = 0;
  const index = createWriteStream(opts.indexFile, { flags: 'wx' });
  const indexClosed = once(index, 'close');
  indexClosed.catch(() => {});
  // The lines of one chunk's members go to the index file in one write, not one write per file
  // (100,000 small files were 100,000 writes).
  let lines = '';
  const indexer = new TarIndexer((e: IndexEntry) => {
    entries++;
    if (e.type === 'file') bytes += e.size;
    lines += `${JSON.stringify(e)}\n`;
  });
  const flushIndex = (): boolean => {
    if (!lines) return true;
    const ok = index.write(lines);
    lines = '';
    return ok;
  };
  const tee = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      try {
        indexer.write(chunk);
      } catch (err) {
        return callback(err as Error);
      }
      if (flushIndex()) return callback(null, chunk);
      index.once('drain', () => callback(null, chunk));
    },
  });

  const walkOpts: WalkOptions = {
    exclude: opts.exclude,
    onUnreadable: opts.onUnreadable,
    what: opts.what,
    note: (t) => notes.push(t),
    warn: (t) => warnings.push(t),
  };
  // Names go to tar's stdin ~64 KB at a time: a write (and a wake-up of tar) per file cost more
  // than the walk itself.
  async function* list() {
    let batch = '';
    for await (const abs of walk(opts.roots, walkOpts)) {
      batch += `${abs.slice(1)}\0`;
      if (batch.length >= 65_536) {
        yield Buffer.from(batch);
        batch = '';
      }
    }
    if (batch) yield Buffer.from(batch);
  }
  const listed = pipeline(list(), tar.stdin!, { signal });
  listed.catch((err: unknown) => stop.abort(err));
  const carried = pipeline(tar.stdout!, tee, { signal });
  // tar exits 1 when a file changed while read: a warning, not a failure. Anything else it said fails.
  const tarDone = tar.done.catch((err: unknown) => {
    if (signal.aborted || failure || tar.child.exitCode !== 1) {
      throw failure ? new LifeboatError('failed', `archive files: ${failure}`) : err;
    }
  });
  const done = (async () => {
    try {
      // Every part has exited before the run hears of the first failure (the walk's is the clearest).
      const settled = await Promise.allSettled([listed, tarDone, carried]);
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
      indexer.end('archive files');
      flushIndex();
    } finally {
      index.end();
      await indexClosed;
    }
  })();
  done.catch(() => {});
  return {
    dump: { stream: tee, osPipe: false, done },
    warnings,
    notes,
    totals: () => ({ entries, bytes }),
  };
}
