/**
 * `lifeboat serve` delivering alerts to the targets its config names, over real sockets: a failed
 * backup reaches a webhook receiver and an SMTP sink; a job whose last success is older than 1.5×
 * its interval when serve starts (it was down meanwhile) alerts at once. And the log lines of a
 * delivery that failed — the receiver's answer quotes the webhook URL, secret and all — never
 * show that URL, in `--log-format text` nor in `--log-format json` (whose lines keep their shape).
 * Serve's runs also write and clear the failed-run records one-shot runs read.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { TEMP_PREFIX } from '../src/storages/local.js';
import { openSqliteHistory } from '../src/history/sqlite-history.js';
import { freePort } from '../src/sources/postgres/local-cluster.js';
import { filesUnder, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { waitFor, writeConfig } from './helpers/scenarios.js';
import { startSmtpSink } from './helpers/smtp-sink.js';
import { startWebhookReceiver, type ReceivedRequest } from './helpers/webhook-receiver.js';

const TOKEN = 'alerts-test-token';
/** The secret part of the webhook URLs (as in Slack's /services/T…/B…/secret). */
const HOOK_SECRET = 'hOoK-SeCrEt-7f3a9c';

async function serve(
  t: { after(fn: () => unknown): void },
  opts: { jobs: string; notify: string; env?: NodeJS.ProcessEnv; logFormat?: 'text' | 'json'; dir: string },
) {
  const port = await freePort();
  const config = await writeConfig(
    opts.dir,
    `storages:\n  disk: { type: local, path: ${path.join(opts.dir, 'b')} }\njobs:\n${opts.jobs}notify:\n${opts.notify}server: { port: ${port}, token: "${TOKEN}", retries: { attempts: 1 } }\n`,
  );
  const run = startLifeboat(['--config', config, '--log-format', opts.logFormat ?? 'text', 'serve'], {
    env: opts.env,
  });
  t.after(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    await run.done;
  });
  let stderr = '';
  run.child.stderr!.on('data', (d) => (stderr += d));
  const base = `http://127.0.0.1:${port}`;
  await waitFor('serve to listen', async () => /serve: listening on/.test(stderr), 30_000);
  const stop = async () => {
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  return { base, stop, stderr: () => stderr };
}

const backupNow = (base: string, job: string) =>
  fetch(`${base}/api/jobs/${job}/backup`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });

/** The alert a webhook received: its JSON body. */
const alertOf = (r: ReceivedRequest) =>
  r.body as { kind: string; job: string; summary: string; error: string | null; text: string };

describe('serve: alerts', () => {
  test('a failed backup reaches the webhook and the mailbox of the config', async (t) => {
    const dir = await tempDir(t);
    const hook = await startWebhookReceiver();
    t.after(() => hook.close());
    const smtp = await startSmtpSink();
    t.after(() => smtp.close());
    const server = await serve(t, {
      dir,
      jobs: `  broken:\n    source: { type: postgres, url: "postgres://app@127.0.0.1:1/app" }\n    storages: [disk]\n`,
      notify: `  - { type: webhook, url: "${hook.url(`/services/T0/${HOOK_SECRET}`)}", on: [failure] }\n  - { type: email, host: 127.0.0.1, port: ${smtp.port}, from: lifeboat@example.com, to: [ops@example.com] }\n`,
    });

    assert.equal((await backupNow(server.base, 'broken')).status, 202);
    const got = await hook.next();
    assert.equal(got.method, 'POST');
    assert.equal(got.path, `/services/T0/${HOOK_SECRET}`);
    const alert = alertOf(got);
    assert.deepEqual([alert.kind, alert.job, alert.summary], ['failure', 'broken', 'backup failed']);
    assert.match(alert.error ?? '', /^connect to 127\.0\.0\.1:1\/app: /);
    const mail = await smtp.next();
    assert.deepEqual(mail.to, ['ops@example.com']);
    assert.equal(mail.subject, '[lifeboat] FAILED broken: backup failed');
    assert.match(mail.raw, /connect to 127\.0\.0\.1:1\/app: /);

    const r = await server.stop();
    assert.match(r.stderr, /alert failure broken: backup failed/);
    assert.doesNotMatch(r.stderr, /not sent/);
  });

  test('serve keeps failed-run records as one-shot runs do: a failed backup leaves one, the next success removes it', async (t) => {
    const dir = await tempDir(t);
    const hook = await startWebhookReceiver();
    t.after(() => hook.close());
    const data = path.join(dir, 'data'); // not there yet: the first backup fails
    const server = await serve(t, {
      dir,
      jobs: `  app:\n    source: { type: files, paths: [${data}] }\n    storages: [disk]\n`,
      notify: `  - { type: webhook, url: "${hook.url('/alert')}" }\n`,
    });
    // Committed records only: a record being written is a temp file in the same folder until it is linked.
    const records = async () =>
      (await filesUnder(path.join(dir, 'b'))).filter(
        (f) => f.startsWith('.lifeboat/app/failed/') && !path.basename(f).startsWith(TEMP_PREFIX),
      );
    const backup = () =>
      waitFor('a backup to start', async () => (await backupNow(server.base, 'app')).status === 202, 10_000);

    await backup();
    await waitFor('the failure to be recorded', async () => (await records()).length === 1, 20_000);
    const [key] = await records();
    const record = JSON.parse(await readFile(path.join(dir, 'b', key!), 'utf8')) as Record<string, string>;
    assert.deepEqual([record.format, record.job, record.kind], ['lifeboat-failed-run', 'app', 'backup']);
    assert.match(record.error ?? '', /does not exist/);

    await mkdir(data);
    await writeFile(path.join(data, 'state.txt'), 'state\n');
    await backup();
    await waitFor('the record to be removed', async () => (await records()).length === 0, 20_000);
    await server.stop();
  });

  test('a job whose last success is older than 1.5x its interval alerts as soon as serve starts', async (t) => {
    const dir = await tempDir(t);
    // What an earlier serve recorded before it went down: the last good backup, 3 hours ago, of a
    // job that runs every hour. (Its storage holds no backup: the history alone says when.)
    const history = openSqliteHistory(path.join(dir, 'lifeboat-history.db'));
    const threeHoursAgo = new Date(Date.now() - 3 * 3600_000);
    const id = history.start({
      job: 'hourly',
      kind: 'backup',
      trigger: 'schedule',
      startedAt: new Date(threeHoursAgo.getTime() - 5000).toISOString(),
    });
    history.finish(id, {
      result: 'success',
      finishedAt: threeHoursAgo.toISOString(),
      backupId: '20200101T000000Z',
    });
    history.close();

    const hook = await startWebhookReceiver();
    t.after(() => hook.close());
    const server = await serve(t, {
      dir,
      jobs: `  hourly:\n    source: { type: postgres, url: "postgres://app@127.0.0.1:1/app" }\n    storages: [disk]\n    schedule: { cron: "0 * * * *", timezone: UTC }\n`,
      notify: `  - { type: webhook, url: "${hook.url('/stale')}", on: [stale] }\n`,
    });
    const alert = alertOf(await hook.next());
    assert.deepEqual([alert.kind, alert.job], ['stale', 'hourly']);
    assert.match(alert.summary, /^no successful backup for 3h( 0min)? \(expected every 1h\)$/);
    await server.stop();
  });

  for (const logFormat of ['text', 'json'] as const) {
    test(`--log-format ${logFormat}: a delivery whose error quotes the webhook URL logs it masked`, async (t) => {
      const dir = await tempDir(t);
      const hook = await startWebhookReceiver();
      t.after(() => hook.close());
      const url = hook.url(`/services/T0/${HOOK_SECRET}`);
      // The receiver refuses, and its answer quotes the URL it was called on (as some do).
      hook.respondWith(404, `no hook at ${url}`);
      const server = await serve(t, {
        dir,
        logFormat,
        // The URL comes from the environment, as a secret should.
        env: { HOOK_URL: url },
        jobs: `  broken:\n    source: { type: postgres, url: "postgres://app@127.0.0.1:1/app" }\n    storages: [disk]\n`,
        notify: `  - { type: webhook, url: "\${HOOK_URL}", on: [failure] }\n`,
      });
      assert.equal((await backupNow(server.base, 'broken')).status, 202);
      await hook.next();
      // The log line that would hold the URL: the failed delivery, with the receiver's answer.
      await waitFor('the failed delivery to be logged', async () => /not sent/.test(server.stderr()), 10_000);
      const r = await server.stop();

      const notSent = r.stderr.split('\n').filter((l) => /not sent/.test(l));
      assert.equal(notSent.length, 1, r.stderr);
      if (logFormat === 'json') {
        const lines = r.stderr
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        for (const line of lines) {
          assert.deepEqual(Object.keys(line).slice(0, 3), ['time', 'level', 'msg'], JSON.stringify(line));
          assert.ok(!Number.isNaN(Date.parse(line.time as string)));
          assert.match(line.level as string, /^(info|warn|error)$/);
        }
        const msg = (JSON.parse(notSent[0]!) as { msg: string }).msg;
        assert.match(
          msg,
          /^alert failure for job broken not sent: send alert via webhook #1 \(127\.0\.0\.1:\d+\): HTTP 404 no hook at \*\*\*$/,
        );
      } else {
        assert.match(
          notSent[0]!,
          /^alert failure for job broken not sent: send alert via webhook #1 \(127\.0\.0\.1:\d+\): HTTP 404 no hook at \*\*\*$/,
        );
      }
      assert.ok(
        !(r.stdout + r.stderr).includes(HOOK_SECRET),
        `the webhook's secret is in the output:\n${r.stderr}`,
      );
    });
  }
});
