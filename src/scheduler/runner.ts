/** What the scheduler runs: a JobRunner does the work of a backup or drill and reports back. */

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
