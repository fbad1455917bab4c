/**
 * One `files` source as one POSIX (pax) tar stream, written by GNU tar (modes, owners, mtimes,
 * symlinks, hard links and empty directories, as tar keeps them). Lifeboat walks the paths and
 * hands tar the list on its stdin (so it decides what is skipped or refused). A worker thread
 * (tar-pump.ts) reads tar's output once on its way to the first codec to build the per-file index:
 * path, size, mode and the SHA-256 of exactly the bytes archived. The index goes to `indexFile` as
 * JSON lines while the archive streams, so memory stays flat; the caller stores it as the source's
 * second artifact.
 */
import { execFile } from 'node:child_process';
import { closeSync, createReadStream, openSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startChild } from '../../util/child.js';
import { LifeboatError, oneLine } from '../../util/errors.js';
import type { DumpStream } from '../source.js';
import type { PumpFds, PumpResult } from './tar-pump.js';
import { walk, type WalkOptions } from './walk.js';

export interface TarOptions {
  roots: string[];
  exclude: string[];
  onUnreadable: 'fail' | 'warn';
  indexFile: string;
  /** A private directory for the FIFOs between tar, the pump and the first codec. */
  workDir: string;
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

export async function startTar(opts: TarOptions): Promise<TarRun> {
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
  // The pump starts first and gets its descriptors in a message once they are open: its start-up
  // (~0.1 s of a thread) overlaps making the FIFOs and starting tar instead of keeping tar waiting.
  const worker = new Worker(new URL('./tar-pump.js', import.meta.url));
  const owned: number[] = [];
  // Closed here, by the thread that opened them, once the pump is done with them (the codec's
  // input ends then: cleanly after the archive's end marker; after a failure the run fails and
  // commits nothing, and tar, its output no longer read, stops on EPIPE).
  const closeFds = () => {
    for (const fd of owned.splice(0)) closeSync(fd);
  };
  let totals = { entries: 0, bytes: 0 };
  const carried = new Promise<void>((resolve, reject) => {
    worker.once('message', (r: PumpResult) => {
      closeFds();
      if (!r.ok) return reject(new LifeboatError(r.code ?? 'failed', r.message));
      totals = { entries: r.entries, bytes: r.bytes };
      resolve();
    });
    worker.once('error', (err) => {
      closeFds();
      reject(new LifeboatError('failed', `archive files: ${oneLine(err)}`));
    });
    worker.once('exit', (code) => {
      closeFds();
      reject(new LifeboatError('failed', `archive files: the archive's reader stopped (exit ${code})`));
    });
  });
  // Awaited with the run's other parts below; until then (or when starting them fails) no one is.
  carried.catch(() => {});

  let tar;
  let codecReads = -1;
  try {
    // Two FIFOs (real pipes; a child's stdio from Node is a socket pair): tar writes the archive
    // into the first, the pump (tar-pump.ts) carries it into the second, the first codec reads it.
    const tarOut = path.join(opts.workDir, 'tar.fifo');
    const codecIn = path.join(opts.workDir, 'codec.fifo');
    await promisify(execFile)('mkfifo', ['-m', '0600', tarOut, codecIn]);
    // Opening a FIFO waits for its other end unless that end is open already: each one's read
    // end is opened while a read-write descriptor holds it.
    const tarWrites = openSync(tarOut, 'r+');
    try {
      const pumpReads = openSync(tarOut, 'r');
      owned.push(pumpReads);
      const holder = openSync(codecIn, 'r+');
      const pumpWrites = openSync(codecIn, 'w');
      owned.push(pumpWrites);
      codecReads = openSync(codecIn, 'r');
      closeSync(holder);
      const indexFd = openSync(opts.indexFile, 'wx');
      owned.push(indexFd);
      tar = startChild('tar', tarCommand(opts.onUnreadable), {
        label: 'tar',
        stdin: 'pipe',
        stdout: tarWrites,
        signal,
        onStderr,
      });
      worker.postMessage({ input: pumpReads, output: pumpWrites, index: indexFd } satisfies PumpFds);
    } finally {
      // tar holds its own copy: the pump sees the end of the archive when tar exits.
      closeSync(tarWrites);
    }
  } catch (err) {
    await worker.terminate();
    closeFds();
    if (codecReads !== -1) closeSync(codecReads);
    throw err;
  }

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
  // tar exits 1 when a file changed while read: a warning, not a failure. Anything else it said fails.
  const tarDone = tar.done.catch((err: unknown) => {
    if (signal.aborted || failure || tar.child.exitCode !== 1) {
      throw failure ? new LifeboatError('failed', `archive files: ${failure}`) : err;
    }
  });
  const done = (async () => {
    // Every part has exited before the run hears of the first failure (the walk's is the clearest).
    const settled = await Promise.allSettled([listed, tarDone, carried]);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  })();
  done.catch(() => {});
  // Read only without codecs (compression none); else the first codec reads the FIFO itself and
  // destroying this unread stream closes our descriptor of it.
  const stream = createReadStream('', { fd: codecReads });
  return {
    dump: { stream, osPipe: false, fd: codecReads, done },
    warnings,
    notes,
    totals: () => totals,
  };
}
