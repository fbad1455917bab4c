/**
 * A failed stage never crashes Lifeboat (issue 10 §1): PostgreSQL stopped in the middle of a
 * backup, from the CLI and from `lifeboat serve`, and a role without the privileges pg_dumpall
 * needs. Each ends in one error line and exit 1 (serve: a failed run, an alert, and the service
 * still up), and the storage holds nothing of the failed run: no temp file, no artifact, no sidecar.
 *
 * zstd at level 19 trails far behind pg_dump, so pg_dump's exit arrives while the compressor is
 * still flushing: the moment where an unowned rejection used to kill the process.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { errorLines, lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { startAgain, stopFastDuringCopy } from './helpers/pg-ctl.js';
import { tempDir } from './helpers/roundtrip.js';
import { createBigTable, storageContents, waitFor, writeConfig } from './helpers/scenarios.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';
import { freePort } from '../src/sources/postgres/local-cluster.js';

const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$/m;

describe('a stage failing first never crashes the process', async () => {
  const pg = await withCluster({ after }, { name: 'crash-free' });
  await pg.psql('create database app');
  // ~20 MB of dump: level-19 zstd needs many seconds for it, pg_dump far less.
  await createBigTable(pg, 'app', 300_000);

  const jobYaml = (storage: string, url = pg.url()) =>
    `storages:\n  disk: { type: local, path: ${JSON.stringify(storage)} }\n` +
    `jobs:\n  app:\n    source: { type: postgres, url: "${url}", databases: all }\n` +
    `    compression: { type: zstd, level: 19 }\n    storages: [disk]\n`;

  /**
   * Stops the server while pg_dump of app is mid-COPY and zstd holds a few MB it has not
   * compressed yet, so it is still flushing when pg_dump exits.
   */
  const stopDuringAppDump = (lifeboatPid: number) =>
    stopFastDuringCopy(pg, async () => (await bytesReadBy(lifeboatPid, 'zstd')) >= 4 << 20);

  test('CLI: PostgreSQL stopped mid-dump: one error line, exit 1, nothing left behind', async (t) => {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'b');
    const config = await writeConfig(dir, jobYaml(storage));
    const run = startLifeboat(['--config', config, 'backup']);
    await stopDuringAppDump(run.child.pid!);
    const r = await run.done;
    await startAgain(pg);
    assert.doesNotMatch(r.stderr, STACK_LINE, 'no stack trace');
    assert.equal(r.code, 1, r.stderr);
    const errors = errorLines(r.stderr);
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /^error: backup app failed: run pg_dump app: exited with code 1: /);
    assert.deepEqual((await storageContents(storage)).files, [], 'no temp file, artifact or sidecar');
  });

  test('serve: PostgreSQL stopped during an API-started backup: the run fails and alerts, serve goes on', async (t) => {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'b');
    const port = await freePort();
    const hook = await startWebhookReceiver();
    t.after(() => hook.close());
    const config = await writeConfig(
      dir,
      jobYaml(storage) +
        `notify:\n  - { type: webhook, url: "${hook.url()}", on: [failure] }\n` +
        `server: { port: ${port}, token: serve-token-123 }\n`,
    );
    const proc = startLifeboat(['--config', config, 'serve']);
    t.after(() => proc.child.kill('SIGKILL'));
    let log = '';
    proc.child.stderr!.on('data', (d) => (log += d));
    const base = `http://127.0.0.1:${port}`;
    await waitFor('healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
    const started = await fetch(`${base}/api/jobs/app/backup`, {
      method: 'POST',
      headers: { authorization: 'Bearer serve-token-123' },
    });
    assert.equal(started.status, 202);
    await stopDuringAppDump(proc.child.pid!);
    type Run = { result: string; error?: string };
    const run = await waitFor('the run to finish', async () => {
      const res = await fetch(`${base}/api/runs?job=app`).catch(() => undefined);
      if (!res) throw new Error(`serve is gone: exit ${proc.child.exitCode}\n${log}`);
      const [last] = ((await res.json()) as { runs: Run[] }).runs;
      return last && last.result !== 'running' ? last : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${log}`);
    });
    await startAgain(pg);
    assert.equal(run.result, 'failure');
    assert.match(run.error ?? '', /run pg_dump app: exited with code 1/);
    const alert = (await hook.next()).body as { kind: string; job: string };
    assert.equal(alert.kind, 'failure');
    assert.equal(alert.job, 'app');
    assert.equal(proc.child.exitCode, null, 'serve is still running');
    assert.ok((await fetch(`${base}/healthz`)).ok);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^lifeboat_backup_runs_total\{job="app",result="failure"\} 1$/m);
    assert.match(metrics, /^lifeboat_unhandled_rejections_total 0$/m);
    // serve records the failed run (jobs/failed-runs.ts), so a later one-shot run sees the streak;
    // it is written after the run's end is reported, hence waited for.
    const isFailedRecord = (f: string) => /^\.lifeboat\/app\/failed\/backup-[^/]+\.json$/.test(f);
    await waitFor('the failed-run record', async () =>
      (await storageContents(storage)).files.some(isFailedRecord),
    );
    assert.deepEqual(
      (await storageContents(storage)).files.filter((f) => !isFailedRecord(f)),
      [],
      'no temp file, artifact or sidecar',
    );
    proc.child.kill('SIGTERM');
    const result = await proc.done;
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, STACK_LINE, 'no stack trace');
  });

  test('a role without read access to pg_authid: check says so; backup exits 1 leaving nothing', async (t) => {
    await pg.psql(`create role reader login;`);
    const dir = await tempDir(t);
    const storage = path.join(dir, 'b');
    const url = pg.url().replace('postgres@', 'reader@');
    const config = await writeConfig(dir, jobYaml(storage, url));
    const check = await lifeboat(['--config', config, 'check']);
    assert.equal(check.code, 2, check.stderr);
    assert.match(
      check.stderr,
      /^error: FAIL source app: check privileges of role reader: it lacks read access to pg_authid, which pg_dumpall needs for the globals \(role passwords\): superuser or pg_read_all_data; read access in app to public\.big \(hint: /m,
    );
    assert.match(check.stderr, /^ok {3}storage disk: /m, 'the storage is still probed');
    const backup = await lifeboat(['--config', config, 'backup']);
    assert.doesNotMatch(backup.stderr, STACK_LINE, 'no stack trace');
    assert.equal(backup.code, 1, backup.stderr);
    const errors = errorLines(backup.stderr);
    assert.equal(errors.length, 1, backup.stderr);
    assert.match(errors[0]!, /^error: backup app failed: run pg_dumpall --globals-only: .*permission denied/);
    assert.deepEqual((await storageContents(storage)).files, []);
    // With pg_read_all_data the same role has everything: check says ok.
    await pg.psql(`grant pg_read_all_data to reader;`);
    const again = await lifeboat(['--config', config, 'check']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^ok {3}source app: PostgreSQL /m);
  });

  test('check names the tables a role cannot read for a single-database job', async (t) => {
    await pg.psql(`create role lowly login;`);
    await pg.psql(`create table secret (x int); create table open (x int); grant select on open to lowly;`, {
      database: 'app',
    });
    const dir = await tempDir(t);
    const url = pg.url('app').replace('postgres@', 'lowly@');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${JSON.stringify(path.join(dir, 'b'))} }\n` +
        `jobs:\n  app:\n    source: { type: postgres, url: "${url}" }\n    storages: [disk]\n`,
    );
    const check = await lifeboat(['--config', config, 'check']);
    assert.equal(check.code, 2, check.stderr);
    assert.match(
      check.stderr,
      /^error: FAIL source app: check privileges of role lowly: it lacks read access in app to public\.big, public\.secret \(hint: /m,
    );
  });
});

/** Bytes read so far by the child of `ppid` named `comm` (0 while there is none), from /proc. */
async function bytesReadBy(ppid: number, comm: string): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
    if (!m || m[1] !== comm || Number(m[2]) !== ppid) continue;
    const io = await readFile(`/proc/${entry}/io`, 'utf8').catch(() => '');
    return Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? 0);
  }
  return 0;
}
