/**
 * When Lifeboat raises an alert (issue 5): a backup or drill that failed, a job gone stale (no
 * success within 1.5× its schedule interval — also across time the process was down), and the
 * recovery after either. Pure: state in, state and alerts out, so every rule is a table test; the
 * stateful bookkeeping lives in alert-tracker.ts.
 */
import type { Alert } from './types.js';
import type { RunKind } from '../history/types.js';
import { scheduleInterval, type Schedule } from '../util/next-run.js';
import { formatAge } from './format.js';

export type WatchedKind = 'backup' | 'drill';

/** What the rules remember about one job's backups, or its drills. */
export interface KindState {
  lastSuccessAt?: string;
  /** First failed attempt of a run that is being retried; no alert yet. */
  retryingSince?: string;
  /** Start of the current streak of failed runs (alerted). */
  failingSince?: string;
  /** Failed runs in the current streak. */
  failures: number;
  lastError?: string;
  /** Set while a stale alert is outstanding: the time the job has been stale since. */
  staleSince?: string;
}

export interface JobAlertState {
  backup: KindState;
  drill: KindState;
}

export interface FinishedRun {
  job: string;
  kind: RunKind;
  result: 'success' | 'failure' | 'aborted';
  /** When it finished. ISO 8601. */
  at: string;
  startedAt?: string;
  /** One redacted line. */
  error?: string;
  /** Another attempt follows (the scheduler's retry): alert only if that one fails too. */
  willRetry?: boolean;
}

/** How long without a success makes a job stale, in schedule intervals. */
export const STALE_FACTOR = 1.5;

export function initialJobState(): JobAlertState {
  return { backup: { failures: 0 }, drill: { failures: 0 } };
}

const isWatched = (kind: RunKind): kind is WatchedKind => kind === 'backup' || kind === 'drill';

/**
 * The alerts one finished run raises, and the job's next state.
 * - failure of the last attempt: 'failure' (backup) or 'drill-failure', every failed run, saying
 *   since when the streak runs; a failure that will be retried only marks the time.
 * - success after alerted failures or an outstanding stale alert: one 'recovery'.
 * - aborted runs (the service stopping) and verify/prune runs change nothing.
 */
export function alertsForRun(
  prev: JobAlertState,
  run: FinishedRun,
): { state: JobAlertState; alerts: Alert[] } {
  if (!isWatched(run.kind) || run.result === 'aborted') return { state: prev, alerts: [] };
  const kind = run.kind;
  const before = prev[kind];
  const startedAt = run.startedAt ?? run.at;
  const withKind = (next: KindState) => ({ ...prev, [kind]: next });

  if (run.result === 'failure' && run.willRetry) {
    return { state: withKind({ ...before, retryingSince: before.retryingSince ?? startedAt }), alerts: [] };
  }

  if (run.result === 'failure') {
    const failingSince = before.failingSince ?? before.retryingSince ?? startedAt;
    const failures = before.failures + 1;
    const next: KindState = {
      ...before,
      failingSince,
      failures,
      retryingSince: undefined,
      lastError: run.error,
    };
    const what = kind === 'backup' ? 'backup failed' : 'drill failed';
    const alert: Alert = {
      kind: kind === 'backup' ? 'failure' : 'drill-failure',
      job: run.job,
      summary: failures === 1 ? what : `${what} again (${failures} runs in a row)`,
      since: failingSince,
      at: run.at,
      ...(run.error && { error: run.error }),
    };
    return { state: withKind(next), alerts: [alert] };
  }

  const next: KindState = { failures: 0, lastSuccessAt: run.at };
  if (before.failures === 0 && !before.staleSince) return { state: withKind(next), alerts: [] };
  const since = earliest(before.failingSince, before.staleSince);
  const success = kind === 'backup' ? 'backup succeeded again' : 'drill passed again';
  const why =
    before.failures > 0
      ? `after ${before.failures} failed run${before.failures === 1 ? '' : 's'}`
      : `after none for ${formatAge(Date.parse(run.at) - Date.parse(since!))}`;
  const alert: Alert = { kind: 'recovery', job: run.job, summary: `${success} ${why}`, since, at: run.at };
  return { state: withKind(next), alerts: [alert] };
}

/** One job's (or one job's drills') freshness, as the service knows it. */
export interface StaleCheck {
  job: string;
  kind?: WatchedKind;
  schedule: Schedule;
  /** Newest success from the history, the storage catalog or this process, whichever is newest. */
  lastSuccessAt?: string | Date;
  /** When watching began (service start); the reference when the job never succeeded. */
  watchingSince?: string | Date;
  /** The last failure's line, if known, to say why. */
  lastError?: string;
}

export type StaleVerdict =
  | { stale: false }
  | { stale: true; since: string; alert: Alert }
  | { stale: undefined /* no reference time or the schedule never fires: cannot judge */ };

/** Judges one job: stale when nothing succeeded for more than 1.5× the schedule's interval. */
export function checkStale(now: Date, check: StaleCheck): StaleVerdict {
  const kind = check.kind ?? 'backup';
  const success = toDate(check.lastSuccessAt);
  const reference = success ?? toDate(check.watchingSince);
  if (!reference) return { stale: undefined };
  const interval = scheduleInterval(check.schedule, reference);
  if (interval === undefined) return { stale: undefined };
  const age = now.getTime() - reference.getTime();
  if (age <= STALE_FACTOR * interval) return { stale: false };

  const what = kind === 'backup' ? 'successful backup' : 'passing drill';
  const summary = success
    ? `no ${what} for ${formatAge(age)} (expected every ${formatAge(interval)})`
    : `no ${what} since watching began ${formatAge(age)} ago (expected every ${formatAge(interval)})`;
  const since = reference.toISOString();
  const alert: Alert = {
    kind: 'stale',
    job: check.job,
    summary,
    since,
    at: now.toISOString(),
    ...(check.lastError && { error: check.lastError }),
  };
  return { stale: true, since, alert };
}

/** The key `alreadyAlerted` holds for a job's backups ("app") or drills ("app drill"). */
export function staleKey(job: string, kind: WatchedKind = 'backup'): string {
  return kind === 'backup' ? job : `${job} drill`;
}

/**
 * New stale alerts: jobs stale now whose key (staleKey) is not in `alreadyAlerted`, so a job stays
 * one alert until it recovers instead of one per tick. Works the same at startup, where the last
 * success comes from the history or the catalog and the gap may be downtime.
 */
export function staleAlerts(now: Date, jobs: StaleCheck[], alreadyAlerted: ReadonlySet<string>): Alert[] {
  const alerts: Alert[] = [];
  for (const check of jobs) {
    if (alreadyAlerted.has(staleKey(check.job, check.kind))) continue;
    const verdict = checkStale(now, check);
    if (verdict.stale) alerts.push(verdict.alert);
  }
  return alerts;
}

function toDate(value: string | Date | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (!a || !b) return a ?? b;
  return Date.parse(a) <= Date.parse(b) ? a : b;
}
