/**
 * Child processes as pipeline stages. A child's non-zero exit, death by signal or a fatal line on
 * stderr rejects `done` — never a quiet end of stream — and aborting the signal kills it.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { LifeboatError } from './errors.js';

export interface ChildStage {
  child: ChildProcess;
  stdout: Readable | null;
  stdin: Writable | null;
  /** Resolves when the child exited 0 with no fatal stderr; rejects with a one-line LifeboatError otherwise. */
  done: Promise<void>;
  /** The last lines the child wrote on stderr. */
  stderrTail(): string[];
}

export interface ChildOptions {
  /** Short name for messages, e.g. "pg_dump app". */
  label: string;
  env?: NodeJS.ProcessEnv;
  /** A number: an open file descriptor the child reads as its stdin. */
  stdin?: 'pipe' | 'ignore' | Readable | number;
  /** A number: an open file descriptor the child writes as its stdout. */
  stdout?: 'pipe' | 'ignore' | 'inherit' | number;
  signal?: AbortSignal;
  /** stderr lines that mean failure even if the exit code is 0. */
  fatal?: RegExp;
  /** Run as another OS user (tests and scratch clusters when root). */
  uid?: number;
  gid?: number;
  cwd?: string;
  /** Receives each stderr line as it arrives (progress, logs). */
  onStderr?: (line: string) => void;
  /**
   * Run in a session and process group of its own, so a kill reaches whatever the program starts
   * itself (pg_dumpall's pg_dump, pg_restore's --jobs workers). Only for those: on Linux each new
   * session is its own scheduling group (autogroup), and a client in one competes as a whole peer
   * with a PostgreSQL server on the same machine — a restore into a local server ran about 10%
   * slower that way.
   */
  ownGroup?: boolean;
}

const TAIL_LINES = 20;

export function startChild(command: string, args: string[], opts: ChildOptions): ChildStage {
  const stdio: StdioOptions = [opts.stdin ?? 'ignore', opts.stdout ?? 'pipe', 'pipe'];
  const child = spawn(command, args, {
    detached: Boolean(opts.ownGroup),
    stdio,
    env: opts.env ?? process.env,
    uid: opts.uid,
    gid: opts.gid,
    cwd: opts.cwd,
  });
  const tail: string[] = [];
  let fatalLine: string | undefined;
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) pushLine(line);
  });
  const pushLine = (line: string) => {
    if (!line.trim()) return;
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (!fatalLine && opts.fatal?.test(line)) fatalLine = line;
    opts.onStderr?.(line);
  };

  const running = () => child.exitCode === null && child.signalCode === null;
  // A terminal's Ctrl-C reaches the children in Lifeboat's own group directly, which only stops
  // them sooner: Lifeboat's own handler aborts the run and nothing is committed either way.
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      if (opts.ownGroup) process.kill(-child.pid!, sig);
      else child.kill(sig);
    } catch {
      child.kill(sig);
    }
  };
  const kill = () => {
    if (!running()) return;
    signalGroup('SIGTERM');
    setTimeout(() => running() && signalGroup('SIGKILL'), 3000).unref();
  };
  if (opts.signal?.aborted) queueMicrotask(kill);
  else opts.signal?.addEventListener('abort', kill, { once: true });

  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err) => {
      reject(
        new LifeboatError(
          'failed',
          `run ${opts.label}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `${command} not found` : err.message}`,
          {
            cause: err,
          },
        ),
      );
    });
    child.once('close', (code, sig) => {
      opts.signal?.removeEventListener('abort', kill);
      if (partial) pushLine(partial);
      partial = '';
      if (code === 0 && !fatalLine) return resolve();
      // The line that says what went wrong, not the "Command was: …" context after it.
      const why = fatalLine ?? [...tail].reverse().find((l) => /error|fatal/i.test(l)) ?? tail.at(-1) ?? '';
      const how = sig ? `killed by ${sig}` : code === 0 ? 'reported an error' : `exited with code ${code}`;
      if (opts.signal?.aborted) {
        reject(new LifeboatError('aborted', `run ${opts.label}: stopped (${how})`));
      } else {
        reject(new LifeboatError('failed', `run ${opts.label}: ${how}${why ? `: ${why.trim()}` : ''}`));
      }
    });
  });
  // A rejection nobody awaited yet must not crash the process; callers always await `done` later.
  done.catch(() => {});
  return { child, stdout: child.stdout, stdin: child.stdin, done, stderrTail: () => [...tail] };
}
