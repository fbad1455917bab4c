/**
 * Alerts end to end (issue 5): a scheduler on a fake clock runs a job that fails, goes stale and
 * recovers; the alert tracker decides; the notifiers built from config deliver to a local webhook
 * receiver (generic JSON and Slack-style) and a local SMTP sink started here. Also: an unreachable,
 * failing or slow target never throws out of the notifier layer, and no URL reaches a log line.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { notifySchema, type NotifyConfig } from '../src/config/schema.js';
import { LifeboatError } from '../src/util/errors.js';
import { Redactor } from '../src/util/redact.js';
import { createAlertTracker, finishedRunFromEvent } from '../src/notify/alert-tracker.js';
import { buildNotifiers } from '../src/notify/build.js';
import { dispatchAlert, type DeliveryResult } from '../src/notify/dispatch.js';
import { NO_RETRY } from '../src/util/backoff.js';
import { FakeClock } from './helpers/fake-clock.js';
import { createScheduler } from '../src/scheduler/scheduler.js';
import type { Alert } from '../src/notify/types.js';
import { startSmtpSink, type SmtpSink } from './helpers/smtp-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const HOOK_SECRET = '/hooks/T0123/B0456/s3cr3tXYZtoken';
const SLACK_SECRET = '/services/T999/B888/slackSECRETpath';

let hook: WebhookReceiver;
let smtp: SmtpSink;
before(async () => {
  [hook, smtp] = await Promise.all([startWebhookReceiver(), startSmtpSink()]);
});
after(async () => {
  await Promise.all([hook.close(), smtp.close()]);
});

const parseTargets = (targets: unknown[]): NotifyConfig[] => targets.map((t) => notifySchema.parse(t));

const alert: Alert = {
  kind: 'failure',
  job: 'app',
  summary: 'backup failed',
  since: '2026-05-01T02:30:00.000Z',
  error: 'pg_dump app: exit 1',
  at: '2026-05-01T02:31:00.000Z',
};

describe('alerts delivered', () => {
  test('a forced failure, a stale job and a recovery reach the webhook, Slack and e-mail targets', async () => {
    const logs: string[] = [];
    const notifiers = buildNotifiers(
      parseTargets([
        { type: 'webhook', url: hook.url(HOOK_SECRET) },
        { type: 'slack', url: hook.url(SLACK_SECRET), on: ['failure', 'recovery'] },
        {
          type: 'email',
          host: '127.0.0.1',
          port: smtp.port,
          from: 'lifeboat@example.com',
          to: ['ops@example.com', 'dba@example.com'],
        },
      ]),
    );
    assert.deepEqual(
      notifiers.map((n) => n.name),
      [
        `webhook #1 (127.0.0.1:${new URL(hook.url()).port})`,
        `slack #2 (127.0.0.1:${new URL(hook.url()).port})`,
        'email #3 (127.0.0.1)',
      ],
    );

    // The service's wiring, in small: scheduler → tracker → dispatch.
    const clock = new FakeClock('2026-05-01T00:00:00Z');
    const tracker = createAlertTracker();
    const deliveries: Array<Promise<DeliveryResult[]>> = [];
    const send = (alerts: Alert[]) => {
      for (const a of alerts) deliveries.push(dispatchAlert(a, notifiers, { log: (l) => logs.push(l) }));
    };
    let runs = 0;
    const scheduler = createScheduler({
      tasks: [{ job: 'app', kind: 'backup', schedule: { cron: '30 2 * * *' } }],
      clock,
      run: async () => {
        if (++runs === 1)
          throw new LifeboatError('failed', 'pg_dump app: exit 1: could not connect to server');
      },
      onEvent: (e) => {
        if (e.type !== 'finish') return;
        send(tracker.onRun(finishedRunFromEvent(e)));
      },
    });
    const checkStale = () =>
      send(
        tracker.checkStale(clock.now(), [
          { job: 'app', schedule: { cron: '30 2 * * *' }, lastSuccessAt: '2026-04-30T02:35:00Z' },
        ]),
      );
    scheduler.start();

    // 1. May 1st 02:30: the backup fails.
    await clock.advanceTo('2026-05-01T03:00:00Z');
    checkStale(); // 24h25m since the last success: not stale yet
    assert.equal(deliveries.length, 1);
    await Promise.all(deliveries);

    const failureJson = await hook.next();
    const failureSlack = await hook.next();
    const failureMail = await smtp.next();
    const byPath = (a: typeof failureJson, b: typeof failureJson, p: string) => (a.path === p ? a : b);
    const json = byPath(failureJson, failureSlack, HOOK_SECRET);
    const slack = byPath(failureJson, failureSlack, SLACK_SECRET);
    assert.equal(json.method, 'POST');
    assert.equal(json.headers['content-type'], 'application/json');
    assert.deepEqual(json.body, {
      kind: 'failure',
      job: 'app',
      summary: 'backup failed',
      since: '2026-05-01T02:30:00.000Z',
      error: 'pg_dump app: exit 1: could not connect to server',
      at: '2026-05-01T02:30:00.000Z',
      text: [
        '[lifeboat] FAILED app: backup failed',
        'Since: 2026-05-01T02:30:00.000Z',
        'Error: pg_dump app: exit 1: could not connect to server',
        'At: 2026-05-01T02:30:00.000Z',
      ].join('\n'),
    });
    assert.deepEqual(Object.keys(slack.body as object), ['text']);
    assert.match(
      (slack.body as { text: string }).text,
      /^\*\[lifeboat\] FAILED app: backup failed\*\nSince: 2026-05-01T02:30/,
    );
    assert.match(
      (slack.body as { text: string }).text,
      /Error: pg_dump app: exit 1: could not connect to server/,
    );
    assert.equal(failureMail.from, 'lifeboat@example.com');
    assert.deepEqual(failureMail.to, ['ops@example.com', 'dba@example.com']);
    assert.equal(failureMail.subject, '[lifeboat] FAILED app: backup failed');
    assert.match(failureMail.raw, /Error: pg_dump app: exit 1: could not connect to server/);

    // 2. May 1st 15:00: 36h25m without a success — stale; Slack did not ask for stale alerts.
    await clock.advanceTo('2026-05-01T15:00:00Z');
    checkStale();
    await clock.advanceTo('2026-05-01T16:00:00Z');
    checkStale(); // not repeated
    await Promise.all(deliveries);
    assert.equal(deliveries.length, 2);
    const stale = await hook.next();
    assert.equal(stale.path, HOOK_SECRET);
    assert.deepEqual(
      { ...(stale.body as object), text: undefined },
      {
        kind: 'stale',
        job: 'app',
        summary: 'no successful backup for 1d 12h (expected every 1d)',
        since: '2026-04-30T02:35:00.000Z',
        error: 'pg_dump app: exit 1: could not connect to server',
        at: '2026-05-01T15:00:00.000Z',
        text: undefined,
      },
    );
    const staleMail = await smtp.next();
    assert.equal(
      staleMail.subject,
      '[lifeboat] STALE app: no successful backup for 1d 12h (expected every 1d)',
    );
    assert.match(staleMail.raw, /Since: 2026-04-30T02:35:00.000Z/);

    // 3. May 2nd 02:30: the backup succeeds — one recovery, to every target.
    await clock.advanceTo('2026-05-02T03:00:00Z');
    await Promise.all(deliveries);
    assert.equal(deliveries.length, 3);
    const recoveries = [await hook.next(), await hook.next()];
    for (const r of recoveries) {
      const text =
        r.path === HOOK_SECRET ? (r.body as { summary: string }).summary : (r.body as { text: string }).text;
      assert.match(text, /backup succeeded again after 1 failed run/);
    }
    const recoveryJson = recoveries.find((r) => r.path === HOOK_SECRET)!.body as Alert;
    assert.equal(recoveryJson.kind, 'recovery');
    assert.equal(recoveryJson.since, '2026-04-30T02:35:00.000Z');
    const recoveryMail = await smtp.next();
    assert.equal(recoveryMail.subject, '[lifeboat] RECOVERED app: backup succeeded again after 1 failed run');
    assert.match(recoveryMail.raw, /Problem began: 2026-04-30T02:35:00.000Z/);

    assert.deepEqual(logs, []);
    assert.equal(hook.received.length, 5);
    assert.equal(smtp.messages.length, 3);
    await scheduler.stop(0);
  });
});

describe('a target that cannot take the alert', () => {
  test('unreachable, failing and slow webhooks and an unreachable SMTP server: logged, never thrown', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = http.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const slow = await startWebhookReceiver();
    slow.delayMs = 3000;
    const failing = await startWebhookReceiver();
    failing.respondWith(500, 'no_service');
    const redactor = new Redactor();
    const urls = [
      `http://127.0.0.1:${closedPort}${HOOK_SECRET}`,
      failing.url(SLACK_SECRET),
      slow.url(HOOK_SECRET),
    ];
    try {
      const notifiers = buildNotifiers(
        parseTargets([
          { type: 'webhook', url: urls[0] },
          { type: 'slack', url: urls[1] },
          { type: 'webhook', url: urls[2], timeoutSeconds: 0.2 },
          {
            type: 'email',
            host: '127.0.0.1',
            port: closedPort,
            from: 'a@example.com',
            to: ['b@example.com'],
            timeoutSeconds: 2,
          },
        ]),
        { redactor },
      );
      const logs: string[] = [];
      const t0 = Date.now();
      // One attempt each: retries (notify/retry.ts) are tested on their own.
      const results = await dispatchAlert(alert, notifiers, { log: (l) => logs.push(l), retry: NO_RETRY });
      assert.ok(Date.now() - t0 < 2500, 'the slow target is cut off by its timeout');
      assert.deepEqual(
        results.map((r) => [r.notifier.split(' ')[0], r.ok]),
        [
          ['webhook', false],
          ['slack', false],
          ['webhook', false],
          ['email', false],
        ],
      );
      assert.match(results[0]!.error!, /^send alert via webhook #1 \(127\.0\.0\.1:\d+\): ECONNREFUSED$/);
      assert.match(results[1]!.error!, /^send alert via slack #2 \(127\.0\.0\.1:\d+\): HTTP 500 no_service$/);
      assert.match(
        results[2]!.error!,
        /^send alert via webhook #3 \(127\.0\.0\.1:\d+\): timed out after 200 ms$/,
      );
      assert.match(results[3]!.error!, /^send alert via email #4 \(127\.0\.0\.1\): .*ECONNREFUSED/);
      assert.equal(logs.length, 4);
      assert.match(logs[0]!, /^alert failure for job app not sent: send alert via webhook #1/);
      for (const line of [...logs, ...results.map((r) => r.error!)]) {
        assert.ok(!line.includes('s3cr3t') && !line.includes('SECRET') && !line.includes('/hooks/'), line);
      }
      // The URLs were registered as secrets, for any other line that might quote them.
      assert.equal(redactor.redact(`posting to ${urls[1]}`), 'posting to ***');

      // Sending straight through a notifier rejects with a LifeboatError instead.
      await assert.rejects(
        notifiers[0]!.send(alert),
        (err: unknown) => err instanceof LifeboatError && err.code === 'unreachable',
      );
    } finally {
      await Promise.all([slow.close(), failing.close()]);
    }
  });

  test('only the alert kinds a target asked for are sent to it', async () => {
    const notifiers = buildNotifiers(
      parseTargets([{ type: 'webhook', url: hook.url('/only-recovery'), on: ['recovery'] }]),
    );
    assert.deepEqual(await dispatchAlert(alert, notifiers), []);
    const results = await dispatchAlert(
      { ...alert, kind: 'recovery', summary: 'backup succeeded again' },
      notifiers,
    );
    assert.deepEqual(results, [{ notifier: notifiers[0]!.name, ok: true }]);
    assert.equal((await hook.next()).path, '/only-recovery');
  });

  test('config rejects unknown alert kinds, non-HTTP URLs and e-mail without recipients', () => {
    const problems = [
      { type: 'webhook', url: 'https://x.example/h', on: ['failed'] },
      { type: 'slack', url: 'ftp://x.example/h' },
      { type: 'email', host: 'smtp', from: 'a@x', to: [] },
      { type: 'pager', url: 'https://x.example' },
    ].map((t) => notifySchema.safeParse(t).error?.issues[0]?.message);
    assert.deepEqual(problems, [
      'expected failure, drill-failure, stale or recovery',
      'expected an http(s) URL',
      'expected at least one recipient',
      'expected type webhook, slack, email or ping',
    ]);
  });
});
