/**
 * `lifeboat serve` and `lifeboat backup` share the job lock: a backup started through the API
 * while a CLI backup of the job runs is a failed run naming the CLI process (the service keeps
 * running), and a CLI backup while the service's run holds the lock is refused naming the service.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../src/sources/postgres/local-cluster.js';
import { withCluster } from './helpers/cluster.js';
import { errorLines, filesUnder, startLifeboat } from './helpers/lifeboat.js';
import { holdTable, lockObjects, type LockTarget } from './helpers/lock-scenarios.js';
import { tempDir } from './helpers/roundtrip.js';
import { waitFor, writeConfig } from './helpers/scenarios.js';

test('serve and the CLI never back up one job at once: each is refused naming the other', async (t) => {
  const pg = await withCluster(t, { name: 'serve-lock' });
  await pg.psql('create database app');
  await pg.psql('create table t (x int); insert into t select generate_series(1, 50);', { database: 'app' });
  const dir = await tempDir(t);
  const storage = path.join(dir, 'b');
  const port = await freePort();
  const config = await writeConfig(
    dir,
    `storages:\n  disk: { type: local, path: ${JSON.stringify(storage)} }\n` +
      `jobs:\n  app:\n    source: { type: postgres, url: "${pg.url('app')}" }\n    storages: [disk]\n` +
      `server: { port: ${port}, token: "\${TOKEN}" }\n`,
  );
  const tg: LockTarget = {
    config,
    job: 'app',
    storage: 'disk',
    env: {},
    rawKeys: () => filesUnder(storage),
    sourceUrl: pg.url('app'),
    table: 't',
  };
  const token = 'serve-lock-token-123';
  const serve = startLifeboat(['--config', config, 'serve'], { env: { TOKEN: token } });
  t.after(() => serve.child.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  await waitFor('healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
  const startBackup = async () =>
    (
      await fetch(`${base}/api/jobs/app/backup`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      })
    ).status;
  type Run = { kind: string; result: string; error?: string };
  const runs = async () => ((await (await fetch(`${base}/api/runs?job=app`)).json()) as { runs: Run[] }).runs;
  const since = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z';

  // A CLI backup holds the lock (its source table is locked, so it stays in its run).
  let letGo = await holdTable(tg);
  const cli = startLifeboat(['--config', config, 'backup', 'app'], { env: { TOKEN: token } });
  let cliEnded: string | undefined;
  void cli.done.then((r) => (cliEnded = `exit ${r.code}: ${r.stderr}`));
  await waitFor('the CLI run to take the lock', async () => {
    if (cliEnded) throw new Error(`the CLI run ended early: ${cliEnded}`);
    return (await lockObjects(tg)).length === 1;
  });
  assert.equal(await startBackup(), 202);
  const refused = await waitFor('the API run to end', async () =>
    (await runs()).find((r) => r.result !== 'running'),
  );
  assert.equal(refused.result, 'failure');
  assert.match(
    refused.error ?? '',
    new RegExp(
      `lock app in disk: held by a backup on ${hostname()} \\(pid ${cli.child.pid}\\) since ${since}`,
    ),
  );
  await letGo();
  assert.equal((await cli.done).code, 0);

  // Now the service's run holds the lock: a CLI backup is refused naming the service's process.
  letGo = await holdTable(tg);
  assert.equal(await startBackup(), 202);
  await waitFor('the API run to take the lock', async () => (await lockObjects(tg)).length === 1);
  const second = await startLifeboat(['--config', config, 'backup', 'app'], { env: { TOKEN: token } }).done;
  await letGo();
  assert.equal(second.code, 1, second.stderr);
  assert.match(
    errorLines(second.stderr).join('\n'),
    new RegExp(
      `^error: backup app failed: lock app in disk: held by a backup on ${hostname()} \\(pid ${serve.child.pid}\\) since ${since}`,
    ),
  );
  await waitFor('the API run to succeed', async () =>
    (await runs()).some((r) => r.kind === 'backup' && r.result === 'success'),
  );
  assert.deepEqual(await lockObjects(tg), []);

  serve.child.kill('SIGTERM');
  assert.equal((await serve.done).code, 0, 'the refused run did not take the service down');
});
