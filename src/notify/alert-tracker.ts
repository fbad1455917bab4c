/**
 * The alert bookkeeping of one `lifeboat serve` process: each job's alert state, fed by finished
 * runs and periodic stale checks, seeded at startup from the run history so a restart neither
 * forgets a failure streak nor hides a job that went stale while the process was down. The
 * decisions themselves are the pure rules in alert-rules.ts.
 */
import { oneLine } from '../util/errors.js';
import type { SchedulerEvent } from '../scheduler/types.js';
import type { Alert } from './types.js';
import type { RunHistory } from '../history/types.js';
import {
  alertsForRun,
  checkStale,
  initialJobState,
  type FinishedRun,
  type JobAlertState,
  type KindState,
  type StaleCheck,
  type WatchedKind,
} from './alert-rules.js';
import { formatAge } from './format.js';
import type { FailedRun } from '../catalog/failed-runs.js';

export interface AlertTracker {
  /** Replaces a job's state, e.g. with stateFromHistory() at startup. */
  seed(job: string, state: JobAlertState): void;
  /** The alerts a finished run raises (see alertsForRun). */
  onRun(run: FinishedRun): Alert[];
  /**
   * New stale alerts (one per job and kind until it recovers), and a 'recovery' for a stale job
   * whose check now shows a newer success — e.g. a backup made outside this process.
   */
  checkStale(now: Date, checks: StaleCheck[]): Alert[];
  state(job: string): JobAlertState;
}

export function createAlertTracker(): AlertTracker {
  const states = new Map<string, JobAlertState>();
  const stateOf = (job: string) => states.get(job) ?? initialJobState();

  return {
    seed(job, state) {
      states.set(job, state);
    },

    onRun(run) {
      const { state, alerts } = alertsForRun(stateOf(run.job), run);
      states.set(run.job, state);
      return alerts;
    },

    checkStale(now, checks) {
      const alerts: Alert[] = [];
      for (const check of checks) {
        const kind: WatchedKind = check.kind ?? 'backup';
        const job = stateOf(check.job);
        const known = job[kind];
        const lastSuccessAt = newest(check.lastSuccessAt, known.lastSuccessAt);
        const verdict = checkStale(now, {
          ...check,
          lastSuccessAt,
          lastError: check.lastError ?? known.lastError,
        });
        let next: KindState = known;
        if (verdict.stale === true && !known.staleSince) {
          alerts.push(verdict.alert);
          next = { ...known, staleSince: verdict.since };
        } else if (verdict.stale === false && known.staleSince) {
          const back = kind === 'backup' ? 'backup succeeded again' : 'drill passed again';
          const gap = Date.parse(lastSuccessAt!) - Date.parse(known.staleSince);
          alerts.push({
            kind: 'recovery',
            job: check.job,
            summary: `${back} after none for ${formatAge(gap)}`,
            since: known.staleSince,
            at: now.toISOString(),
          });
          next = { ...known, staleSince: undefined, lastSuccessAt };
        }
        if (next !== known) states.set(check.job, { ...job, [kind]: next });
      }
      return alerts;
    },

    state(job) {
      return structuredClone(stateOf(job));
    },
  };
}

/**
 * A job's alert state rebuilt from its newest runs: the last success, and the failure streak since
 * it (counting runs, not retry attempts). Looks at the newest `lookback` runs of each kind.
 */
export function stateFromHistory(
  history: Pick<RunHistory, 'list'>,
  job: string,
  lookback = 200,
): JobAlertState {
  const state = initialJobState();
  for (const kind of ['backup', 'drill'] as const) {
    const s: KindState = { failures: 0 };
    for (const run of history.list({ job, kind, limit: lookback })) {
      if (run.result === 'success') {
        s.lastSuccessAt = run.finishedAt ?? run.startedAt;
        break;
      }
      if (run.result !== 'failure') continue; // running or aborted: neither breaks nor extends a streak
      s.lastError ??= run.error;
      s.failingSince = run.startedAt; // newest first: ends at the streak's oldest failure
      if (run.trigger !== 'retry') s.failures++;
    }
    if (s.failures === 0) {
      delete s.failingSince;
      delete s.lastError;
    }
    state[kind] = s;
  }
  return state;
}

/**
 * The alert rules' view of the scheduler's 'finish' event: a deadline that cut a run short is a
 * failure worth an alert; only the service stopping is a silent "aborted".
 */
export function finishedRunFromEvent(
  event: Extract<SchedulerEvent, { type: 'finish' }>,
  redact: (text: string) => string = (t) => t,
): FinishedRun {
  const deadline = event.outcome === 'aborted' && event.cause === 'deadline';
  return {
    job: event.job,
    kind: event.kind,
    result: deadline ? 'failure' : event.outcome,
    at: event.at.toISOString(),
    ...(event.error !== undefined && { error: redact(oneLine(event.error)) }),
    willRetry: event.retryInMs !== undefined,
  };
}

function newest(a: string | Date | undefined, b: string | undefined): string | undefined {
  const ta = a === undefined ? NaN : new Date(a).getTime();
  const tb = b === undefined ? NaN : Date.parse(b);
  if (Number.isNaN(ta)) return Number.isNaN(tb) ? undefined : b;
  if (Number.isNaN(tb) || ta >= tb) return new Date(ta).toISOString();
  return b;
}

/**
 * A job's alert state as its failed-run records in storage tell it (catalog/failed-runs.ts): per
 * kind, the records are the current failure streak, since the run that succeeds removes them.
 * What one-shot runs seed the tracker with, where serve uses stateFromHistory.
 */
export function stateFromFailedRuns(runs: readonly FailedRun[]): JobAlertState {
  const state = initialJobState();
  for (const kind of ['backup', 'drill'] as const) {
    const streak = runs.filter((r) => r.kind === kind).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    if (!streak.length) continue;
    state[kind] = {
      failures: streak.length,
      failingSince: streak[0]!.startedAt,
      ...(streak.at(-1)!.error !== undefined && { lastError: streak.at(-1)!.error }),
    };
  }
  return state;
}
