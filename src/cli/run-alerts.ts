/**
 * Alerts and pings for a one-shot `lifeboat backup` or `drill` (SPEC §8), through the same
 * alerting as serve (service/alerting.ts). A CronJob's pod remembers nothing between runs, so the
 * failure streak that a recovery alert needs lives in the storage: each failed run leaves a record
 * (catalog/failed-runs.ts), read before the next run and removed when it succeeds. Nothing here
 * fails a run: a notifier or a storage that cannot be reached is logged, and the run goes on.
 */
import type { StoredFailedRun } from '../catalog/failed-runs.js';
import type { Config } from '../config/schema.js';
import { closeFailedRuns, keepsFailedRuns, readFailedRuns } from '../jobs/failed-runs.js';
import { stateFromFailedRuns } from '../notify/alert-tracker.js';
import { RUN_LINES_KEPT } from '../notify/run-lines.js';
import { createAlerting } from '../service/alerting.js';
import type { Storage } from '../storages/storage.js';
import type { RetryPolicy } from '../util/backoff.js';
import { systemClock } from '../util/clock.js';
import { oneLine } from '../util/errors.js';
import type { Context } from './context.js';

type Kind = 'backup' | 'drill';

export interface RunEnd {
  result: 'success' | 'failure';
  error?: unknown;
  /** A drill of a job without a backup (drill --all): pinged as done, alerts unchanged. */
  skipped?: boolean;
}

export interface RunAlerts {
  /** Before the run: pings `/start`, reads the job's failure streak from `storages`. */
  begin(job: string, kind: Kind, storages: Storage[]): Promise<void>;
  /** After it: alerts and pings, then records the failure (or clears the streak) in `storages`. */
  end(job: string, kind: Kind, outcome: RunEnd): Promise<void>;
  /** Waits for every delivery (retried with backoff, then given up on). */
  settle(): Promise<void>;
}

const NONE: RunAlerts = { begin: async () => {}, end: async () => {}, settle: async () => {} };

export function runAlerts(
  ctx: Context,
  config: Config | undefined,
  opts: { retry?: RetryPolicy } = {},
): RunAlerts {
  if (!config?.notify?.length) return NONE;
  const out = ctx.output;
  const redact = (text: string) => ctx.redactor.redact(text);
  const alerting = createAlerting(config, {
    clock: systemClock,
    redactor: ctx.redactor,
    log: (line) => out.info(line),
    warn: (line) => out.warn(line),
    retry: opts.retry,
  });
  const wantsRecords = keepsFailedRuns(config);
  const records = { warn: (line: string) => out.warn(line), redact };
  const running = new Map<
    string,
    {
      startedAt: string;
      lines: string[];
      untap: () => void;
      storages: Storage[];
      streak: StoredFailedRun[][];
    }
  >();

  return {
    async begin(job, kind, storages) {
      const lines: string[] = [];
      const untap = out.tap((line) => {
        lines.push(line);
        if (lines.length > RUN_LINES_KEPT) lines.shift();
      });
      const startedAt = new Date().toISOString();
      alerting.onStart(job, kind);
      // Per storage, the records it holds (each storage has a copy; any one may be down).
      const streak = wantsRecords ? await readFailedRuns(storages, job, records) : [];
      const seen = new Map<string, StoredFailedRun>();
      for (const r of streak.flat()) seen.set(r.key.slice(r.key.lastIndexOf('/')), r);
      alerting.seed(job, stateFromFailedRuns([...seen.values()].map((r) => r.run)));
      running.set(`${kind} ${job}`, { startedAt, lines, untap, storages, streak });
    },

    async end(job, kind, outcome) {
      const run = running.get(`${kind} ${job}`);
      if (!run) return;
      running.delete(`${kind} ${job}`);
      run.untap();
      const at = new Date().toISOString();
      const error = outcome.error === undefined ? undefined : redact(oneLine(outcome.error));
      alerting.onRun(
        {
          job,
          kind,
          result: outcome.result,
          at,
          startedAt: run.startedAt,
          ...(error !== undefined && { error }),
        },
        run.lines,
        { skipped: outcome.skipped },
      );
      if (!wantsRecords || outcome.skipped) return;
      const end = { job, kind, result: outcome.result, startedAt: run.startedAt, at, error };
      await closeFailedRuns(run.storages, end, records, run.streak);
    },

    settle: () => alerting.settle(),
  };
}
