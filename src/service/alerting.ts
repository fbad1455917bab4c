/**
 * Alerts and pings for every run (SPEC §8), the same under `serve` and in a one-shot `lifeboat
 * backup` or `drill`: each finished run goes through the alert tracker (a periodic stale check too,
 * under serve), and what it raises is logged and sent to the alert targets; ping targets hear of
 * each run's start and end. Serve seeds the tracker from its run history, a one-shot run from the
 * failed-run records in storage (catalog/failed-runs.ts, kept by jobs/failed-runs.ts). A delivery is never awaited by the run
 * that raised it, but it has an owner: `settle()` waits for the ones still going (each retried
 * with backoff while its target cannot be reached, and then given up on).
 */
import type { Config } from '../config/schema.js';
import { buildNotifiers, buildPingers } from '../notify/build.js';
import { dispatchAlert, safeLog } from '../notify/dispatch.js';
import { createAlertTracker, finishedRunFromEvent, stateFromHistory } from '../notify/alert-tracker.js';
import type { FinishedRun, JobAlertState } from '../notify/alert-rules.js';
import { newRunId, pingBody, type PingEvent } from '../notify/ping.js';
import { withRetry } from '../notify/retry.js';
import type { SchedulerEvent } from '../scheduler/types.js';
import type { RetryPolicy } from '../util/backoff.js';
import { oneLine } from '../util/errors.js';
import type { Redactor } from '../util/redact.js';
import type { Alert } from '../notify/types.js';
import type { Clock } from '../util/clock.js';
import type { RunHistory, RunKind } from '../history/types.js';

export interface Alerting {
  /** A run starts: ping targets hear `/start` (once per run, not per retried attempt). */
  onStart(job: string, kind: RunKind): void;
  /** Serve: a finished attempt of a run; alerts and pings when it is the last one (no retry follows). */
  onFinish(event: Extract<SchedulerEvent, { type: 'finish' }>, lines?: readonly string[]): void;
  /**
   * A one-shot run's end: its alerts, and the pings (`/fail` or the base URL) with its last lines.
   * `skipped` (a drill of a job without a backup): the ping says success, the alert state is kept.
   */
  onRun(run: FinishedRun, lines: readonly string[], opts?: { skipped?: boolean }): void;
  /** Replaces a job's alert state (one-shot runs: from storage, before the run). */
  seed(job: string, state: JobAlertState): void;
  state(job: string): JobAlertState;
  /** Stale alerts (and recoveries) for the scheduled jobs' backups. */
  checkStale(lastBackupAt: (job: string) => string | undefined): void;
  /** Resolves once every alert and ping sent so far is delivered or given up on. */
  settle(): Promise<void>;
}

export interface AlertingDeps {
  /** Serve's run history: seeds each job's state, and the stale check's last success. */
  history?: RunHistory;
  clock: Clock;
  redactor: Redactor;
  log: (line: string) => void;
  /** Deliveries that failed or will be retried; default: log. */
  warn?: (line: string) => void;
  /** Default NOTIFY_RETRY (notify/retry.ts). */
  retry?: RetryPolicy;
}

export function createAlerting(config: Config, deps: AlertingDeps): Alerting {
  const { history, clock, log, retry } = deps;
  const warn = deps.warn ?? log;
  const redact = (text: string) => deps.redactor.redact(text);
  const notifiers = buildNotifiers(config.notify, { redactor: deps.redactor });
  const pingers = buildPingers(config.notify, { redactor: deps.redactor });
  const tracker = createAlertTracker();
  const jobs = Object.keys(config.jobs);
  if (history) for (const job of jobs) tracker.seed(job, stateFromHistory(history, job));
  const sending = new Set<Promise<unknown>>();
  const own = (p: Promise<unknown>) => {
    const owned = p.finally(() => sending.delete(owned));
    sending.add(owned);
    return owned;
  };
  /** Per running run ("backup app"): its ping run id, and the /start deliveries its end waits for. */
  const runs = new Map<string, { runId: string; started: Promise<unknown> }>();
  const watchingSince = clock.now();

  const raise = (alerts: Alert[]) => {
    for (const a of alerts) {
      log(`alert ${a.kind} ${a.job}: ${a.summary}`);
      // dispatchAlert never rejects (a failed delivery is logged and reported back).
      own(dispatchAlert(a, notifiers, { log: warn, retry }));
    }
  };

  const ping = (job: string, kind: RunKind, event: PingEvent, runId: string, body: string) =>
    pingers
      .filter((p) => p.wants(job, kind))
      .map((p) =>
        withRetry(() => p.send(job, event, body, { runId }), {
          policy: retry,
          onRetry: (attempt, err, ms) =>
            safeLog(
              warn,
              `${kind} ${job}: not pinged yet (attempt ${attempt}, again in ${Math.ceil(ms / 1000)}s): ${redact(oneLine(err))}`,
            ),
        }).catch((err: unknown) => safeLog(warn, `${kind} ${job}: not pinged: ${redact(oneLine(err))}`)),
      );

  const end = (job: string, kind: RunKind, event: PingEvent, lines: readonly string[]) => {
    const key = `${kind} ${job}`;
    const run = runs.get(key) ?? { runId: newRunId(), started: Promise.resolve() };
    runs.delete(key);
    const body = pingBody(lines.map(redact));
    // After its /start is through: a start arriving after the end would open a run never closed.
    own(run.started.then(() => Promise.all(ping(job, kind, event, run.runId, body))));
  };

  return {
    onStart(job, kind) {
      const key = `${kind} ${job}`;
      if (runs.has(key)) return; // a retried attempt of a run already started
      const runId = newRunId();
      runs.set(key, { runId, started: own(Promise.all(ping(job, kind, 'start', runId, ''))) });
    },
    onFinish(event, lines = []) {
      if (event.retryInMs !== undefined) return;
      const run = finishedRunFromEvent(event, redact);
      raise(tracker.onRun(run));
      // Serve stopping aborts a run without a verdict: the monitor's grace period tells the rest.
      if (run.result === 'aborted') runs.delete(`${event.kind} ${event.job}`);
      else end(event.job, event.kind, run.result === 'success' ? 'success' : 'fail', lines);
    },
    onRun(run, lines, opts = {}) {
      if (!opts.skipped) raise(tracker.onRun(run));
      end(run.job, run.kind, run.result === 'failure' ? 'fail' : 'success', lines);
    },
    seed: (job, state) => tracker.seed(job, state),
    state: (job) => tracker.state(job),
    checkStale(lastBackupAt) {
      const checks = jobs
        .filter((job) => config.jobs[job]!.schedule)
        .map((job) => {
          const fromHistory = history?.last(job, 'backup', 'success')?.finishedAt;
          const last = [fromHistory, lastBackupAt(job)].filter(Boolean).sort().at(-1);
          return {
            job,
            kind: 'backup' as const,
            schedule: config.jobs[job]!.schedule!,
            lastSuccessAt: last ? new Date(last) : undefined,
            watchingSince,
          };
        });
      raise(tracker.checkStale(clock.now(), checks));
    },
    async settle() {
      while (sending.size) await Promise.all(sending);
    },
  };
}
