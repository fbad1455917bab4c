/**
 * The scheduler (src/scheduler/scheduler.ts) on a FakeClock: cron runs across a DST change, one run
 * of a job at a time with skips counted, retries with backoff for retryable failures only, the
 * per-run deadline, manual triggers, and stop() with its grace period.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { LifeboatError } from '../src/util/errors.js';
import { isRetryable, retryDelay } from '../src/util/backoff.js';
import { FakeClock } from './helpers/fake-clock.js';
import {
  abortCause,
  createScheduler,
  type ScheduledTask,
  type SchedulerEvent,
  type SchedulerOptions,
} from '../src/scheduler/scheduler.js';
import { systemClock } from '../src/util/clock.js';
import type { RunTrigger } from '../src/history/types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

interface Call {
  job: string;
  kind: string;
  trigger: RunTrigger;
  at: string;
}

/** A scheduler whose runs are recorded; `work` decides what each run does (default: succeed at once). */
function setup(
  start: string,
  tasks: ScheduledTask[],
  work: (task: ScheduledTask, signal: AbortSignal, n: number) => Promise<void> = async () => {},
  extra: Partial<SchedulerOptions> = {},
) {
  const clock = new FakeClock(start);
  const calls: Call[] = [];
  const events: SchedulerEvent[] = [];
  const scheduler = createScheduler({
    tasks,
    clock,
    run: (task, trigger, signal) => {
      calls.push({ job: task.job, kind: task.kind, trigger, at: clock.now().toISOString() });
      return work(task, signal, calls.length);
    },
    onEvent: (e) => events.push(e),
    random: () => 0.5,
    ...extra,
  });
  return { clock, calls, events, scheduler };
}

describe('scheduler', () => {
  test('a daily 02:30 America/New_York job runs once a day across spring forward and fall back', async () => {
    const { clock, calls, scheduler } = setup('2026-03-06T12:00:00Z', [
      { job: 'app', kind: 'backup', schedule: { cron: '30 2 * * *', timezone: 'America/New_York' } },
    ]);
    scheduler.start();
    await clock.advanceTo('2026-03-10T12:00:00Z');
    assert.deepEqual(
      calls.map((c) => c.at),
      [
        '2026-03-07T07:30:00.000Z', // 02:30 EST
        '2026-03-08T07:00:00.000Z', // 02:30 does not exist: 03:00 EDT, once
        '2026-03-09T06:30:00.000Z', // 02:30 EDT
        '2026-03-10T06:30:00.000Z',
      ],
    );
    await clock.advanceTo('2026-11-03T00:00:00Z');
    const fallDays = calls.filter((c) => c.at >= '2026-10-31' && c.at < '2026-11-03');
    assert.deepEqual(
      fallDays.map((c) => c.at),
      [
        '2026-10-31T06:30:00.000Z', // 02:30 EDT
        '2026-11-01T07:30:00.000Z', // 02:30 EST, after 01:00–02:00 happened twice: once
        '2026-11-02T07:30:00.000Z',
      ],
    );
    assert.equal(calls.length, 4 + (Date.UTC(2026, 10, 2) - Date.UTC(2026, 2, 10)) / (24 * HOUR));
    await scheduler.stop(0);
  });

  test('a run never overlaps another of the same job; due runs are skipped and counted per kind', async () => {
    const clock = new FakeClock('2026-05-01T00:00:00Z');
    const calls: string[] = [];
    const skips: string[] = [];
    const scheduler = createScheduler({
      tasks: [
        { job: 'app', kind: 'backup', schedule: { cron: '0 * * * *' } },
        { job: 'app', kind: 'drill', schedule: { cron: '30 * * * *' } },
        { job: 'other', kind: 'backup', schedule: { cron: '0 * * * *' } },
      ],
      clock,
      run: async (task, _trigger, signal) => {
        calls.push(`${clock.now().toISOString().slice(11, 16)} ${task.job} ${task.kind}`);
        // app's backups take 90 minutes, everything else 10
        await clock.sleep(task.job === 'app' && task.kind === 'backup' ? 90 * MIN : 10 * MIN, signal);
      },
      onSkip: (task) => skips.push(`${clock.now().toISOString().slice(11, 16)} ${task.job} ${task.kind}`),
    });
    scheduler.start();
    await clock.advanceTo('2026-05-01T04:59:00Z');
    assert.deepEqual(calls, [
      '00:30 app drill',
      '01:00 app backup', // runs until 02:30
      '01:00 other backup',
      '02:00 other backup',
      '02:30 app drill', // due as the backup ends: the earlier-armed timer (the backup's) goes first
      '03:00 app backup', // runs until 04:30
      '03:00 other backup',
      '04:00 other backup',
      '04:30 app drill',
    ]);
    assert.deepEqual(skips, ['01:30 app drill', '02:00 app backup', '03:30 app drill', '04:00 app backup']);
    assert.deepEqual(scheduler.skipped(), [
      { job: 'app', kind: 'backup', count: 2 },
      { job: 'app', kind: 'drill', count: 2 },
      { job: 'other', kind: 'backup', count: 0 },
    ]);

    // A manual trigger of a busy job is refused (and is not a skipped scheduled run).
    await clock.advanceTo('2026-05-01T05:00:00Z');
    assert.deepEqual(scheduler.trigger('app', 'drill'), { started: false, reason: 'running' });
    assert.equal(scheduler.skipped().find((s) => s.job === 'app' && s.kind === 'drill')!.count, 2);
    assert.deepEqual(
      scheduler.running().map((r) => `${r.job} ${r.kind} ${r.trigger}`),
      ['app backup schedule', 'other backup schedule'],
    );
    await scheduler.stop(0);
  });

  test('manual triggers start at once, report busy and unknown tasks, and resolve done', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { calls, scheduler } = setup(
      '2026-05-01T00:00:00Z',
      [
        { job: 'app', kind: 'backup' },
        { job: 'app', kind: 'drill' },
      ],
      () => gate,
    );
    scheduler.start();
    const first = scheduler.trigger('app', 'backup');
    assert.equal(first.started, true);
    assert.deepEqual(calls, [{ job: 'app', kind: 'backup', trigger: 'api', at: '2026-05-01T00:00:00.000Z' }]);
    assert.deepEqual(scheduler.trigger('app', 'drill'), { started: false, reason: 'running' });
    assert.deepEqual(scheduler.trigger('nope', 'backup'), { started: false, reason: 'unknown' });
    assert.deepEqual(scheduler.nextRuns(), []); // no schedules: manual only
    release();
    if (first.started) await first.done;
    assert.equal(scheduler.trigger('app', 'drill').started, true);
    await scheduler.stop(0);
  });

  test('retryable failures are retried with exponential backoff; others are not', async () => {
    const flaky = () => new LifeboatError('unreachable', 'put x: ECONNRESET', { retryable: true });
    const { clock, calls, events, scheduler } = setup(
      '2026-05-01T00:00:00Z',
      [
        { job: 'flaky', kind: 'backup', schedule: { cron: '0 1 * * *' } },
        { job: 'broken', kind: 'backup', schedule: { cron: '0 1 * * *' } },
        { job: 'down', kind: 'backup', schedule: { cron: '0 1 * * *' } },
      ],
      async (task) => {
        const mine = calls.filter((c) => c.job === task.job).length;
        if (task.job === 'flaky' && mine < 3) throw flaky();
        if (task.job === 'broken') throw new LifeboatError('failed', 'pg_dump: exit 1');
        if (task.job === 'down') throw flaky();
      },
      { retry: { maxAttempts: 4, baseDelayMs: MIN, maxDelayMs: 3 * MIN } },
    );
    scheduler.start();
    await clock.advanceTo('2026-05-01T02:00:00Z');
    const of = (job: string) =>
      calls.filter((c) => c.job === job).map((c) => `${c.at.slice(11, 19)} ${c.trigger}`);
    // random() = 0.5: each wait is 3/4 of the nominal 1, 2, 4→3 (capped) minutes.
    assert.deepEqual(of('flaky'), ['01:00:00 schedule', '01:00:45 retry', '01:02:15 retry']);
    assert.deepEqual(of('broken'), ['01:00:00 schedule']);
    assert.deepEqual(of('down'), ['01:00:00 schedule', '01:00:45 retry', '01:02:15 retry', '01:04:30 retry']);

    const finishes = events.filter((e) => e.type === 'finish' && e.job === 'down');
    assert.deepEqual(
      finishes.map((e) => e.type === 'finish' && [e.outcome, e.attempt, e.retryInMs]),
      [
        ['failure', 1, 45_000],
        ['failure', 2, 90_000],
        ['failure', 3, 135_000],
        ['failure', 4, undefined], // the last attempt: no retry follows, alerts may go out
      ],
    );
    const flakyLast = events.filter((e) => e.type === 'finish' && e.job === 'flaky').at(-1);
    assert.equal(flakyLast?.type === 'finish' && flakyLast.outcome, 'success');
    await scheduler.stop(0);
  });

  test('backoff delays and the retryable test', () => {
    const policy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 5000 };
    assert.deepEqual(
      [0, 1, 2, 3].map((n) => retryDelay(policy, n, () => 0)),
      [500, 1000, 2000, 2500],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((n) => retryDelay(policy, n, () => 0.999999)),
      [1000, 2000, 4000, 5000],
    );
    assert.equal(isRetryable(new LifeboatError('unreachable', 'x', { retryable: true })), true);
    assert.equal(isRetryable(new LifeboatError('unreachable', 'x')), false);
    assert.equal(isRetryable(new Error('x')), false);
    assert.equal(isRetryable(undefined), false);
  });

  test('a run past its deadline has its signal aborted and is not retried', async () => {
    let seen: unknown;
    const { clock, events, scheduler } = setup(
      '2026-05-01T00:00:00Z',
      [{ job: 'slow', kind: 'backup', schedule: { cron: '0 1 * * *' } }],
      async (_task, signal) => {
        try {
          await clock.sleep(5 * HOUR, signal);
        } catch (err) {
          seen = abortCause(signal);
          // a run may well report the abort as a retryable error; the deadline still wins
          throw new LifeboatError('unreachable', 'put x: aborted', { cause: err, retryable: true });
        }
      },
      { deadlineMs: 2 * HOUR, retry: { maxAttempts: 3, baseDelayMs: MIN, maxDelayMs: MIN } },
    );
    scheduler.start();
    await clock.advanceTo('2026-05-01T02:59:00Z');
    assert.equal(seen, undefined);
    await clock.advanceTo('2026-05-01T03:00:00Z');
    assert.equal(seen, 'deadline');
    const finish = events.find((e) => e.type === 'finish');
    assert.ok(finish?.type === 'finish');
    assert.equal(finish.outcome, 'aborted');
    assert.equal(finish.cause, 'deadline');
    assert.equal(finish.retryInMs, undefined);
    assert.deepEqual(scheduler.running(), []);
    await scheduler.stop(0);
  });

  test('a run that ends in time does not leave its deadline armed', async () => {
    const { clock, scheduler } = setup(
      '2026-05-01T00:00:00Z',
      [{ job: 'app', kind: 'backup' }],
      async () => {},
      { deadlineMs: HOUR },
    );
    const run = scheduler.trigger('app', 'backup');
    if (run.started) await run.done;
    assert.equal(clock.pending(), 0);
  });

  test('stop(): no new runs, finishers finish, the rest is aborted after the grace period', async () => {
    const { clock, calls, events, scheduler } = setup(
      '2026-05-01T00:00:00Z',
      [
        { job: 'quick', kind: 'backup', schedule: { cron: '0 * * * *' } },
        { job: 'long', kind: 'backup', schedule: { cron: '0 * * * *' } },
        { job: 'stuck', kind: 'drill', schedule: { cron: '0 * * * *' } },
      ],
      (task, signal) =>
        clock.sleep(task.job === 'quick' ? 5 * MIN : task.job === 'long' ? 20 * MIN : 10 * HOUR, signal),
    );
    scheduler.start();
    await clock.advanceTo('2026-05-01T01:00:00Z');
    assert.equal(calls.length, 3);

    let stopped = false;
    const stopping = scheduler.stop(30 * MIN).then((r) => {
      stopped = true;
      return r;
    });
    assert.deepEqual(scheduler.trigger('quick', 'backup'), { started: false, reason: 'stopping' });
    await clock.advance(25 * MIN);
    assert.equal(stopped, false);
    const outcomes = () =>
      Object.fromEntries(
        events.flatMap((e) => (e.type === 'finish' ? [[e.job, `${e.outcome} ${e.cause ?? ''}`.trim()]] : [])),
      );
    assert.deepEqual(outcomes(), { quick: 'success', long: 'success' });
    await clock.advance(5 * MIN);
    const result = await stopping;
    assert.deepEqual(result.aborted, [{ job: 'stuck', kind: 'drill' }]);
    assert.deepEqual(outcomes(), { quick: 'success', long: 'success', stuck: 'aborted stop' });
    await clock.advance(5 * HOUR);
    assert.equal(calls.length, 3, 'no run starts after stop()');
    assert.equal(clock.pending(), 0, 'no timer is left behind');
  });

  test('stop() cancels a pending retry and returns at once when nothing runs', async () => {
    const { clock, calls, scheduler } = setup(
      '2026-05-01T00:00:00Z',
      [{ job: 'app', kind: 'backup', schedule: { cron: '0 1 * * *' } }],
      async () => {
        throw new LifeboatError('unreachable', 'connect: ECONNREFUSED', { retryable: true });
      },
      { retry: { maxAttempts: 5, baseDelayMs: 10 * MIN, maxDelayMs: HOUR } },
    );
    scheduler.start();
    await clock.advanceTo('2026-05-01T01:00:00Z');
    assert.equal(calls.length, 1);
    assert.deepEqual(await scheduler.stop(HOUR), { aborted: [] });
    await clock.advance(2 * HOUR);
    assert.equal(calls.length, 1);
    assert.equal(clock.pending(), 0);
  });

  test('jitter delays scheduled runs; nextRuns shows the cron time', async () => {
    const { clock, calls, scheduler } = setup(
      '2026-05-01T00:00:00Z',
      [{ job: 'app', kind: 'backup', schedule: { cron: '0 2 * * *', timezone: 'America/Sao_Paulo' } }],
      async () => {},
      { jitterMs: 10 * MIN },
    );
    scheduler.start();
    await clock.flush();
    assert.deepEqual(scheduler.nextRuns(), [
      { job: 'app', kind: 'backup', at: new Date('2026-05-01T05:00:00Z') },
    ]);
    await clock.advanceTo('2026-05-01T06:00:00Z');
    assert.deepEqual(
      calls.map((c) => c.at),
      ['2026-05-01T05:05:00.000Z'],
    );
    assert.deepEqual(scheduler.nextRuns(), [
      { job: 'app', kind: 'backup', at: new Date('2026-05-02T05:00:00Z') },
    ]);
    await scheduler.stop(0);
  });

  test('a throwing event listener or run does not break the scheduler', async () => {
    const clock = new FakeClock('2026-05-01T00:00:00Z');
    let runs = 0;
    const scheduler = createScheduler({
      tasks: [{ job: 'app', kind: 'backup', schedule: { cron: '0 * * * *' } }],
      clock,
      run: () => {
        runs++;
        throw new Error('synchronous bug');
      },
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    scheduler.start();
    await clock.advanceTo('2026-05-01T03:00:00Z');
    assert.equal(runs, 3);
    await scheduler.stop(0);
  });

  test('a rejecting async listener or a bug inside a run leaves no rejection unowned', async () => {
    const unowned: unknown[] = [];
    const onUnhandled = (err: unknown) => unowned.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const clock = new FakeClock('2026-05-01T00:00:00Z');
      const finished: unknown[] = [];
      const scheduler = createScheduler({
        tasks: [{ job: 'app', kind: 'backup', schedule: { cron: '0 * * * *' } }],
        clock,
        retry: { maxAttempts: 2, baseDelayMs: MIN, maxDelayMs: MIN },
        run: () =>
          Promise.reject(new LifeboatError('unreachable', 'connect: ECONNREFUSED', { retryable: true })),
        // Called for the retry's backoff: a bug inside execute(), after the run itself failed.
        random: () => {
          throw new Error('random bug');
        },
        onEvent: async (e) => {
          if (e.type === 'finish') finished.push((e.error as Error).message);
          throw new Error('listener bug');
        },
      });
      scheduler.start();
      await clock.advanceTo('2026-05-01T02:00:00Z');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(finished, ['random bug', 'random bug'], 'each run reported failed, the next one ran');
      assert.deepEqual(scheduler.running(), []);
      await scheduler.stop(0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unowned, []);
  });

  test('on the system clock, stop() leaves no timer behind (the process can exit)', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    let aborted = false;
    const scheduler = createScheduler({
      tasks: [
        { job: 'app', kind: 'backup', schedule: { cron: '0 0 1 1 *' } },
        { job: 'app', kind: 'drill' },
      ],
      clock: systemClock,
      deadlineMs: HOUR,
      run: (_task, _trigger, signal) =>
        systemClock.sleep(HOUR, signal).catch((err) => {
          aborted = true;
          throw err;
        }),
    });
    scheduler.start();
    assert.equal(scheduler.trigger('app', 'drill').started, true);
    assert.ok(timers() > before);
    const t0 = Date.now();
    assert.deepEqual(await scheduler.stop(50), { aborted: [{ job: 'app', kind: 'drill' }] });
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(aborted, true);
    assert.equal(timers(), before);
  });
});
