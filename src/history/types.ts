/**
 * The run history's contract (SPEC §4): one record per run of a job, kept across restarts. The
 * scheduler writes it; the alert rules and the HTTP server read it.
 */

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
