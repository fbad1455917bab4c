/**
 * What a `files` source archives: its `paths` (files, directories, globs) resolved, then walked
 * depth-first without following symlinks, minus `exclude`. The walk streams (one open directory
 * per level), so memory stays flat however many files there are. Sockets and devices are skipped
 * with a note (a tar of them restores nothing useful); unreadable files and directories fail the
 * run, or with `onUnreadable: warn` are skipped with a warning.
 */
import { accessSync, constants, lstatSync, opendirSync, type Dir, type Dirent, type Stats } from 'node:fs';
import { glob, lstat } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError, oneLine } from '../../util/errors.js';

export interface WalkOptions {
  exclude: string[];
  onUnreadable: 'fail' | 'warn';
  /** Starts every message, followed by the path: "read files path". */
  what: string;
  /** Skipped sockets and devices. */
  note(text: string): void;
  /** Unreadable entries skipped under onUnreadable: warn. */
  warn(text: string): void;
}

const GLOB_CHARS = /[*?[\]{}]/;

/**
 * The configured paths as absolute, existing paths; globs expanded (sorted). A literal path that is
 * missing or unreadable, or a glob matching nothing, fails before anything is archived.
 */
export async function resolveRoots(paths: string[], what: string): Promise<string[]> {
  const roots: string[] = [];
  for (const p of paths) {
    if (!path.isAbsolute(p)) throw new LifeboatError('config', `${what} ${p}: not an absolute path`);
    if (GLOB_CHARS.test(p)) {
      const found: string[] = [];
      for await (const m of glob(p)) found.push(path.resolve(m));
      if (found.length === 0) throw new LifeboatError('unreachable', `${what} ${p}: matches nothing`);
      roots.push(...found.sort());
      continue;
    }
    await lstat(p).catch((err: NodeJS.ErrnoException) => {
      throw pathError(err, p, what);
    });
    roots.push(path.resolve(p));
  }
  return [...new Set(roots)];
}

export function pathError(err: NodeJS.ErrnoException, p: string, what: string): LifeboatError {
  if (err.code === 'ENOENT') return new LifeboatError('unreachable', `${what} ${p}: does not exist`);
  if (err.code === 'EACCES' || err.code === 'EPERM')
    return new LifeboatError('unreachable', `${what} ${p}: permission denied`, {
      hint: 'run Lifeboat as a user that can read every path, or set onUnreadable: warn to skip such files',
    });
  if (err.code === 'ENOTDIR')
    return new LifeboatError('unreachable', `${what} ${p}: a parent of it is not a directory`);
  return new LifeboatError('failed', `${what} ${p}: ${oneLine(err)}`, { cause: err });
}

function excluded(abs: string, patterns: string[]): boolean {
  const base = path.basename(abs);
  // A pattern with a slash matches the whole path; one without matches any file or directory name.
  return patterns.some((p) => (p.includes('/') ? path.matchesGlob(abs, p) : path.matchesGlob(base, p)));
}

type Kind = 'file' | 'dir' | 'keep' | 'skip';

function kindOf(st: Stats | Dirent): Kind {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSocket() || st.isCharacterDevice() || st.isBlockDevice()) return 'skip';
  return 'keep'; // symlinks and FIFOs: archived as entries, never read
}

/**
 * Every path to archive, absolute, parents before children.
 *
 * The calls are synchronous on purpose: through the thread pool each lstat, access and directory
 * read was a round trip to another thread, and 20,000 small files took 20 s of wall time (6 s of
 * CPU) under load, while tar sat waiting for names; synchronous, the same walk is 0.4 s of CPU.
 * Each call is one quick syscall and the caller takes the names in 64 KB batches, so the event
 * loop is never held for long. Entry types come from the directory listing (d_type; Node lstats
 * an entry itself where the filesystem does not say), so an entry costs no stat of its own.
 */
export async function* walk(roots: string[], opts: WalkOptions): AsyncGenerator<string> {
  for (const root of roots) {
    if (excluded(root, opts.exclude)) continue;
    let st: Stats;
    try {
      st = lstatSync(root);
    } catch (err) {
      // Removed since the plan resolved it: nothing to archive, and tar would report it anyway.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw pathError(err as NodeJS.ErrnoException, root, opts.what);
    }
    yield* visit(root, kindOf(st), st.isSocket(), opts);
  }
}

function* visit(abs: string, kind: Kind, socket: boolean, opts: WalkOptions): Generator<string> {
  if (kind === 'skip') {
    opts.note(`skipped ${socket ? 'socket' : 'device'} ${abs}`);
    return;
  }
  if (kind === 'file' && !readable(abs, opts)) return;
  if (kind !== 'dir') {
    yield abs;
    return;
  }
  let dir: Dir;
  try {
    dir = opendirSync(abs);
  } catch (err) {
    // Removed since its parent was listed.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    if (!unreadable(err, abs, opts)) throw pathError(err as NodeJS.ErrnoException, abs, opts.what);
    return;
  }
  try {
    yield abs;
    for (let d = dir.readSync(); d; d = dir.readSync()) {
      const child = path.join(abs, d.name);
      if (excluded(child, opts.exclude)) continue;
      yield* visit(child, kindOf(d), d.isSocket(), opts);
    }
  } finally {
    dir.closeSync();
  }
}

function readable(abs: string, opts: WalkOptions): boolean {
  try {
    accessSync(abs, constants.R_OK);
    return true;
  } catch (err) {
    // Removed since its directory was listed: nothing to archive, and tar would report it anyway.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    if (unreadable(err, abs, opts)) return false;
    throw pathError(err as NodeJS.ErrnoException, abs, opts.what);
  }
}

/** true when `err` is a permission error that onUnreadable: warn turns into a warning. */
function unreadable(err: unknown, abs: string, opts: WalkOptions): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  if ((code === 'EACCES' || code === 'EPERM') && opts.onUnreadable === 'warn') {
    opts.warn(`unreadable, skipped: ${abs}`);
    return true;
  }
  return false;
}
