/**
 * Table tests for the alert rules (src/notify/alert-rules.ts) and the tracker around them
 * (src/notify/alert-tracker.ts): failures, retries, recoveries, the stale rule (1.5× the schedule
 * interval, once per job until it recovers, also across downtime) and state rebuilt from history.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { createMemoryHistory } from '../src/history/memory-history.js';
import {
  alertsForRun,
  checkStale,
  initialJobState,
  staleAlerts,
  staleKey,
  type FinishedRun,
  type JobAlertState,
  type StaleCheck,
} from '../src/notify/alert-rules.js';
import { createAlertTracker, finishedRunFromEvent, stateFromHistory } from '../src/notify/alert-tracker.js';
import { alertText, formatAge } from '../src/notify/format.js';

/** Feeds runs in order; returns each run's alerts as "kind: summary | since | error". */
function feed(runs: FinishedRun[], state: JobAlertState = initialJobState()) {
  const out: string[][] = [];
  for (const run of runs) {
    const r = alertsForRun(state, run);
    state = r.state;
    out.push(r.alerts.map((a) => [`${a.kind}: ${a.summary}`, a.since ?? '-', a.error ?? '-'].join(' | ')));
  }
  return { out, state };
}

const run = (
  kind: FinishedRun['kind'],
  result: FinishedRun['result'],
  at: string,
  extra: Partial<FinishedRun> = {},
) => ({
  job: 'app',
  kind,
  result,
  at: `2026-05-0${at}Z`,
  startedAt: `2026-05-0${at}Z`,
  ...extra,
});

describe('alertsForRun', () => {
  const cases: Array<{ name: string; runs: FinishedRun[]; alerts: string[][] }> = [
    {
      name: 'successes alone are quiet',
      runs: [run('backup', 'success', '1T02:30:00'), run('drill', 'success', '1T03:00:00')],
      alerts: [[], []],
    },
    {
      name: 'a failed backup alerts with its error; a repeat says how many in a row and since when',
      runs: [
        run('backup', 'success', '1T02:30:00'),
        run('backup', 'failure', '2T02:30:00', { error: 'pg_dump: connection refused' }),
        run('backup', 'failure', '3T02:30:00', { error: 'pg_dump: timeout' }),
      ],
      alerts: [
        [],
        ['failure: backup failed | 2026-05-02T02:30:00Z | pg_dump: connection refused'],
        ['failure: backup failed again (2 runs in a row) | 2026-05-02T02:30:00Z | pg_dump: timeout'],
      ],
    },
    {
      name: 'a success after failures is one recovery naming when the failing began',
      runs: [
        run('backup', 'failure', '2T02:30:00', { error: 'x' }),
        run('backup', 'failure', '3T02:30:00', { error: 'y' }),
        run('backup', 'success', '4T02:30:00'),
        run('backup', 'success', '5T02:30:00'),
      ],
      alerts: [
        ['failure: backup failed | 2026-05-02T02:30:00Z | x'],
        ['failure: backup failed again (2 runs in a row) | 2026-05-02T02:30:00Z | y'],
        ['recovery: backup succeeded again after 2 failed runs | 2026-05-02T02:30:00Z | -'],
        [],
      ],
    },
    {
      name: 'drills alert as drill-failure and recover on their own, apart from backups',
      runs: [
        run('drill', 'failure', '1T03:00:00', { error: 'check users present: got 0, expected >= 1' }),
        run('backup', 'success', '2T02:30:00'),
        run('drill', 'success', '2T03:00:00'),
      ],
      alerts: [
        ['drill-failure: drill failed | 2026-05-01T03:00:00Z | check users present: got 0, expected >= 1'],
        [],
        ['recovery: drill passed again after 1 failed run | 2026-05-01T03:00:00Z | -'],
      ],
    },
    {
      name: 'a failure to be retried stays quiet; if the retry fails, the alert dates from the first attempt',
      runs: [
        run('backup', 'failure', '1T02:30:00', { willRetry: true, error: 'ECONNRESET' }),
        run('backup', 'failure', '1T02:31:00', { error: 'ECONNRESET again' }),
      ],
      alerts: [[], ['failure: backup failed | 2026-05-01T02:30:00Z | ECONNRESET again']],
    },
    {
      name: 'a retry that succeeds raises nothing at all',
      runs: [
        run('backup', 'failure', '1T02:30:00', { willRetry: true }),
        run('backup', 'success', '1T02:31:00'),
      ],
      alerts: [[], []],
    },
    {
      name: 'aborted runs (the service stopping) and verify/prune runs change nothing',
      runs: [
        run('backup', 'failure', '1T02:30:00', { error: 'e' }),
        run('backup', 'aborted', '2T02:30:00'),
        run('verify', 'failure', '2T04:00:00'),
        run('prune', 'success', '2T05:00:00'),
        run('backup', 'failure', '3T02:30:00', { error: 'e' }),
      ],
      alerts: [
        ['failure: backup failed | 2026-05-01T02:30:00Z | e'],
        [],
        [],
        [],
        ['failure: backup failed again (2 runs in a row) | 2026-05-01T02:30:00Z | e'],
      ],
    },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(feed(c.runs).out, c.alerts));
});

describe('the stale rule', () => {
  const daily = { cron: '30 2 * * *', timezone: 'UTC' };
  const cases: Array<{
    name: string;
    now: string;
    check: Omit<StaleCheck, 'job'>;
    summary?: string;
    since?: string;
  }> = [
    {
      name: 'one day after a daily success: fresh',
      now: '2026-05-02T03:00:00Z',
      check: { schedule: daily, lastSuccessAt: '2026-05-01T02:31:00Z' },
    },
    {
      name: 'exactly 1.5 days: still fresh',
      now: '2026-05-02T14:31:00Z',
      check: { schedule: daily, lastSuccessAt: '2026-05-01T02:31:00Z' },
    },
    {
      name: 'just past 1.5 days: stale',
      now: '2026-05-02T14:32:00Z',
      check: { schedule: daily, lastSuccessAt: '2026-05-01T02:31:00Z', lastError: 'pg_dump: timeout' },
      summary: 'no successful backup for 1d 12h (expected every 1d)',
      since: '2026-05-01T02:31:00.000Z',
    },
    {
      name: 'hourly schedule: 91 minutes is stale',
      now: '2026-05-01T11:31:00Z',
      check: { schedule: { cron: '0 * * * *' }, lastSuccessAt: '2026-05-01T10:00:00Z' },
      summary: 'no successful backup for 1h 31min (expected every 1h)',
      since: '2026-05-01T10:00:00.000Z',
    },
    {
      name: 'weekdays: a Friday success is fresh on Sunday',
      now: '2026-11-22T20:00:00Z',
      check: { schedule: { cron: '0 2 * * 1-5' }, lastSuccessAt: '2026-11-20T02:10:00Z' },
    },
    {
      name: 'never succeeded: measured from when watching began',
      now: '2026-05-03T00:00:00Z',
      check: { schedule: daily, watchingSince: '2026-05-01T00:00:00Z' },
      summary: 'no successful backup since watching began 2d ago (expected every 1d)',
      since: '2026-05-01T00:00:00.000Z',
    },
    {
      name: 'drills are judged against the drill schedule',
      now: '2026-05-20T00:00:00Z',
      check: { kind: 'drill', schedule: { cron: '0 3 * * 0' }, lastSuccessAt: '2026-05-03T03:05:00Z' },
      summary: 'no passing drill for 16d 20h (expected every 7d)',
      since: '2026-05-03T03:05:00.000Z',
    },
    {
      name: 'no success and no start time: cannot judge',
      now: '2026-05-20T00:00:00Z',
      check: { schedule: daily },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const verdict = checkStale(new Date(c.now), { job: 'app', ...c.check });
      if (!c.summary) return assert.notEqual(verdict.stale, true);
      assert.equal(verdict.stale, true);
      if (verdict.stale !== true) return;
      assert.equal(verdict.alert.kind, 'stale');
      assert.equal(verdict.alert.summary, c.summary);
      assert.equal(verdict.alert.since, c.since);
      assert.equal(verdict.alert.at, new Date(c.now).toISOString());
      assert.equal(verdict.alert.error, c.check.lastError);
    });
  }

  test('staleAlerts skips jobs already alerted', () => {
    const jobs: StaleCheck[] = [
      { job: 'a', schedule: daily, lastSuccessAt: '2026-04-01T00:00:00Z' },
      { job: 'b', schedule: daily, lastSuccessAt: '2026-04-01T00:00:00Z' },
      { job: 'b', kind: 'drill', schedule: daily, lastSuccessAt: '2026-04-01T00:00:00Z' },
      { job: 'c', schedule: daily, lastSuccessAt: '2026-05-01T00:00:00Z' },
    ];
    const alerts = staleAlerts(new Date('2026-05-01T12:00:00Z'), jobs, new Set([staleKey('a')]));
    assert.deepEqual(
      alerts.map((a) => `${a.job} ${a.summary.split(' for ')[0]}`),
      ['b no successful backup', 'b no passing drill'],
    );
  });
});

describe('the alert tracker', () => {
  const daily = { cron: '30 2 * * *' };

  test('a stale job alerts once per outage; a success recovers it, a new outage alerts again', () => {
    const tracker = createAlertTracker();
    const check = (now: string, lastSuccessAt?: string) =>
      tracker
        .checkStale(new Date(now), [
          { job: 'app', schedule: daily, lastSuccessAt, watchingSince: '2026-05-01T00:00:00Z' },
        ])
        .map((a) => `${a.kind}: ${a.summary}`);

    assert.deepEqual(check('2026-05-01T12:00:00Z', '2026-05-01T02:31:00Z'), []);
    assert.deepEqual(check('2026-05-02T15:00:00Z', '2026-05-01T02:31:00Z'), [
      'stale: no successful backup for 1d 12h (expected every 1d)',
    ]);
    assert.deepEqual(check('2026-05-02T15:01:00Z', '2026-05-01T02:31:00Z'), [], 'not again every tick');
    assert.deepEqual(check('2026-05-05T00:00:00Z', '2026-05-01T02:31:00Z'), []);
    assert.deepEqual(
      tracker
        .onRun({ job: 'app', kind: 'backup', result: 'success', at: '2026-05-05T02:31:00Z' })
        .map((a) => `${a.kind}: ${a.summary}`),
      ['recovery: backup succeeded again after none for 4d'],
    );
    // The tracker's own last success counts even if the caller's source lags behind.
    assert.deepEqual(check('2026-05-05T12:00:00Z', '2026-05-01T02:31:00Z'), []);
    assert.deepEqual(check('2026-05-07T00:00:00Z'), [
      'stale: no successful backup for 1d 21h (expected every 1d)',
    ]);
  });

  test('a newer success seen elsewhere (the catalog) recovers a stale job', () => {
    const tracker = createAlertTracker();
    const checks = (lastSuccessAt: string): StaleCheck[] => [{ job: 'app', schedule: daily, lastSuccessAt }];
    assert.equal(
      tracker.checkStale(new Date('2026-05-03T12:00:00Z'), checks('2026-05-01T02:31:00Z')).length,
      1,
    );
    const [recovery] = tracker.checkStale(new Date('2026-05-03T13:00:00Z'), checks('2026-05-03T12:40:00Z'));
    assert.equal(recovery?.kind, 'recovery');
    assert.equal(recovery?.summary, 'backup succeeded again after none for 2d 10h');
    assert.equal(recovery?.since, '2026-05-01T02:31:00.000Z');
  });

  test('at startup, a job that went stale while the process was down alerts at once', () => {
    const history = createMemoryHistory();
    const id = history.start({
      job: 'app',
      kind: 'backup',
      trigger: 'schedule',
      startedAt: '2026-05-01T02:30:00Z',
    });
    history.finish(id, { result: 'success', finishedAt: '2026-05-01T02:35:00Z' });
    // the process was down from May 1st to May 4th
    const tracker = createAlertTracker();
    tracker.seed('app', stateFromHistory(history, 'app'));
    const alerts = tracker.checkStale(new Date('2026-05-04T09:00:00Z'), [
      { job: 'app', schedule: daily, lastSuccessAt: history.last('app', 'backup', 'success')?.finishedAt },
    ]);
    assert.deepEqual(
      alerts.map((a) => [a.kind, a.summary, a.since]),
      [['stale', 'no successful backup for 3d 6h (expected every 1d)', '2026-05-01T02:35:00.000Z']],
    );
  });

  test('state rebuilt from history keeps the failure streak (runs, not retry attempts)', () => {
    const history = createMemoryHistory();
    const add = (
      startedAt: string,
      result: 'success' | 'failure' | 'aborted',
      trigger: 'schedule' | 'retry' = 'schedule',
    ) => {
      const id = history.start({ job: 'app', kind: 'backup', trigger, startedAt });
      history.finish(id, {
        result,
        finishedAt: startedAt,
        ...(result === 'failure' && { error: `e ${startedAt}` }),
      });
    };
    add('2026-05-01T02:30:00Z', 'success');
    add('2026-05-02T02:30:00Z', 'failure');
    add('2026-05-02T02:31:00Z', 'failure', 'retry');
    add('2026-05-03T02:30:00Z', 'aborted');
    add('2026-05-04T02:30:00Z', 'failure');
    const state = stateFromHistory(history, 'app');
    assert.deepEqual(state.backup, {
      failures: 2,
      lastSuccessAt: '2026-05-01T02:30:00.000Z',
      failingSince: '2026-05-02T02:30:00.000Z',
      lastError: 'e 2026-05-04T02:30:00Z',
    });
    assert.deepEqual(state.drill, { failures: 0 });

    const tracker = createAlertTracker();
    tracker.seed('app', state);
    const [next] = tracker.onRun({
      job: 'app',
      kind: 'backup',
      result: 'failure',
      at: '2026-05-05T02:31:00Z',
      error: 'z',
    });
    assert.equal(next?.summary, 'backup failed again (3 runs in a row)');
    assert.equal(next?.since, '2026-05-02T02:30:00.000Z');
  });
});

describe('alert text', () => {
  test('formatAge', () => {
    const cases: Array<[number, string]> = [
      [30_000, '<1min'],
      [45 * 60_000, '45min'],
      [3_600_000, '1h'],
      [5 * 3_600_000 + 20 * 60_000, '5h 20min'],
      [24 * 3_600_000, '1d'],
      [51 * 3_600_000 + 59 * 60_000, '2d 3h'],
    ];
    for (const [ms, text] of cases) assert.equal(formatAge(ms), text, String(ms));
  });

  test('alertText says which job, what failed, since when and the error line', () => {
    assert.equal(
      alertText({
        kind: 'failure',
        job: 'app',
        summary: 'backup failed',
        since: '2026-05-02T02:30:00.000Z',
        error: 'pg_dump: connection refused',
        at: '2026-05-02T02:31:00.000Z',
      }),
      [
        '[lifeboat] FAILED app: backup failed',
        'Since: 2026-05-02T02:30:00.000Z',
        'Error: pg_dump: connection refused',
        'At: 2026-05-02T02:31:00.000Z',
      ].join('\n'),
    );
  });
});

describe('finishedRunFromEvent', () => {
  const base = {
    type: 'finish' as const,
    job: 'app',
    kind: 'backup' as const,
    trigger: 'schedule' as const,
    attempt: 1,
  };
  const at = new Date('2026-05-01T02:31:00Z');
  test('a deadline is a failure; a stop stays aborted; retries and errors carry over, redacted', () => {
    const deadline = finishedRunFromEvent({
      ...base,
      at,
      outcome: 'aborted',
      cause: 'deadline',
      error: new Error('aborted'),
    });
    assert.equal(deadline.result, 'failure');
    assert.equal(finishedRunFromEvent({ ...base, at, outcome: 'aborted', cause: 'stop' }).result, 'aborted');
    const retrying = finishedRunFromEvent(
      {
        ...base,
        at,
        outcome: 'failure',
        error: new Error('connect postgres://u:pw1234@h/db:\nECONNRESET'),
        retryInMs: 1000,
      },
      (t) => t.replace('pw1234', '***'),
    );
    assert.deepEqual(retrying, {
      job: 'app',
      kind: 'backup',
      result: 'failure',
      at: '2026-05-01T02:31:00.000Z',
      error: 'connect postgres://u:***@h/db: ECONNRESET',
      willRetry: true,
    });
  });
});
