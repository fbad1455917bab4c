/**
 * `lifeboat serve` as a real process over a real socket: auth on mutating endpoints, a backup and
 * a drill started through the API against a throwaway cluster, the summary and metrics after
 * them (sources up and down, probed in the background), and SIGTERM → exit 0 with the history kept
 * for the next start.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { waitFor, writeConfig } from './helpers/scenarios.js';
import { freePort } from '../src/sources/postgres/local-cluster.js';

test('serve: API-started backup and drill show up in summary and metrics; SIGTERM exits 0', async (t) => {
  const pg = await withCluster(t, { name: 'serve' });
  await pg.psql('create database app');
  await pg.psql('create table t (x int); insert into t select generate_series(1, 50);', { database: 'app' });
  const dir = await tempDir(t);
  const port = await freePort();
  // A second job whose server is gone: its source must show down, without its password.
  const gonePort = await freePort();
  const config = await writeConfig(
    dir,
    `storages:\n  disk: { type: local, path: ${path.join(dir, 'b')} }\njobs:\n  app:\n    source: { type: postgres, url: "${pg.url('app')}" }\n    storages: [disk]\n    schedule: { cron: "0 3 * * *", timezone: UTC }\n    drill:\n      checks: [ { name: rows, database: app, sql: "select count(*) from t", expect: "= 50" } ]\n  gone:\n    source: { type: postgres, url: "postgres://app:\${GONE_PASSWORD}@127.0.0.1:${gonePort}/app" }\n    storages: [disk]\nserver: { port: ${port}, token: "\${TOKEN}" }\n`,
  );
  const token = 'serve-test-token-123';
  const gonePassword = 'gone-db-password-456';
  const proc = startLifeboat(['--config', config, 'serve'], {
    env: { TOKEN: token, GONE_PASSWORD: gonePassword },
  });
  t.after(() => proc.child.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  await waitFor('healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);

  const auth = { authorization: `Bearer ${token}` };
  assert.equal((await fetch(`${base}/api/jobs/app/backup`, { method: 'POST' })).status, 401);
  assert.equal(
    (
      await fetch(`${base}/api/jobs/app/backup`, {
        method: 'POST',
        headers: { authorization: 'Bearer wrong' },
      })
    ).status,
    403,
  );
  assert.equal((await fetch(`${base}/api/jobs/nope/backup`, { method: 'POST', headers: auth })).status, 404);
  assert.equal((await fetch(`${base}/api/jobs/app/backup`, { method: 'POST', headers: auth })).status, 202);

  type Health = { name: string; up: boolean; checkedAt: string; error?: string };
  type Summary = {
    jobs: Array<{ job: string; lastSuccess?: string; lastDrill?: { result: string } }>;
    sources: Health[];
    storages: Health[];
  };
  const summary = async () => (await (await fetch(`${base}/status/summary`)).json()) as Summary;

  // Both sources are probed at start, in the background.
  const sources = await waitFor('both sources probed', async () => {
    const s = (await summary()).sources;
    return s.length === 2 ? s : undefined;
  });
  assert.deepEqual(
    sources.map((s) => [s.name, s.up]),
    [
      ['app', true],
      ['gone', false],
    ],
  );
  assert.match(
    sources[1]!.error!,
    new RegExp(`^check source of gone: connect to 127\\.0\\.0\\.1:${gonePort}/app: `),
  );
  const summaryText = await (await fetch(`${base}/status/summary`)).text();
  assert.ok(!summaryText.includes(gonePassword), 'no source password in the summary');
  await waitFor('a backup in the summary', async () => (await summary()).jobs[0]?.lastSuccess, 30_000);
  assert.equal((await fetch(`${base}/api/jobs/app/drill`, { method: 'POST', headers: auth })).status, 202);
  await waitFor('a drill in the summary', async () => (await summary()).jobs[0]?.lastDrill?.result, 60_000);
  assert.equal((await summary()).jobs[0]!.lastDrill!.result, 'passed');

  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /^lifeboat_backup_runs_total\{job="app",result="success"\} 1$/m);
  assert.match(metrics, /^lifeboat_drill_last_success_timestamp_seconds\{job="app"\} \d+/m);
  assert.match(metrics, /^lifeboat_source_up\{job="app"\} 1$/m);
  assert.match(metrics, /^lifeboat_source_up\{job="gone"\} 0$/m);
  assert.equal((await summary()).storages.find((h) => h.name === 'disk')?.up, true);
  type Runs = { runs: Array<{ job: string; kind: string; trigger: string; result: string }> };
  const runsOf = async () => {
    const { runs } = (await (await fetch(`${base}/api/runs?job=app`)).json()) as Runs;
    return runs.map((r) => [r.job, r.kind, r.trigger, r.result]).sort();
  };
  const bothRuns = [
    ['app', 'backup', 'api', 'success'],
    ['app', 'drill', 'api', 'success'],
  ];
  assert.deepEqual(await runsOf(), bothRuns);
  assert.ok(!(await (await fetch(`${base}/api/jobs`)).text()).includes(token), 'the token is never returned');

  proc.child.kill('SIGTERM');
  const result = await proc.done;
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!result.stderr.includes(token));
  assert.match(result.stderr, /source down: check source of gone: connect to /, 'a source down is logged');
  assert.ok(!result.stderr.includes(gonePassword));

  // The run history survives a restart.
  const again = startLifeboat(['--config', config, 'serve'], {
    env: { TOKEN: token, GONE_PASSWORD: gonePassword },
  });
  t.after(() => again.child.kill('SIGKILL'));
  await waitFor('healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
  assert.deepEqual(await runsOf(), bothRuns);
  again.child.kill('SIGTERM');
  assert.equal((await again.done).code, 0);
  await sleep(10);
});
