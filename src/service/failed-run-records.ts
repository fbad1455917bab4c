/**
 * Serve keeps the failed-run records of its runs as one-shot runs do (jobs/failed-runs.ts): the
 * last attempt of a failed run leaves one in each of the job's storages, a success removes those
 * of its kind. Serve's own alerts go by its run history; the records are for the one-shot run (a
 * CronJob, `lifeboat backup` by hand) that comes after it, so that it knows the job's streak.
 */
import type { Config } from '../config/schema.js';
import { closeFailedRuns, keepsFailedRuns } from '../jobs/failed-runs.js';
import { finishedRunFromEvent } from '../notify/alert-tracker.js';
import type { SchedulerEvent } from '../scheduler/types.js';
import type { Storage } from '../storages/storage.js';
import { oneLine } from '../util/errors.js';

export interface FailedRunRecords {
  onEvent(event: SchedulerEvent): void;
  /** Resolves once every record being written or removed is done. */
  settle(): Promise<void>;
}

export function failedRunRecords(
  config: Config,
  storages: Record<string, Storage>,
  deps: { warn(line: string): void; redact(text: string): string },
): FailedRunRecords {
  const pending = new Set<Promise<void>>();
  const startedAt = new Map<string, string>();
  const keep = keepsFailedRuns(config);
  return {
    onEvent(event) {
      if (!keep || event.type === 'skip') return;
      const key = `${event.kind} ${event.job}`;
      if (event.type === 'start') {
        if (event.trigger !== 'retry') startedAt.set(key, event.at.toISOString());
        return;
      }
      if (event.retryInMs !== undefined) return; // not the run's last attempt
      const run = finishedRunFromEvent(event, deps.redact);
      const started = startedAt.get(key) ?? run.at;
      startedAt.delete(key);
      if (run.result === 'aborted') return; // serve stopping: no verdict
      const end = { ...run, kind: event.kind, result: run.result, startedAt: started };
      const job = config.jobs[event.job]!.storages.map((name) => storages[name]!);
      const p = closeFailedRuns(job, end, deps)
        .catch((err: unknown) => deps.warn(`failed-run records of ${key}: ${deps.redact(oneLine(err))}`))
        .finally(() => pending.delete(p));
      pending.add(p);
    },
    async settle() {
      while (pending.size) await Promise.all(pending);
    },
  };
}
