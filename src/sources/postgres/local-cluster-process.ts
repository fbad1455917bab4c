/**
 * How a throwaway local cluster (local-cluster.ts) runs PostgreSQL's programs: the cluster's
 * context (its directories, server tools and the OS account they run as), running a program
 * without a shell, and whether its postmaster is alive.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError } from '../../util/errors.js';

/** The bootstrap superuser of every local cluster. */
export const SUPERUSER = 'postgres';
/** The OS account the server runs as when we are root. */
export const SERVICE_ACCOUNT = 'postgres';

export interface RunAs {
  uid: number;
  gid: number;
}

export interface ServerTools {
  binDir: string;
  /** psql for the cluster's own queries; from the same installation when it has one. */
  psqlPath: string;
  version: string;
  major: number;
}

export interface ClusterContext extends ServerTools {
  runAs: RunAs | undefined;
  base: string;
  dataDir: string;
  socketDir: string;
  logFile: string;
  listen: 'tcp' | 'socket';
}

export interface RunResult {
  /** Exit code, or -1 when killed by a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program without a shell, collecting its output. With a context, the program is one of
 * the cluster's server tools and runs as the service account inside the temp dir (a cwd it can
 * enter). PG* variables are dropped so the caller's PGHOST, PGOPTIONS, PGDATA… can't redirect us.
 */
export function run(
  ctx: ClusterContext | undefined,
  program: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  // Messages in English, so start-up failures can be recognised; data itself is always UTF-8.
  env.LC_ALL = 'C';
  env.PGCLIENTENCODING = 'UTF8';

  const file = ctx ? path.join(ctx.binDir, program) : program;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env,
      cwd: ctx?.base,
      uid: ctx?.runAs?.uid,
      gid: ctx?.runAs?.gid,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new LifeboatError('failed', `run ${file}: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: signal ? `${stderr}\n(killed by ${signal})`.trim() : stderr,
      });
    });
    // psql may exit before reading all input (e.g. a connection failure); its stderr says why.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export async function postmasterPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[0] ?? '', 10);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined; // no pid file: no server (or no data dir at all)
  }
}

/** Whether pid is a live process; an exited one still waiting for its parent to reap it (a zombie) is not. */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // "pid (comm) S ...": the state letter follows the last ')'. Without /proc, trust kill(0).
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined || !/\)\s+[ZX]/.test(stat.slice(stat.lastIndexOf(')')));
}
