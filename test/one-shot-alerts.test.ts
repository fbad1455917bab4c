/**
 * Alerts and pings in one-shot runs (SPEC §8), the way a CronJob runs Lifeboat: the built CLI as
 * a child process, real HTTP receivers (node:http) for the webhook and the healthchecks.io-style
 * ping. A failing source sends the failure alert and `/fail`; a success sends `/start`, then the
 * base URL; the run after a failure streak sends the recovery, which only the failed-run records
 * in the storage can tell it (the pod remembers nothing); a notifier that cannot be reached is
 * retried, logged, and never changes the run's exit code.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { filesUnder, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
import {
  startWebhookReceiver,
  type ReceivedRequest,
  type WebhookReceiver,
} from './helpers/webhook-receiver.js';

const PING_KEY = 'pInG-kEy-5e1d';

async function receivers(t: { after(fn: () => unknown): void }) {
  const hook = await startWebhookReceiver();
  const hc = await startWebhookReceiver();
  t.after(() => Promise.all([hook.close(), hc.close()]));
  return { hook, hc };
}

/** A files job over `data`, local storage `b`, and the given notify list. */
async function setup(dir: string, notify: string, jobs = ['app']) {
  const jobYaml = jobs
    .map(
      (j) =>
        `  ${j}:\n    source: { type: files, paths: [${path.join(dir, `data-${j}`)}] }\n    storages: [disk]\n`,
    )
    .join('');
  const config = await writeConfig(
    dir,
    `storages:\n  disk: { type: local, path: ${path.join(dir, 'b')} }\njobs:\n${jobYaml}notify:\n${notify}`,
  );
  const fill = async (job = 'app') => {
    await mkdir(path.join(dir, `data-${job}`), { recursive: true });
    await writeFile(path.join(dir, `data-${job}`, 'state.txt'), `state of ${job}\n`);
  };
  return { config, fill };
}

/** What a ping receiver got: [path without the run id, rid, body]. */
const pings = (r: WebhookReceiver) =>
  r.received.map((req: ReceivedRequest) => {
    const url = new URL(req.path, 'http://x');
    return {
      path: url.pathname,
      rid: url.searchParams.get('rid'),
      body: String(req.body),
      method: req.method,
    };
  });

const alerts = (r: WebhookReceiver) =>
  r.received.map((req) => req.body as { kind: string; job: string; summary: string; error: string | null });

const failedRecords = async (dir: string, job = 'app') =>
  (await filesUnder(path.join(dir, 'b'))).filter((f) => f.startsWith(`.lifeboat/${job}/failed/`));

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('one-shot runs: alerts and pings', () => {
  test('a CronJob-style backup with a failing source sends the webhook and /fail; the next success sends /start, the base URL and the recovery', async (t) => {
    const dir = await tempDir(t);
    const { hook, hc } = await receivers(t);
    const { config, fill } = await setup(
      dir,
      `  - { type: webhook, url: "${hook.url('/alert')}" }\n  - { type: ping, url: "${hc.url(`/ping/${PING_KEY}/{job}`)}" }\n`,
    );

    // The source's directory does not exist yet: the run fails (exit 3, unreachable).
    const failed = await lifeboat(['--config', config, 'backup']);
    assert.equal(failed.code, 3, failed.stderr);
    assert.deepEqual(
      alerts(hook).map((a) => [a.kind, a.job, a.summary]),
      [['failure', 'app', 'backup failed']],
    );
    assert.match(alerts(hook)[0]!.error ?? '', /does not exist/);
    let got = pings(hc);
    assert.deepEqual(
      got.map((p) => [p.method, p.path]),
      [
        ['POST', `/ping/${PING_KEY}/app/start`],
        ['POST', `/ping/${PING_KEY}/app/fail`],
      ],
    );
    assert.ok(got[0]!.rid && got[0]!.rid === got[1]!.rid, 'start and end share a run id');
    assert.equal(got[0]!.body, '');
    // The body is the run's last lines: what it backed up, and why it failed.
    assert.match(got[1]!.body, /^backup app: /m);
    assert.match(got[1]!.body, /^error: backup app failed: .*does not exist/m);
    assert.equal((await failedRecords(dir)).length, 1, 'the failure is recorded in the storage');
    assert.ok(!failed.stderr.includes(PING_KEY), 'the ping key is never logged');

    // A second failure: "again (2 runs in a row)", as serve says it.
    assert.equal((await lifeboat(['--config', config, 'backup'])).code, 3);
    assert.equal(alerts(hook)[1]!.summary, 'backup failed again (2 runs in a row)');
    assert.equal((await failedRecords(dir)).length, 2);

    await fill();
    hc.received.length = 0;
    const ok = await lifeboat(['--config', config, 'backup']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(
      alerts(hook)
        .slice(2)
        .map((a) => [a.kind, a.summary]),
      [['recovery', 'backup succeeded again after 2 failed runs']],
    );
    got = pings(hc);
    assert.deepEqual(
      got.map((p) => p.path),
      [`/ping/${PING_KEY}/app/start`, `/ping/${PING_KEY}/app`],
    );
    assert.equal(got[0]!.rid, got[1]!.rid);
    assert.match(got[1]!.body, /^backup app: /m);
    assert.deepEqual(await failedRecords(dir), [], 'the streak is over: its records are gone');

    // A success after a success alerts nobody; it still pings.
    hc.received.length = 0;
    assert.equal((await lifeboat(['--config', config, 'backup'])).code, 0);
    assert.equal(hook.received.length, 3);
    assert.deepEqual(
      pings(hc).map((p) => p.path),
      [`/ping/${PING_KEY}/app/start`, `/ping/${PING_KEY}/app`],
    );
  });

  test('a drill that fails sends drill-failure and /fail; the drill that passes again sends the recovery', async (t) => {
    const dir = await tempDir(t);
    const { hook, hc } = await receivers(t);
    const { config, fill } = await setup(
      dir,
      `  - { type: webhook, url: "${hook.url('/alert')}", on: [drill-failure, recovery] }\n  - { type: ping, url: "${hc.url('/ping/{job}')}", runs: [drill] }\n`,
    );
    await fill();
    assert.equal((await lifeboat(['--config', config, 'backup'])).code, 0);
    assert.deepEqual(pings(hc), [], 'runs: [drill] leaves backups unpinged');

    // Corrupt the artifact: the drill finds a sha256 mismatch.
    const artifact = (await filesUnder(path.join(dir, 'b'))).find((f) => f.endsWith('.tar.zst'))!;
    const file = path.join(dir, 'b', artifact);
    const bytes = await readFile(file);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(file, bytes);
    const bad = await lifeboat(['--config', config, 'drill', 'app']);
    assert.equal(bad.code, 4, bad.stderr);
    assert.deepEqual(
      alerts(hook).map((a) => [a.kind, a.job, a.summary]),
      [['drill-failure', 'app', 'drill failed']],
    );
    assert.match(alerts(hook)[0]!.error ?? '', / \(sha256\)$/);
    assert.deepEqual(
      pings(hc).map((p) => p.path),
      ['/ping/app/start', '/ping/app/fail'],
    );
    assert.match(pings(hc)[1]!.body, /sha256 mismatch/);

    // A new backup, drilled: it passes, and the streak ends with a recovery.
    assert.equal((await lifeboat(['--config', config, 'backup'])).code, 0);
    const good = await lifeboat(['--config', config, 'drill', 'app']);
    assert.equal(good.code, 0, good.stderr);
    assert.deepEqual(
      alerts(hook)
        .slice(1)
        .map((a) => [a.kind, a.summary]),
      [['recovery', 'drill passed again after 1 failed run']],
    );
    assert.deepEqual(
      pings(hc)
        .slice(2)
        .map((p) => p.path),
      ['/ping/app/start', '/ping/app'],
    );
    assert.match(pings(hc)[3]!.body, /smoke OK/);
    assert.deepEqual(await failedRecords(dir), []);
  });

  test('notifiers that cannot be reached are retried and logged, and never change the exit code', async (t) => {
    const dir = await tempDir(t);
    const port = await closedPort();
    const { config, fill } = await setup(
      dir,
      `  - { type: webhook, url: "http://127.0.0.1:${port}/hooks/${PING_KEY}" }\n  - { type: ping, url: "http://127.0.0.1:${port}/${PING_KEY}/{job}" }\n`,
      ['good', 'bad'],
    );
    await fill('good');
    const t0 = Date.now();
    const run = await lifeboat(['--config', config, 'backup']);
    // good committed, bad failed: the run's own code (3, the source), not one from the notifiers.
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stdout, /^good\t/m);
    assert.match(
      run.stderr,
      /warn: backup good: not pinged yet \(attempt 1, again in \d+s\): ping start via ping #2 \(127\.0\.0\.1:\d+\): ECONNREFUSED/,
    );
    assert.match(run.stderr, /warn: backup good: not pinged: ping success via ping #2 .*ECONNREFUSED/);
    assert.match(run.stderr, /warn: alert failure for job bad not sent yet \(attempt 1/);
    assert.match(
      run.stderr,
      /warn: alert failure for job bad not sent: send alert via webhook #1 .*ECONNREFUSED/,
    );
    assert.ok(Date.now() - t0 < 60_000);
    assert.ok(!run.stderr.includes(PING_KEY) && !run.stdout.includes(PING_KEY), 'no URL is logged');
    assert.equal((await failedRecords(dir, 'bad')).length, 1);

    // A run that succeeds exits 0 though neither its /start nor its success ping got through.
    const alone = await lifeboat(['--config', config, 'backup', 'good']);
    assert.equal(alone.code, 0, alone.stderr);
    assert.match(alone.stderr, /warn: backup good: not pinged: ping success via ping #2 .*ECONNREFUSED/);
  });
});
