/**
 * The scheduler's vocabulary: what it schedules, what it reports, how it is configured and
 * controlled, and the abort reasons it gives a run's signal. scheduler.ts re-exports all of it.
 */
import { LifeboatError } from '../util/errors.js';
import type { Clock } from '../util/clock.js';
import type { RunTrigger } from '../history/types.js';
import type { RetryPolicy } from '../util/backoff.js';
import type { Schedule } from '../util/next-run.js';

export type ScheduledKind = 'backup' | 'drill';

export interface ScheduledTask {
  job: string;
  kind: ScheduledKind;
  /** Absent: the task only runs when triggered (through the API). */
  schedule?: Schedule;
}

/** The reason a run's signal carries when the scheduler aborts it. */
export class RunAborted extends LifeboatError {
  constructor(
    readonly why: 'deadline' | 'stop',
    message: string,
  ) {
    super('aborted', message);
  }
}

/** Why the scheduler aborted this signal, if it did. */
export function abortCause(signal: AbortSignal): 'deadline' | 'stop' | undefined {
  return signal.aborted && signal.reason instanceof RunAborted ? signal.reason.why : undefined;
}

interface EventBase {
  job: string;
  kind: ScheduledKind;
  at: Date;
}

export type SchedulerEvent =
  | (EventBase & { type: 'start'; trigger: RunTrigger; attempt: number })
  | (EventBase & {
      type: 'finish';
      trigger: RunTrigger;
      attempt: number;
      outcome: 'success' | 'failure' | 'aborted';
      /** Set for 'aborted': the deadline passed or the service is stopping. */
      cause?: 'deadline' | 'stop';
      error?: unknown;
      /** Set when another attempt follows after this many ms; alerts should wait for it. */
      retryInMs?: number;
    })
  | (EventBase & { type: 'skip'; trigger: RunTrigger });

export interface SchedulerOptions {
  tasks: ScheduledTask[];
  clock: Clock;
  /** Does one attempt; resolves on success, throws on failure (`retryable: true` to get retried). */
  run(task: ScheduledTask, trigger: RunTrigger, signal: AbortSignal): Promise<void>;
  /** Each scheduled run starts up to this much later, at random, so jobs on one cron spread out. */
  jitterMs?: number;
  retry?: RetryPolicy;
  /** Each attempt's signal is aborted this long after it started. */
  deadlineMs?: number;
  /** Random source in [0, 1) for jitter and backoff; tests pin it. */
  random?: () => number;
  onSkip?(task: ScheduledTask): void;
  /** Never allowed to break the scheduler: a listener that throws or returns a rejection is ignored. */
  onEvent?(event: SchedulerEvent): void;
}

export type TriggerOutcome =
  | {
      started: true;
      /** Settles when the run (retries included) is over; never rejects. */ done: Promise<void>;
    }
  | { started: false; reason: 'running' | 'stopping' | 'unknown' };

export interface RunningRun {
  job: string;
  kind: ScheduledKind;
  trigger: RunTrigger;
  attempt: number;
  startedAt: Date;
}

export interface Scheduler {
  /** Starts the cron loops; calling it again does nothing. */
  start(): void;
  /** Starts a run now unless one of the job is running (or the scheduler is stopping). */
  trigger(job: string, kind: ScheduledKind): TriggerOutcome;
  /** The next scheduled (cron) time of every task that has a schedule. */
  nextRuns(): Array<{ job: string; kind: ScheduledKind; at: Date }>;
  /** Runs in progress, one per busy job. */
  running(): RunningRun[];
  /** Scheduled runs skipped because the job was busy, per task (zeros included), since start. */
  skipped(): Array<{ job: string; kind: ScheduledKind; count: number }>;
  /**
   * Takes no new runs and cancels pending retries, lets running runs finish for up to `graceMs`,
   * then aborts their signals and waits for them to settle. Resolves with the runs it aborted.
   */
  stop(graceMs: number): Promise<{ aborted: Array<{ job: string; kind: ScheduledKind }> }>;
}
