/**
 * What the scheduler runs: a JobRunner does the work of a backup or drill and reports back. A drill
 * reports the drill's own outcome (drill/run.ts); run-task.ts records it in the history.
 */
import type { DrillOutcome } from '../drill/run.js';

/** What a backup or drill run reports back to the service. */
export interface BackupOutcome {
  backupId: string;
  bytes: number;
  durationMs: number;
}

/** Does the work. Throws LifeboatError (with `retryable`) when a run fails outright. */
export interface JobRunner {
  backup(job: string, signal: AbortSignal): Promise<BackupOutcome>;
  drill(job: string, signal: AbortSignal): Promise<DrillOutcome>;
}
