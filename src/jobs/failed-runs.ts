/**
 * A job's failed-run records around its runs (catalog/failed-runs.ts), kept the same way by
 * one-shot runs (cli/run-alerts.ts) and serve: a failed run leaves a record in each of the job's
 * storages, a successful one removes the records of its kind. They are the failure streak a later
 * one-shot run reads to know it recovers, whichever of the two ran before it. Kept only when an
 * alert (not only a ping) is configured, since nothing else reads them. Nothing here fails a run:
 * a storage that cannot be read or written is warned about.
 */
import {
  clearFailedRuns,
  FAILED_RUN_FORMAT,
  listFailedRuns,
  recordFailedRun,
  type FailedRun,
  type StoredFailedRun,
} from '../catalog/failed-runs.js';
import type { Config } from '../config/schema.js';
import type { Storage } from '../storages/storage.js';
import { oneLine } from '../util/errors.js';

export interface FailedRunDeps {
  warn(line: string): void;
  redact(text: string): string;
}

/** A finished run, as its records need it; `error` is one redacted line. */
export interface RunEnd {
  job: string;
  kind: 'backup' | 'drill';
  result: 'success' | 'failure';
  startedAt: string;
  at: string;
  error?: string;
}

/** Whether the config's notifiers read the records: an alert target, not only pings. */
export function keepsFailedRuns(config: Config | undefined): boolean {
  return Boolean(config?.notify?.some((n) => n.type !== 'ping'));
}

/** Per storage, the job's records (each storage has a copy; one that cannot be read gives none). */
export function readFailedRuns(
  storages: Storage[],
  job: string,
  deps: FailedRunDeps,
): Promise<StoredFailedRun[][]> {
  return Promise.all(
    storages.map((storage) =>
      listFailedRuns(storage, job).catch((err: unknown) => {
        deps.warn(`read failed-run records of ${job} in ${storage.name}: ${deps.redact(oneLine(err))}`);
        return [];
      }),
    ),
  );
}

/**
 * After a run: a failure is recorded in every storage (and said when none holds it); a success
 * removes the records of its kind, those `read` before the run when given (per storage, as
 * readFailedRuns returns them), else the ones there now.
 */
export async function closeFailedRuns(
  storages: Storage[],
  end: RunEnd,
  deps: FailedRunDeps,
  read?: StoredFailedRun[][],
): Promise<void> {
  const { job, kind } = end;
  if (end.result === 'failure') {
    const record: FailedRun = {
      format: FAILED_RUN_FORMAT,
      version: 1,
      job,
      kind,
      startedAt: end.startedAt,
      at: end.at,
      ...(end.error !== undefined && { error: end.error }),
    };
    const written = await Promise.all(
      storages.map((s) =>
        recordFailedRun(s, record).then(
          () => true,
          (err: unknown) => {
            deps.warn(`record failed ${kind} of ${job} in ${s.name}: ${deps.redact(oneLine(err))}`);
            return false;
          },
        ),
      ),
    );
    if (!written.some(Boolean))
      deps.warn(`${kind} ${job}: no storage holds this failure, so the next success sends no recovery alert`);
    return;
  }
  const streaks = read ?? (await readFailedRuns(storages, job, deps));
  for (const [i, storage] of storages.entries()) {
    const keys = (streaks[i] ?? []).filter((r) => r.run.kind === kind).map((r) => r.key);
    for (const problem of await clearFailedRuns(storage, keys))
      deps.warn(`remove failed-run record in ${storage.name}: ${deps.redact(problem)}`);
  }
}
