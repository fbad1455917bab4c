/**
 * Finds PostgreSQL client and server programs and their major versions. Looks in, in order: a
 * configured binDir, PATH, and Debian's /usr/lib/postgresql/NN/bin. Lifeboat never dumps with a
 * client older than the server, so callers ask for a minimum major and get the closest one.
 */
import { execFile } from 'node:child_process';
import { readdir, access, constants, realpath } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { LifeboatError } from '../../util/errors.js';

const execFileAsync = promisify(execFile);

export type PgProgram = 'pg_dump' | 'pg_dumpall' | 'pg_restore' | 'psql' | 'initdb' | 'pg_ctl' | 'postgres';

export interface PgTool {
  program: PgProgram;
  path: string;
  /** e.g. "15.18" */
  version: string;
  major: number;
}

export interface FindOptions {
  /** A directory searched before anything else (config `binDir`). */
  binDir?: string;
  /** Smallest acceptable major version, e.g. the server's. */
  minMajor?: number;
}

const DEBIAN_ROOT = '/usr/lib/postgresql';

async function candidateDirs(binDir?: string): Promise<string[]> {
  const dirs: string[] = [];
  if (binDir) dirs.push(binDir);
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) dirs.push(dir);
  try {
    const majors = await readdir(DEBIAN_ROOT);
    for (const m of majors.sort((a, b) => Number(b) - Number(a))) dirs.push(path.join(DEBIAN_ROOT, m, 'bin'));
  } catch {
    // no Debian layout on this machine
  }
  return [...new Set(dirs)];
}

/** Parses "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" → "15.18". */
export function parseToolVersion(output: string): string | undefined {
  return /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(output)?.[1];
}

export function majorOf(version: string): number {
  return Number.parseInt(version, 10);
}

const versionCache = new Map<string, Promise<string | undefined>>();

function versionOf(file: string): Promise<string | undefined> {
  let cached = versionCache.get(file);
  if (!cached) {
    cached = execFileAsync(file, ['--version'], { timeout: 10_000 })
      .then(({ stdout }) => parseToolVersion(stdout))
      .catch(() => undefined);
    versionCache.set(file, cached);
  }
  return cached;
}

/** Every installed copy of `program`, in search order, with its version. */
export async function listPgTools(program: PgProgram, opts: FindOptions = {}): Promise<PgTool[]> {
  const found: PgTool[] = [];
  const seen = new Set<string>();
  for (const dir of await candidateDirs(opts.binDir)) {
    const file = path.join(dir, program);
    let real: string;
    try {
      await access(file, constants.X_OK);
      real = await realpath(file);
    } catch {
      continue;
    }
    // Debian's pg_wrapper picks a version by its own rules; the versioned directories are listed anyway.
    if (seen.has(real) || real.endsWith('/pg_wrapper')) continue;
    seen.add(real);
    const version = await versionOf(file);
    if (version) found.push({ program, path: file, version, major: majorOf(version) });
  }
  return found;
}

/**
 * The copy of `program` to use: the one with the smallest major ≥ minMajor (a client of the
 * server's own major is preferred over a newer one); without minMajor, the newest. Fails with a
 * message naming the wanted version, what was found and where it looked.
 */
export async function findPgTool(program: PgProgram, opts: FindOptions = {}): Promise<PgTool> {
  const all = await listPgTools(program, opts);
  const min = opts.minMajor ?? 0;
  const fitting = all.filter((t) => t.major >= min).sort((a, b) => a.major - b.major);
  const best = opts.minMajor === undefined ? fitting.at(-1) : fitting[0];
  if (best) return best;
  const where = (await candidateDirs(opts.binDir)).filter(
    (d) => d.startsWith(DEBIAN_ROOT) || d === opts.binDir,
  );
  const seen = all.length ? all.map((t) => `${t.version} at ${t.path}`).join(', ') : 'none';
  throw new LifeboatError(
    'failed',
    opts.minMajor === undefined
      ? `find ${program}: not installed (looked in binDir, PATH and ${DEBIAN_ROOT}/*/bin)`
      : `find ${program}: server is PostgreSQL ${opts.minMajor} but the newest ${program} is ${seen} (looked in binDir, PATH and ${where.join(', ') || DEBIAN_ROOT + '/*/bin'})`,
    {
      hint:
        opts.minMajor === undefined
          ? `install the PostgreSQL client tools or set binDir`
          : `install postgresql-client-${opts.minMajor} (or newer) or set source.binDir to its bin directory`,
    },
  );
}
