/**
 * The contracts between the parts of `lifeboat serve` (SPEC §4): the scheduler decides when, a
 * JobRunner does the work, the run history remembers, the alert rules judge, notifiers tell, and
 * the HTTP server shows. Each part depends only on these types, so each is tested on its own.
 */
import { sleep } from '../util/sleep.js';

export type RunKind = 'backup' | 'drill' | 'verify' | 'prune';
export type RunTrigger = 'schedule' | 'api' | 'retry';
export type RunResult = 'running' | 'success' | 'failure' | 'aborted';

/** One row of the run history. */
export interface RunRecord {
  id: number;
  job: string;
  kind: RunKind;
  trigger: RunTrigger;
  startedAt: string; // ISO 8601, UTC
  finishedAt?: string;
  result: RunResult;
  backupId?: string;
  /** Stored bytes of a backup, bytes restored by a drill. */
  bytes?: number;
  durationMs?: number;
  /** The one-line error, already redacted. */
  error?: string;
  /** Kind-specific summary, e.g. a drill's checks and RTO. JSON-serialisable. */
  details?: Record<string, unknown>;
}

export interface RunFinish {
  result: Exclude<RunResult, 'running'>;
  finishedAt: string;
  backupId?: string;
  bytes?: number;
  durationMs?: number;
  error?: string;
  details?: Record<string, unknown>;
}

/** Run history that survives restarts (SQLite by default). Synchronous: it is a local file. */
export interface RunHistory {
  start(run: Omit<RunRecord, 'id' | 'result' | 'finishedAt'>): number;
  finish(id: number, outcome: RunFinish): void;
  /** Newest first. */
  list(filter?: { job?: string; kind?: RunKind; limit?: number }): RunRecord[];
  /** The newest finished run of the job and kind with this result, if any. */
  last(job: string, kind: RunKind, result?: Exclude<RunResult, 'running'>): RunRecord | undefined;
  /** Removes finished runs that started before `before`; returns how many. */
  prune(before: Date): number;
  close(): void;
}

/** What a backup or drill run reports back to the service. */
export interface BackupOutcome {
  backupId: string;
  bytes: number;
  durationMs: number;
}

export interface DrillOutcome {
  backupId: string;
  ok: boolean;
  /** Restore duration (RTO), ms. */
  restoreMs: number;
  /** Backup age at drill time (RPO), seconds. */
  backupAgeSeconds: number;
  bytes: number;
  /** One line naming the failed step or check when !ok. */
  error?: string;
  details?: Record<string, unknown>;
}

/** Does the work. Throws LifeboatError (with `retryable`) when a run fails outright. */
export interface JobRunner {
  backup(job: string, signal: AbortSignal): Promise<BackupOutcome>;
  drill(job: string, signal: AbortSignal): Promise<DrillOutcome>;
}

/** Time, injectable so scheduler and alert tests run on a fake clock. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms` (or rejects with the signal's reason when it aborts first). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep,
};

export type AlertKind = 'failure' | 'drill-failure' | 'stale' | 'recovery';

/** One alert: which job, what failed, since when, and the error line. Never a secret. */
export interface Alert {
  kind: AlertKind;
  job: string;
  /** e.g. "backup failed", "drill failed: smoke FAILED: users present", "no successful backup for 2d3h". */
  summary: string;
  /** When the problem started (first failure, last success for stale). ISO 8601. */
  since?: string;
  error?: string;
  at: string;
}

export interface Notifier {
  readonly name: string;
  /** Which alert kinds this target wants (config `on:`). */
  readonly on: ReadonlySet<AlertKind>;
  send(alert: Alert, signal?: AbortSignal): Promise<void>;
}
