/**
 * recordedRun (src/scheduler/run-task.ts): the scheduler's run function that calls the JobRunner
 * and records every attempt in the run history — results, sizes, redacted errors, drills that fail
 * their checks, deadlines and stops — on a FakeClock and the in-memory history.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { LifeboatError } from '../src/util/errors.js';
import { Redactor } from '../src/util/redact.js';
import { createMemoryHistory } from '../src/history/memory-history.js';
import { FakeClock } from './helpers/fake-clock.js';
import { recordedRun } from '../src/scheduler/run-task.js';
import { createScheduler } from '../src/scheduler/scheduler.js';
import { DRILL_REPORT_FORMAT, type CheckResult } from '../src/catalog/drill-report.js';
import type { DrillOutcome } from '../src/drill/run.js';
import type { JobRunner } from '../src/scheduler/runner.js';
import type { RunHistory, RunRecord } from '../src/history/types.js';

const MIN = 60_000;

/** What runDrill returns, with only the fields the history records mattering. */
function drillOutcome(o: {
  ok: boolean;
  restoreMs: number;
  rpoSeconds: number;
  bytes: number;
  checks?: CheckResult[];
  failure?: string;
  key?: string;
}): DrillOutcome {
  const at = '2026-05-01T02:30:00.000Z';
  return {
    ...(o.key !== undefined && { key: o.key }),
    report: {
      format: DRILL_REPORT_FORMAT,
      version: 1,
      job: 'app',
      backupId: 'b1',
      timestamp: '20260501T023000Z',
      startedAt: at,
      finishedAt: at,
      backup: {
        startedAt: at,
        finishedAt: at,
        mode: 'database',
        databases: ['app'],
        serverVersion: '17.2',
        size: 1,
      },
      rpoSeconds: o.rpoSeconds,
      rtoSeconds: o.restoreMs / 1000,
      bytesRestored: o.bytes,
      scratch: null,
      timings: { scratchMs: 0, verifyMs: 0, restoreMs: o.restoreMs, checksMs: 0, totalMs: o.restoreMs },
      checks: o.checks ?? [],
      ok: o.ok,
      result: o.ok ? 'passed' : 'failed',
      ...(o.failure !== undefined && { failure: { stage: 'checks', code: 'failed', message: o.failure } }),
      lifeboatVersion: '0.1.0',
    },
  };
}

function setup(runner: Partial<JobRunner>, history: RunHistory = createMemoryHistory()) {
  const clock = new FakeClock('2026-05-01T02:30:00Z');
  const recorded: RunRecord[] = [];
  const logs: string[] = [];
  const redactor = new Redactor();
  redactor.add('hunter22');
  const run = recordedRun({
    runner: {
      backup: runner.backup ?? (async () => ({ backupId: 'b', bytes: 1, durationMs: 1 })),
      drill: runner.drill ?? (async () => drillOutcome({ ok: true, restoreMs: 1, rpoSeconds: 1, bytes: 1 })),
    },
    history,
    clock,
    redact: (t) => redactor.redact(t),
    onRecorded: (r) => recorded.push(r),
    log: (l) => logs.push(l),
  });
  return { clock, history, recorded, logs, run };
}

const signal = () => new AbortController().signal;
const strip = ({ id: _id, ...rest }: RunRecord) => rest;

describe('recordedRun', () => {
  test('a backup is recorded with its id, size and duration', async () => {
    const { clock, history, recorded, run } = setup({
      backup: async () => {
        await clock.advance(5 * MIN);
        return { backupId: '20260501T023000Z', bytes: 4096, durationMs: 300_000 };
      },
    });
    const done = run({ job: 'app', kind: 'backup' }, 'schedule', signal());
    await clock.advance(5 * MIN);
    await done;
    const expected = {
      job: 'app',
      kind: 'backup',
      trigger: 'schedule',
      startedAt: '2026-05-01T02:30:00.000Z',
      finishedAt: '2026-05-01T02:35:00.000Z',
      result: 'success',
      backupId: '20260501T023000Z',
      bytes: 4096,
      durationMs: 300_000,
    };
    assert.deepEqual(history.list().map(strip), [expected]);
    assert.deepEqual(recorded.map(strip), [expected]);
    assert.equal(recorded[0]!.id, history.list()[0]!.id);
  });

  test('a failure is recorded with its redacted error line and rethrown for the scheduler to retry', async () => {
    let calls = 0;
    const { clock, history, run } = setup({
      backup: async () => {
        if (++calls === 1) {
          throw new LifeboatError('unreachable', 'connect postgres://backup:hunter22@db/app:\nECONNRESET', {
            retryable: true,
          });
        }
        return { backupId: 'b2', bytes: 2, durationMs: 2 };
      },
    });
    const scheduler = createScheduler({
      tasks: [{ job: 'app', kind: 'backup' }],
      clock,
      run,
      retry: { maxAttempts: 3, baseDelayMs: MIN, maxDelayMs: MIN },
      random: () => 0,
    });
    const t = scheduler.trigger('app', 'backup');
    await clock.advance(MIN);
    if (t.started) await t.done;
    const runs = history.list({ job: 'app' }).reverse();
    assert.deepEqual(
      runs.map((r) => [r.trigger, r.result, r.error]),
      [
        ['api', 'failure', 'connect postgres://backup:***@db/app: ECONNRESET'],
        ['retry', 'success', undefined],
      ],
    );
  });

  test('a drill that fails a check is recorded as a failure and thrown as not retryable', async () => {
    const outcome = drillOutcome({
      ok: false,
      restoreMs: 12_000,
      rpoSeconds: 3600,
      bytes: 999,
      checks: [{ name: 'users present', ok: false, expected: '>= 1', actual: '0' }],
      failure: 'check users present: got 0, expected >= 1',
      key: '.lifeboat/app/b1.drill-20260501T023000Z.json',
    });
    const { history, recorded, run } = setup({ drill: async () => outcome });
    await assert.rejects(
      run({ job: 'app', kind: 'drill' }, 'api', signal()),
      (err: unknown) => err instanceof LifeboatError && !err.retryable && /users present/.test(err.message),
    );
    const [r] = history.list();
    assert.equal(r?.result, 'failure');
    assert.equal(r?.error, 'check users present: got 0, expected >= 1');
    assert.equal(r?.bytes, 999);
    assert.equal(r?.backupId, 'b1');
    assert.deepEqual(r?.details, {
      reportKey: '.lifeboat/app/b1.drill-20260501T023000Z.json',
      restoreMs: 12_000,
      checks: 1,
      ok: false,
      backupAgeSeconds: 3600,
    });
    assert.equal(recorded.length, 1, 'recorded once, not again by the catch');
  });

  test('a passing drill keeps its RTO in details.restoreMs', async () => {
    const { history, run } = setup({});
    await run({ job: 'app', kind: 'drill' }, 'schedule', signal());
    assert.equal(history.last('app', 'drill', 'success')?.details?.restoreMs, 1);
  });

  test('past the deadline: a failure naming the deadline; on stop: aborted', async () => {
    const { clock, history, run } = setup({
      backup: (_job, s) =>
        clock.sleep(10 * 60 * MIN, s).then(() => ({ backupId: 'x', bytes: 0, durationMs: 0 })),
    });
    const scheduler = createScheduler({
      tasks: [
        { job: 'app', kind: 'backup' },
        { job: 'crm', kind: 'backup' },
      ],
      clock,
      run,
      deadlineMs: 60 * MIN,
    });
    scheduler.trigger('app', 'backup');
    await clock.advance(60 * MIN);
    scheduler.trigger('crm', 'backup');
    await scheduler.stop(0);
    const byJob = Object.fromEntries(history.list().map((r) => [r.job, [r.result, r.error]]));
    assert.deepEqual(byJob, {
      app: ['failure', 'run deadline of 1h exceeded'],
      crm: ['aborted', 'lifeboat is stopping: grace period of 0s over'],
    });
  });

  test('a history that cannot be written does not stop the backup', async () => {
    const broken = createMemoryHistory();
    broken.start = () => {
      throw new Error('SQLITE_FULL: database or disk is full');
    };
    let ran = false;
    const { logs, recorded, run } = setup(
      {
        backup: async () => {
          ran = true;
          return { backupId: 'b', bytes: 1, durationMs: 1 };
        },
      },
      broken,
    );
    await run({ job: 'app', kind: 'backup' }, 'schedule', signal());
    assert.equal(ran, true);
    assert.equal(recorded[0]?.result, 'success');
    assert.deepEqual(logs, [
      'run history: cannot record the start of backup app: SQLITE_FULL: database or disk is full',
    ]);
  });
});
