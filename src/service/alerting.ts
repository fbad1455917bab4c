/**
 * The service's alerts: each finished run and a periodic stale check go through the alert
 * tracker, and what it raises is logged and sent to the notifiers. A delivery is never awaited by
 * the run that raised it, but it has an owner: `settle()` waits for the ones still going.
 */
import type { Config } from '../config/schema.js';
import { buildNotifiers } from '../notify/build.js';
import { dispatchAlert } from '../notify/dispatch.js';
import { createAlertTracker, finishedRunFromEvent, stateFromHistory } from '../notify/alert-tracker.js';
import type { SchedulerEvent } from '../scheduler/types.js';
import type { Redactor } from '../util/redact.js';
import type { Alert } from '../notify/types.js';
import type { Clock } from '../util/clock.js';
import type { RunHistory } from '../history/types.js';

export interface Alerting {
  /** A finished attempt of a run: alerts when it is the last one (no retry follows). */
  onFinish(event: Extract<SchedulerEvent, { type: 'finish' }>): void;
  /** Stale alerts (and recoveries) for the scheduled jobs' backups. */
  checkStale(lastBackupAt: (job: string) => string | undefined): void;
  /** Resolves once every alert raised so far is delivered or given up on. */
  settle(): Promise<void>;
}

export function createAlerting(
  config: Config,
  deps: { history: RunHistory; clock: Clock; redactor: Redactor; log: (line: string) => void },
): Alerting {
  const { history, clock, log } = deps;
  const redact = (text: string) => deps.redactor.redact(text);
  const notifiers = buildNotifiers(config.notify, { redactor: deps.redactor });
  const tracker = createAlertTracker();
  const jobs = Object.keys(config.jobs);
  for (const job of jobs) tracker.seed(job, stateFromHistory(history, job));
  const sending = new Set<Promise<unknown>>();
  const watchingSince = clock.now();

  const raise = (alerts: Alert[]) => {
    for (const a of alerts) {
      log(`alert ${a.kind} ${a.job}: ${a.summary}`);
      // dispatchAlert never rejects (a failed delivery is logged and reported back).
      const delivery = dispatchAlert(a, notifiers, { log }).finally(() => sending.delete(delivery));
      sending.add(delivery);
    }
  };

  return {
    onFinish(event) {
      if (event.retryInMs === undefined) raise(tracker.onRun(finishedRunFromEvent(event, redact)));
    },
    checkStale(lastBackupAt) {
      const checks = jobs
        .filter((job) => config.jobs[job]!.schedule)
        .map((job) => {
          const fromHistory = history.last(job, 'backup', 'success')?.finishedAt;
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
      await Promise.all(sending);
    },
  };
}
