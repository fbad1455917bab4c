/**
 * Table tests for schedule arithmetic (src/util/next-run.ts): next runs in a time zone, across
 * daylight-saving changes, the interval the stale rule measures, validation messages, and the
 * scheduler's tasks and settings taken from the config (src/scheduler/settings.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { serverSchema, type Config } from '../src/config/schema.js';
import { LifeboatError } from '../src/util/errors.js';
import {
  nextRunAfter,
  scheduleInterval,
  scheduleProblem,
  validateSchedule,
  type Schedule,
} from '../src/util/next-run.js';
import { durationMs, scheduledTasks, schedulerSettings } from '../src/scheduler/settings.js';

function runsAfter(schedule: Schedule, from: string, n: number): string[] {
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < n; i++) {
    const next = nextRunAfter(schedule, at);
    if (!next) break;
    out.push(next.toISOString());
    at = next;
  }
  return out;
}

describe('nextRunAfter', () => {
  const cases: Array<{ name: string; schedule: Schedule; from: string; runs: string[] }> = [
    {
      name: 'UTC by default',
      schedule: { cron: '30 2 * * *' },
      from: '2026-05-01T00:00:00Z',
      runs: ['2026-05-01T02:30:00.000Z', '2026-05-02T02:30:00.000Z'],
    },
    {
      name: 'strictly after: a run exactly at `from` is not returned',
      schedule: { cron: '30 2 * * *' },
      from: '2026-05-01T02:30:00Z',
      runs: ['2026-05-02T02:30:00.000Z'],
    },
    {
      name: 'America/Sao_Paulo (UTC-3, no DST since 2019)',
      schedule: { cron: '30 2 * * *', timezone: 'America/Sao_Paulo' },
      from: '2026-05-01T00:00:00Z',
      runs: ['2026-05-01T05:30:00.000Z', '2026-05-02T05:30:00.000Z'],
    },
    {
      // 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 does not exist that day; it runs once, at 03:00.
      name: 'America/New_York spring forward: the missing 02:30 runs once, at 03:00 EDT',
      schedule: { cron: '30 2 * * *', timezone: 'America/New_York' },
      from: '2026-03-06T12:00:00Z',
      runs: [
        '2026-03-07T07:30:00.000Z', // 02:30 EST
        '2026-03-08T07:00:00.000Z', // 03:00 EDT
        '2026-03-09T06:30:00.000Z', // 02:30 EDT
      ],
    },
    {
      // 2026-11-01 02:00 EDT falls back to 01:00 EST: 01:30 happens twice; the job runs once.
      name: 'America/New_York fall back: a repeated 01:30 runs once',
      schedule: { cron: '30 1 * * *', timezone: 'America/New_York' },
      from: '2026-10-31T12:00:00Z',
      runs: ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
    },
    {
      // Historical: São Paulo's DST began 2018-11-04 at 00:00, which became 01:00.
      name: 'America/Sao_Paulo 2018 DST start: the missing 00:30 runs once, at 01:00',
      schedule: { cron: '30 0 * * *', timezone: 'America/Sao_Paulo' },
      from: '2018-11-02T12:00:00Z',
      runs: ['2018-11-03T03:30:00.000Z', '2018-11-04T03:00:00.000Z', '2018-11-05T02:30:00.000Z'],
    },
    {
      name: 'weekdays only skip the weekend',
      schedule: { cron: '0 2 * * 1-5', timezone: 'UTC' },
      from: '2026-11-20T03:00:00Z', // a Friday
      runs: ['2026-11-23T02:00:00.000Z', '2026-11-24T02:00:00.000Z'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(runsAfter(c.schedule, c.from, c.runs.length), c.runs));
  }
});

describe('scheduleInterval', () => {
  const H = 3_600_000;
  const cases: Array<{ name: string; schedule: Schedule; at: string; ms: number }> = [
    { name: 'hourly', schedule: { cron: '0 * * * *' }, at: '2026-05-01T10:20:00Z', ms: H },
    { name: 'daily', schedule: { cron: '30 2 * * *' }, at: '2026-05-01T10:00:00Z', ms: 24 * H },
    {
      name: 'exactly at a run: that run and the next',
      schedule: { cron: '30 2 * * *' },
      at: '2026-05-01T02:30:00Z',
      ms: 24 * H,
    },
    {
      name: 'the spring-forward day is 23 hours long',
      schedule: { cron: '0 12 * * *', timezone: 'America/New_York' },
      at: '2026-03-08T00:00:00Z', // between Saturday's and Sunday's noon runs
      ms: 23 * H,
    },
    {
      name: 'weekdays: a Friday success is measured against the Friday-to-Monday gap',
      schedule: { cron: '0 2 * * 1-5' },
      at: '2026-11-20T02:10:00Z',
      ms: 72 * H,
    },
    {
      name: 'weekdays: a Thursday success against one day',
      schedule: { cron: '0 2 * * 1-5' },
      at: '2026-11-19T02:10:00Z',
      ms: 24 * H,
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(scheduleInterval(c.schedule, new Date(c.at)), c.ms));
  }
});

describe('schedule validation', () => {
  const cases: Array<{ schedule: Schedule; problem?: { field: string; message: RegExp } }> = [
    { schedule: { cron: '30 2 * * *', timezone: 'America/Sao_Paulo' } },
    {
      schedule: { cron: '61 * * * *' },
      problem: { field: 'cron', message: /invalid cron expression "61 \* \* \* \*": .*minute/ },
    },
    {
      schedule: { cron: 'every day' },
      problem: { field: 'cron', message: /invalid cron expression "every day"/ },
    },
    { schedule: { cron: '0 0 30 2 *' }, problem: { field: 'cron', message: /never fires/ } },
    {
      schedule: { cron: '0 2 * * *', timezone: 'Mars/Base' },
      problem: { field: 'timezone', message: /unknown time zone "Mars\/Base"/ },
    },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.schedule)} → ${c.problem ? c.problem.field : 'ok'}`, () => {
      const problem = scheduleProblem(c.schedule);
      if (!c.problem) return assert.equal(problem, undefined);
      assert.equal(problem?.field, c.problem.field);
      assert.match(problem!.message, c.problem.message);
      assert.doesNotMatch(problem!.message, /\n/);
    });
  }

  test('validateSchedule names the field in a config error', () => {
    assert.throws(
      () => validateSchedule({ cron: '0 2 * * *', timezone: 'Nowhere/Town' }, 'jobs.app.drill.schedule'),
      (err: unknown) =>
        err instanceof LifeboatError &&
        err.code === 'config' &&
        err.message.startsWith('jobs.app.drill.schedule.timezone: unknown time zone "Nowhere/Town"'),
    );
  });
});

describe('scheduler settings from the config', () => {
  test('tasks: a backup and a drill per job, scheduled when configured', () => {
    const tasks = scheduledTasks({
      jobs: {
        app: {
          schedule: { cron: '30 2 * * *', timezone: 'UTC' },
          drill: { schedule: { cron: '0 3 * * 0', timezone: 'UTC' } },
        },
        crm: {},
      } as unknown as Config['jobs'],
    });
    assert.deepEqual(tasks, [
      { job: 'app', kind: 'backup', schedule: { cron: '30 2 * * *', timezone: 'UTC' } },
      { job: 'app', kind: 'drill', schedule: { cron: '0 3 * * 0', timezone: 'UTC' } },
      { job: 'crm', kind: 'backup' },
      { job: 'crm', kind: 'drill' },
    ]);
  });

  test('server settings in milliseconds, with defaults', () => {
    const server = serverSchema.parse({ runDeadline: '6h', jitterSeconds: 90, retries: { attempts: 5 } });
    assert.deepEqual(schedulerSettings(server), {
      jitterMs: 90_000,
      retry: { maxAttempts: 5, baseDelayMs: 30_000, maxDelayMs: 600_000 },
      deadlineMs: 6 * 3_600_000,
      graceMs: 30_000,
      historyRetentionMs: 90 * 86_400_000,
    });
    assert.deepEqual(schedulerSettings(undefined), schedulerSettings(serverSchema.parse({})));
    assert.equal(durationMs('1y2m3d4h'), ((365 + 60 + 3) * 24 + 4) * 3_600_000);
  });
});
