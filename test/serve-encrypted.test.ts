/**
 * `serve` with encrypted jobs (issue 12 item 1): its drills decrypt with the job's identityFile,
 * never printed; a job with no identity anywhere has its drill fail, the run's error (what the
 * history, the API and alerts carry) naming the settings that give one, and serve keeps running.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../src/sources/postgres/local-cluster.js';
import { withCluster } from './helpers/cluster.js';
import { startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { waitFor, writeConfig } from './helpers/scenarios.js';

interface Run {
  kind: string;
  result: string | null;
  error: string | null;
}

test('serve drills an encrypted backup with the identity file, and fails one loudly without an identity', async (t) => {
  const pg = await withCluster(t, { name: 'serve-age' });
  await pg.psql('create database app');
  await pg.psql('create table t (x int); insert into t select generate_series(1, 50);', { database: 'app' });
  const dir = await tempDir(t);
  const key = path.join(dir, 'key.txt');
  execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', key]).toString().trim();
  const secret = (await readFile(key, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
  const port = await freePort();
  const job = (name: string, identity: boolean) =>
    `  ${name}:\n    source: { type: postgres, url: "${pg.url('app')}" }\n    storages: [disk]\n` +
    `    encryption: { type: age, recipients: [${recipient}]${identity ? `, identityFile: ${JSON.stringify(key)}` : ''} }\n` +
    `    drill:\n      checks: [ { name: rows, database: app, sql: "select count(*) from t", expect: "= 50" } ]\n`;
  const config = await writeConfig(
    dir,
    `storages:\n  disk: { type: local, path: ${JSON.stringify(path.join(dir, 'backups'))} }\n` +
      `jobs:\n${job('keyed', true)}${job('keyless', false)}` +
      `server: { port: ${port}, token: serve-age-token, historyFile: ${JSON.stringify(path.join(dir, 'history.db'))} }\n`,
  );
  const serve = startLifeboat(['--config', config, 'serve'], { env: { LIFEBOAT_AGE_IDENTITY_FILE: '' } });
  t.after(() => serve.child.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  await waitFor('healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
  const headers = { authorization: 'Bearer serve-age-token' };
  /** Starts a run through the API and waits for it to finish. */
  async function run(name: string, kind: 'backup' | 'drill'): Promise<Run> {
    const started = await fetch(`${base}/api/jobs/${name}/${kind}`, { method: 'POST', headers });
    assert.equal(started.status, 202, await started.text());
    return waitFor(
      `the ${kind} of ${name}`,
      async () => {
        const { runs } = (await (await fetch(`${base}/api/runs?job=${name}&kind=${kind}`)).json()) as {
          runs: Run[];
        };
        return runs.find((r) => r.result !== null && r.result !== 'running');
      },
      90_000,
    );
  }

  assert.equal((await run('keyed', 'backup')).result, 'success');
  assert.equal((await run('keyless', 'backup')).result, 'success');
  const keyed = await run('keyed', 'drill');
  assert.equal(keyed.result, 'success', keyed.error ?? '');
  const keyless = await run('keyless', 'drill');
  assert.equal(keyless.result, 'failure');
  assert.equal(
    keyless.error,
    'decrypt backup: it is encrypted with age and no identity is set (jobs.keyless.encryption.identityFile or LIFEBOAT_AGE_IDENTITY_FILE)',
  );

  serve.child.kill('SIGTERM');
  const served = await serve.done;
  assert.equal(served.code, 0, served.stderr);
  assert.ok(!(served.stdout + served.stderr).includes(secret), 'the identity was printed');
});
