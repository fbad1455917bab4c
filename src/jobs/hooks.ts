/**
 * Runs a job's hooks (config/hooks.ts, SPEC §8) — the same for `lifeboat backup`, serve, the demo
 * and `lifeboat restore`. Each step in order: a command (argv, no shell) with LIFEBOAT_JOB,
 * LIFEBOAT_BACKUP_ID, LIFEBOAT_RESULT and LIFEBOAT_HOOK added to Lifeboat's environment, its output
 * logged line by line (redacted), killed with its process group when its timeout passes; or an http
 * check. A `before*` phase stops at its first failing step and throws: the run fails before
 * anything is written. An `after*` phase runs every step whatever happened, and returns the first
 * failure instead of throwing, so the caller decides what it means for the run.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { HookPhase, HookStep, HooksConfig } from '../config/hooks.js';
import { runHttpCheck } from '../drill/http-check.js';
import { LifeboatError, oneLine } from '../util/errors.js';

export interface HookRun {
  job: string;
  /** The backup made (after a backup that committed one) or restored; empty when none. */
  backupId?: string;
  /** For after* phases: how the run went. */
  result?: 'success' | 'failure';
  log: (line: string) => void;
  redact?: (text: string) => string;
  /** Stops a before* phase (the run was aborted). After* phases run to their own timeouts. */
  signal?: AbortSignal;
}

/** A before* phase: throws the first failing step's error (the run must not go on). */
export async function runBeforeHooks(
  hooks: HooksConfig | undefined,
  phase: HookPhase,
  run: HookRun,
): Promise<void> {
  for (const [i, step] of (hooks?.[phase] ?? []).entries()) {
    const failure = await runStep(step, phase, i, run);
    if (failure) throw failure;
  }
}

/** An after* phase: every step runs; resolves with the first failure, if any. */
export async function runAfterHooks(
  hooks: HooksConfig | undefined,
  phase: HookPhase,
  run: HookRun,
): Promise<LifeboatError | undefined> {
  let first: LifeboatError | undefined;
  for (const [i, step] of (hooks?.[phase] ?? []).entries()) {
    const failure = await runStep(step, phase, i, { ...run, signal: undefined });
    first ??= failure;
  }
  return first;
}

function stepLabel(step: HookStep, phase: HookPhase, i: number): string {
  const what =
    step.type === 'command' ? path.basename(step.run[0]!) : `http ${step.name ?? new URL(step.url).host}`;
  return `${phase} hook ${i + 1} (${what})`;
}

async function runStep(
  step: HookStep,
  phase: HookPhase,
  i: number,
  run: HookRun,
): Promise<LifeboatError | undefined> {
  const label = stepLabel(step, phase, i);
  const redact = run.redact ?? ((t: string) => t);
  if (step.type === 'http') {
    const result = await runHttpCheck(step, label, { signal: run.signal });
    run.log(
      redact(`${label}: ${result.ok ? 'OK' : 'FAILED'}: expected ${result.expected}, got ${result.actual}`),
    );
    return result.ok
      ? undefined
      : new LifeboatError('failed', redact(`${label}: expected ${result.expected}, got ${result.actual}`));
  }
  run.log(`${label}: started`);
  const failure = await runCommand(
    step.run,
    step.timeoutSeconds,
    {
      LIFEBOAT_JOB: run.job,
      LIFEBOAT_BACKUP_ID: run.backupId ?? '',
      LIFEBOAT_RESULT: run.result ?? '',
      LIFEBOAT_HOOK: phase,
    },
    (line) => run.log(redact(`${label}: ${line}`)),
    run.signal,
  );
  if (failure)
    return new LifeboatError('failed', redact(`${label} ${failure}`), {
      hint: `see its output above; hooks.${phase} in the config`,
    });
  run.log(`${label}: done`);
  return undefined;
}

/** Resolves with why the command failed ("exited with code 2", "timed out after 5s"), or undefined. */
function runCommand(
  argv: string[],
  timeoutSeconds: number,
  env: Record<string, string>,
  log: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve('was not started: the run was aborted');
    // Its own process group, so that a timeout reaches whatever a script started.
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let why: string | undefined;
    const kill = (reason: string) => {
      why ??= reason;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      // A step that ignores SIGTERM is killed outright a few seconds later.
      setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5000).unref();
    };
    const timer = setTimeout(() => kill(`timed out after ${timeoutSeconds}s`), timeoutSeconds * 1000);
    const onAbort = () => kill('was stopped: the run was aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) log(line);
      });
      stream.on('end', () => partial.trim() && log(partial));
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      why ??=
        err.code === 'ENOENT' ? `could not start: ${argv[0]} not found` : `could not start: ${oneLine(err)}`;
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (why) return resolve(why);
      if (code === 0) return resolve(undefined);
      resolve(code !== null ? `exited with code ${code}` : `was killed by ${sig}`);
    });
  });
}
