/**
 * The ping target and delivery retries: the healthchecks.io URLs (`/start`, base, `/fail`, `{job}`,
 * run ids), the body (the last lines that fit), config errors in one line, the failure streak read
 * back from failed-run records, and retries with backoff against a real receiver that fails twice.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../src/config/load.js';
import { stateFromFailedRuns } from '../src/notify/alert-tracker.js';
import { buildPingers } from '../src/notify/build.js';
import { createPinger, pingBody, pingUrl, PING_BODY_MAX } from '../src/notify/ping.js';
import { withRetry } from '../src/notify/retry.js';
import { pingNotifySchema } from '../src/config/notify.js';
import { LifeboatError } from '../src/util/errors.js';
import { Redactor } from '../src/util/redact.js';
import type { FailedRun } from '../src/catalog/failed-runs.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';

const RID = '0b1c6f5e-8c55-4f4a-9a54-3f0f1b2f3a4b';

describe('ping target', () => {
  test('URLs follow healthchecks.io: /start, the base URL, /fail; {job} is the job; the run id pairs them', () => {
    const base = 'https://hc-ping.com/KEY/{job}';
    assert.equal(pingUrl(base, 'app', 'start', RID), `https://hc-ping.com/KEY/app/start?rid=${RID}`);
    assert.equal(pingUrl(base, 'app', 'success', RID), `https://hc-ping.com/KEY/app?rid=${RID}`);
    assert.equal(pingUrl(base, 'app', 'fail', RID), `https://hc-ping.com/KEY/app/fail?rid=${RID}`);
    // A trailing slash is not doubled; a query string stays last; a job name is one path segment.
    assert.equal(
      pingUrl('https://hc.example/p/uuid/', 'x', 'fail', RID),
      `https://hc.example/p/uuid/fail?rid=${RID}`,
    );
    assert.equal(
      pingUrl('https://hc.example/p/uuid?create=1', 'x', 'start', RID),
      `https://hc.example/p/uuid/start?create=1&rid=${RID}`,
    );
    assert.equal(
      pingUrl('https://hc.example/{job}', 'a/b', 'success', RID),
      `https://hc.example/a%2Fb?rid=${RID}`,
    );
  });

  test('the body is the last lines that fit', () => {
    assert.equal(pingBody(['a', 'b', 'c']), 'a\nb\nc');
    const long = Array.from({ length: 500 }, (_, i) => `line ${i} ${'x'.repeat(60)}`);
    const body = pingBody(long);
    assert.ok(body.length <= PING_BODY_MAX);
    assert.ok(body.endsWith(long.at(-1)!));
    assert.ok(!body.includes('line 0 '));
  });

  test('which runs and jobs ping; the URL never appears in errors and its key is a secret', async () => {
    const target = pingNotifySchema.parse({
      type: 'ping',
      url: 'https://hc-ping.com/s3cr3tKEY/{job}',
      jobs: ['app'],
    });
    assert.deepEqual(target.runs, ['backup']);
    const redactor = new Redactor();
    const [pinger] = buildPingers([target], { redactor });
    assert.equal(pinger!.name, 'ping #1 (hc-ping.com)');
    assert.equal(pinger!.wants('app', 'backup'), true);
    assert.equal(pinger!.wants('app', 'drill'), false);
    assert.equal(pinger!.wants('other', 'backup'), false);
    assert.equal(redactor.redact('GET https://hc-ping.com/s3cr3tKEY/app/fail'), 'GET ***app/fail');

    const refused = await startWebhookReceiver();
    try {
      refused.respondWith(404, 'not found');
      const p = createPinger(
        pingNotifySchema.parse({ type: 'ping', url: refused.url('/s3cr3tKEY') }),
        'ping #1 (local)',
      );
      await assert.rejects(
        p.send('app', 'fail', 'the lines', { runId: RID }),
        (err: unknown) =>
          err instanceof LifeboatError &&
          err.message === 'ping fail via ping #1 (local): HTTP 404 not found' &&
          !err.retryable,
      );
      const got = await refused.next();
      assert.equal(got.path, `/s3cr3tKEY/fail?rid=${RID}`);
      assert.equal(got.body, 'the lines');
      assert.match(String(got.headers['content-type']), /^text\/plain/);
    } finally {
      await refused.close();
    }
  });

  test('config: a ping URL several jobs share, or an unknown job, is one line naming the field', () => {
    const jobs = (names: string[]) =>
      Object.fromEntries(
        names.map((n) => [n, { source: { type: 'files', paths: ['/x'] }, storages: ['d'] }]),
      );
    const config = (notify: unknown[], names = ['a', 'b']) => ({
      storages: { d: { type: 'local', path: '/b' } },
      jobs: jobs(names),
      notify,
    });
    const problem = (c: unknown) => {
      try {
        parseConfig(c, 'lifeboat.yaml');
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    };
    assert.equal(
      problem(config([{ type: 'ping', url: 'https://hc-ping.com/KEY' }])),
      'lifeboat.yaml: notify[0].url: 2 jobs would ping one URL; put {job} in it (e.g. https://hc-ping.com/KEY/{job}) or name one job in jobs:',
    );
    assert.equal(problem(config([{ type: 'ping', url: 'https://hc-ping.com/KEY', jobs: ['a'] }])), undefined);
    assert.equal(problem(config([{ type: 'ping', url: 'https://hc-ping.com/KEY/{job}' }])), undefined);
    assert.equal(problem(config([{ type: 'ping', url: 'https://hc-ping.com/KEY' }], ['a'])), undefined);
    assert.equal(
      problem(config([{ type: 'ping', url: 'https://hc-ping.com/KEY', jobs: ['c'] }])),
      'lifeboat.yaml: notify[0].jobs[0]: no job named "c" (have: a, b)',
    );
    assert.equal(
      problem(config([{ type: 'ping', url: 'https://hc-ping.com/KEY', runs: ['prune'] }], ['a'])),
      'lifeboat.yaml: notify[0].runs[0]: expected backup or drill',
    );
    assert.equal(
      problem(config([{ type: 'ping', url: 'ftp://hc-ping.com/KEY' }], ['a'])),
      'lifeboat.yaml: notify[0].url: expected an http(s) URL',
    );
  });
});

describe('one-shot alert state', () => {
  test('failed-run records are the failure streak of each kind', () => {
    const run = (kind: 'backup' | 'drill', at: string, error?: string): FailedRun => ({
      format: 'lifeboat-failed-run',
      version: 1,
      job: 'app',
      kind,
      startedAt: at.replace(':05', ':00'),
      at,
      ...(error && { error }),
    });
    const state = stateFromFailedRuns([
      run('backup', '2026-05-02T02:30:05Z', 'second'),
      run('backup', '2026-05-01T02:30:05Z', 'first'),
      run('drill', '2026-05-01T03:00:05Z'),
    ]);
    assert.deepEqual(state.backup, {
      failures: 2,
      failingSince: '2026-05-01T02:30:00Z',
      lastError: 'second',
    });
    assert.deepEqual(state.drill, { failures: 1, failingSince: '2026-05-01T03:00:00Z' });
    assert.deepEqual(stateFromFailedRuns([]), { backup: { failures: 0 }, drill: { failures: 0 } });
  });
});

describe('delivery retries', () => {
  test('an unreachable target is retried with backoff until it answers; a refusal is not retried', async () => {
    const hook = await startWebhookReceiver();
    try {
      hook.respondWith(503, 'busy');
      const target = pingNotifySchema.parse({ type: 'ping', url: hook.url('/p') });
      const pinger = createPinger(target, 'ping #1 (local)');
      const retries: Array<[number, number]> = [];
      let calls = 0;
      const policy = { maxAttempts: 4, baseDelayMs: 50, maxDelayMs: 400 };
      await withRetry(
        () => {
          if (++calls === 3) hook.respondWith(200);
          return pinger.send('app', 'success', '', { runId: RID });
        },
        { policy, onRetry: (attempt, _err, ms) => retries.push([attempt, ms]) },
      );
      assert.equal(hook.received.length, 3);
      assert.deepEqual(
        retries.map(([a]) => a),
        [1, 2],
      );
      // Equal jitter: each wait is between half and all of base × 2^retry.
      assert.ok(retries[0]![1] >= 25 && retries[0]![1] <= 50, String(retries[0]![1]));
      assert.ok(retries[1]![1] >= 50 && retries[1]![1] <= 100, String(retries[1]![1]));

      hook.respondWith(400, 'bad');
      calls = 0;
      await assert.rejects(
        withRetry(() => (calls++, pinger.send('app', 'fail', '', { runId: RID })), { policy }),
        /HTTP 400 bad/,
      );
      assert.equal(calls, 1, 'a 4xx is not retried');

      hook.respondWith(500, 'down');
      calls = 0;
      await assert.rejects(
        withRetry(() => (calls++, pinger.send('app', 'fail', '', { runId: RID })), { policy }),
        /HTTP 500 down/,
      );
      assert.equal(calls, 4, 'given up on after the last attempt');
    } finally {
      await hook.close();
    }
  });
});
