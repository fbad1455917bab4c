/**
 * The scheduler of `lifeboat serve` (SPEC §4): starts each job's backups and drills on their cron
 * schedules, never two runs of one job at once (a run due while the job is busy is skipped and
 * counted), retries failures that say a retry can help, aborts a run past its deadline, and stops
 * gracefully. It decides only *when*; the injected `run` does the work and records it. All time goes
 * through the injected Clock, so tests drive it with a FakeClock.
 */
import type { RunTrigger } from '../history/types.js';
import { isRetryable, NO_RETRY, retryDelay } from '../util/backoff.js';
import { nextRunAfter, type Schedule } from '../util/next-run.js';
import {
  abortCause,
  RunAborted,
  type RunningRun,
  type ScheduledKind,
  type ScheduledTask,
  type Scheduler,
  type SchedulerEvent,
  type SchedulerOptions,
  type TriggerOutcome,
} from './types.js';

export * from './types.js';
export type { RetryPolicy } from '../util/backoff.js';

interface ActiveRun extends RunningRun {
  task: ScheduledTask;
  controller: AbortController;
  done: Promise<void>;
}

// Long sleeps are cut into pieces so wall-clock jumps are noticed and setTimeout's 24.8-day limit is
// never hit by a yearly schedule.
const MAX_SLEEP_MS = 3_600_000;

const keyOf = (job: string, kind: string) => `${job}\n${kind}`;

export function createScheduler(opts: SchedulerOptions): Scheduler {
  const { clock } = opts;
  const random = opts.random ?? Math.random;
  const retry = opts.retry ?? NO_RETRY;
  const tasks = new Map(opts.tasks.map((t) => [keyOf(t.job, t.kind), t]));
  const busy = new Map<string, ActiveRun>(); // by job: a backup and a drill of one job never overlap
  const skips = new Map<string, number>();
  const planned = new Map<string, Date>();
  const life = new AbortController(); // aborted by stop(): ends the loops and pending retries
  const loops: Promise<void>[] = [];
  let started = false;
  let stopping: Promise<{ aborted: Array<{ job: string; kind: ScheduledKind }> }> | undefined;

  const emit = (event: SchedulerEvent) => listen(() => opts.onEvent?.(event));

  async function sleepUntil(target: number): Promise<void> {
    for (let now = clock.now().getTime(); now < target; now = clock.now().getTime()) {
      await clock.sleep(Math.min(target - now, MAX_SLEEP_MS), life.signal);
    }
  }

  async function loop(task: ScheduledTask & { schedule: Schedule }): Promise<void> {
    const key = keyOf(task.job, task.kind);
    let after = clock.now();
    while (!life.signal.aborted) {
      const due = nextRunAfter(task.schedule, after);
      if (!due) return;
      planned.set(key, due);
      const jitter = opts.jitterMs ? Math.floor(random() * opts.jitterMs) : 0;
      try {
        await sleepUntil(due.getTime() + jitter);
      } catch {
        return; // stopping
      }
      // From the due time, not "now": a clock that wakes a little early must not fire twice.
      after = new Date(Math.max(clock.now().getTime(), due.getTime()));
      fire(task, 'schedule');
    }
  }

  function fire(task: ScheduledTask, trigger: RunTrigger): TriggerOutcome {
    if (stopping) return { started: false, reason: 'stopping' };
    if (busy.has(task.job)) {
      if (trigger === 'schedule') {
        const key = keyOf(task.job, task.kind);
        skips.set(key, (skips.get(key) ?? 0) + 1);
        listen(() => opts.onSkip?.(task));
        emit({ type: 'skip', job: task.job, kind: task.kind, trigger, at: clock.now() });
      }
      return { started: false, reason: 'running' };
    }
    const active: ActiveRun = {
      task,
      job: task.job,
      kind: task.kind,
      trigger,
      attempt: 1,
      startedAt: clock.now(),
      controller: new AbortController(),
      done: Promise.resolve(),
    };
    busy.set(task.job, active);
    // `done` never rejects (a scheduled run's is not even awaited): a bug inside execute() is
    // reported as the run's failure instead of escaping as an unhandled rejection.
    active.done = execute(active)
      .catch((error: unknown) => reportBug(active, error))
      .finally(() => busy.delete(task.job));
    return { started: true, done: active.done };
  }

  async function execute(active: ActiveRun): Promise<void> {
    const { task } = active;
    for (let attempt = 1; ; attempt++) {
      const controller = new AbortController();
      const trigger: RunTrigger = attempt === 1 ? active.trigger : 'retry';
      Object.assign(active, { controller, attempt, startedAt: clock.now() });
      const base = { job: task.job, kind: task.kind, trigger, attempt };
      emit({ type: 'start', ...base, at: clock.now() });

      const disarm = armDeadline(controller);
      let error: unknown;
      let ok = false;
      try {
        await opts.run(task, trigger, controller.signal);
        ok = true;
      } catch (err) {
        error = err;
      } finally {
        disarm();
      }
      if (ok) return emit({ type: 'finish', ...base, at: clock.now(), outcome: 'success' });

      const cause = abortCause(controller.signal);
      const again =
        !controller.signal.aborted && !stopping && isRetryable(error) && attempt < retry.maxAttempts;
      const retryInMs = again ? retryDelay(retry, attempt - 1, random) : undefined;
      emit({
        type: 'finish',
        ...base,
        at: clock.now(),
        outcome: controller.signal.aborted ? 'aborted' : 'failure',
        ...(cause && { cause }),
        error,
        ...(retryInMs !== undefined && { retryInMs }),
      });
      if (retryInMs === undefined) return;
      try {
        await clock.sleep(retryInMs, life.signal);
      } catch {
        return; // stopping: a pending retry is simply dropped
      }
    }
  }

  function reportBug(active: ActiveRun, error: unknown): void {
    const { job, kind, attempt } = active;
    const trigger: RunTrigger = attempt === 1 ? active.trigger : 'retry';
    listen(() =>
      opts.onEvent?.({
        type: 'finish',
        job,
        kind,
        trigger,
        attempt,
        at: clock.now(),
        outcome: 'failure',
        error,
      }),
    );
  }

  function armDeadline(controller: AbortController): () => void {
    const ms = opts.deadlineMs;
    if (!ms) return () => {};
    const disarm = new AbortController();
    clock.sleep(ms, disarm.signal).then(
      () => controller.abort(new RunAborted('deadline', `run deadline of ${formatMs(ms)} exceeded`)),
      () => {}, // disarmed: the run ended in time
    );
    return () => disarm.abort();
  }

  return {
    start() {
      if (started || stopping) return;
      started = true;
      for (const task of tasks.values()) {
        if (task.schedule) loops.push(loop({ ...task, schedule: task.schedule }));
      }
    },

    trigger(job, kind) {
      const task = tasks.get(keyOf(job, kind));
      if (!task) return { started: false, reason: 'unknown' };
      return fire(task, 'api');
    },

    nextRuns() {
      const now = clock.now();
      const out: Array<{ job: string; kind: ScheduledKind; at: Date }> = [];
      for (const task of tasks.values()) {
        if (!task.schedule) continue;
        const pending = planned.get(keyOf(task.job, task.kind));
        const at = pending && pending >= now ? pending : nextRunAfter(task.schedule, now);
        if (at) out.push({ job: task.job, kind: task.kind, at });
      }
      return out;
    },

    running() {
      return [...busy.values()].map(({ job, kind, trigger, attempt, startedAt }) => ({
        job,
        kind,
        trigger,
        attempt,
        startedAt,
      }));
    },

    skipped() {
      return [...tasks.values()].map(({ job, kind }) => ({
        job,
        kind,
        count: skips.get(keyOf(job, kind)) ?? 0,
      }));
    },

    stop(graceMs) {
      stopping ??= (async () => {
        life.abort(new RunAborted('stop', 'lifeboat is stopping'));
        const aborted: Array<{ job: string; kind: ScheduledKind }> = [];
        const active = [...busy.values()];
        if (active.length > 0) {
          const graceOver = new AbortController();
          const allDone = Promise.all(active.map((a) => a.done)).then(() => false);
          const timedOut = (graceMs > 0 ? clock.sleep(graceMs, graceOver.signal) : Promise.resolve()).then(
            () => true,
            () => false,
          );
          const late = await Promise.race([allDone, timedOut]);
          graceOver.abort();
          if (late) {
            for (const run of busy.values()) {
              aborted.push({ job: run.job, kind: run.kind });
              run.controller.abort(
                new RunAborted('stop', `lifeboat is stopping: grace period of ${formatMs(graceMs)} over`),
              );
            }
          }
          await Promise.all(active.map((a) => a.done));
        }
        await Promise.all(loops);
        return { aborted };
      })();
      return stopping;
    },
  };
}

/**
 * Calls a listener. Its bug must not stop backups nor leave a rejection unowned: an async listener
 * (its `void` type allows one) fails through the promise it returns, not by throwing.
 */
function listen(call: () => unknown): void {
  try {
    const returned = call();
    if (returned instanceof Promise) returned.catch(() => {});
  } catch {
    // ignored, as above
  }
}

function formatMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}min`; // not "m": durations in the config use it for months
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
