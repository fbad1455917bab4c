/**
 * Schedule arithmetic (SPEC §4), used by config validation, the scheduler, alert rules and `status`:
 * when a `{ cron, timezone }` schedule runs next, how far apart its runs are at a given time (the
 * stale rule's yardstick), and validation with a one-line error naming the bad field. Pure.
 */
import { Cron } from 'croner';

import { LifeboatError } from './errors.js';

export interface Schedule {
  cron: string;
  /** IANA zone the cron fields are read in; UTC when absent. */
  timezone?: string;
}

export interface ScheduleProblem {
  field: 'cron' | 'timezone';
  message: string;
}

function cronOf(schedule: Schedule): Cron {
  // paused: a Cron used only for arithmetic must never start a timer of its own.
  return new Cron(schedule.cron, { timezone: schedule.timezone ?? 'UTC', paused: true });
}

/** What is wrong with a schedule, or undefined when it is usable. */
export function scheduleProblem(schedule: Schedule, from: Date = new Date()): ScheduleProblem | undefined {
  const timezone = schedule.timezone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return {
      field: 'timezone',
      message: `unknown time zone "${timezone}" (expected e.g. America/Sao_Paulo)`,
    };
  }
  let cron: Cron;
  try {
    cron = cronOf(schedule);
  } catch (err) {
    const detail = (err as Error).message.replace(/^Cron\w*:\s*/, '');
    return { field: 'cron', message: `invalid cron expression "${schedule.cron}": ${detail}` };
  }
  // "0 0 30 2 *" parses but never fires; a job that never runs is a config mistake, not a schedule.
  if (cron.nextRun(from) === null) {
    return { field: 'cron', message: `cron expression "${schedule.cron}" never fires` };
  }
  return undefined;
}

/**
 * Throws a config LifeboatError reading "`field`.cron: problem" when the schedule is unusable.
 * `field` is the schedule's path in the config, e.g. "jobs.app.schedule".
 */
export function validateSchedule(schedule: Schedule, field = 'schedule'): void {
  const problem = scheduleProblem(schedule);
  if (problem) throw new LifeboatError('config', `${field}.${problem.field}: ${problem.message}`);
}

/** The first run strictly after `from`, or undefined when the schedule never fires again. */
export function nextRunAfter(schedule: Schedule, from: Date): Date | undefined {
  return cronOf(schedule).nextRun(from) ?? undefined;
}

/** The latest run at or before `at`, or undefined when there is none. */
export function previousRunAtOrBefore(schedule: Schedule, at: Date): Date | undefined {
  // previousRuns looks strictly before its reference, so step one millisecond past `at`.
  return cronOf(schedule).previousRuns(1, new Date(at.getTime() + 1))[0];
}

/**
 * The gap (ms) between the two consecutive runs around `at`: the latest run at or before `at` and
 * the first one after it. Using the runs around `at`, not the next two, keeps irregular schedules
 * fair: for a weekdays-only job, a success on Friday is expected to last until Monday's run.
 * Falls back to the next two runs when nothing ran before `at`; undefined when it never fires.
 */
export function scheduleInterval(schedule: Schedule, at: Date): number | undefined {
  const next = nextRunAfter(schedule, at);
  if (!next) return undefined;
  const previous = previousRunAtOrBefore(schedule, at);
  if (previous) return next.getTime() - previous.getTime();
  const after = nextRunAfter(schedule, next);
  return after ? after.getTime() - next.getTime() : undefined;
}
