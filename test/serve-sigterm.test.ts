/**
 * SIGTERM to a real `lifeboat serve` while a backup started through the API is running. The backup
 * is held mid-run for as long as the test wants: another session holds an ACCESS EXCLUSIVE lock on
 * the job's table, so pg_dump waits on it with its output file already open in the storage.
 *
 * - The grace period runs out: the process exits 0 within graceSeconds plus a margin, pg_dump and
 *   zstd are gone, `lifeboat list` shows only the backup from before, the storage holds exactly
 *   the files it held before (no temp file, no orphan artifact), and the run history says aborted.
 * - The run finishes within the grace period: it is committed and recorded, then the process exits 0.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import { openSqliteHistory } from '../src/history/sqlite-history.js';
import type { RunRecord } from '../src/history/types.js';
import { withCluster } from './helpers/cluster.js';
import { lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { storageContents, waitFor, writeConfig } from './helpers/scenarios.js';
import { freePort } from '../src/sources/postgres/local-cluster.js';

const TOKEN = 'sigterm-test-token-789';

/** Live child processes of `ppid` by command name, from /proc (zombies count as gone). */
async function childrenOf(ppid: number): Promise<Array<{ pid: number; comm: string }>> {
  const out: Array<{ pid: number; comm: string }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
    if (m && Number(m[3]) === ppid && !'ZX'.includes(m[2]!)) out.push({ pid: Number(entry), comm: m[1]! });
  }
  return out;
}

/** Folders under `root` with nothing in them, relative to it. */
async function emptyFolders(root: string, dir = root): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  if (entries.length === 0 && dir !== root) return [path.relative(root, dir)];
  const nested = entries.filter((e) => e.isDirectory());
  return (await Promise.all(nested.map((e) => emptyFolders(root, path.join(dir, e.name))))).flat();
}

async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/\)\s+[ZX]/.test(stat.slice(stat.lastIndexOf(')')));
}

interface Served {
  dir: string;
  storage: string;
  config: string;
  base: string;
  proc: ReturnType<typeof startLifeboat>;
  /** What the process wrote on stderr so far. */
  stderr(): string;
}

describe('SIGTERM to lifeboat serve during a running backup', async () => {
  const cluster = await withCluster({ after }, { name: 'serve-sigterm' });
  await cluster.psql('create database app');
  await cluster.psql('create table t (x int); insert into t select generate_series(1, 1000);', {
    database: 'app',
  });

  /** Serves one job backing up `app`, with one committed backup made by the CLI beforehand. */
  async function serveWithOneBackup(t: TestContext, graceSeconds: number): Promise<Served> {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'b');
    const port = await freePort();
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${storage} }\njobs:\n  app:\n    source: { type: postgres, url: "${cluster.url('app')}" }\n    storages: [disk]\nserver: { port: ${port}, token: "${TOKEN}", graceSeconds: ${graceSeconds} }\n`,
    );
    const first = await lifeboat(['--config', config, 'backup', 'app']);
    assert.equal(first.code, 0, first.stderr);
    const proc = startLifeboat(['--config', config, 'serve']);
    t.after(() => proc.child.kill('SIGKILL'));
    let stderr = '';
    proc.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const base = `http://127.0.0.1:${port}`;
    await waitFor('healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
    return { dir, storage, config, base, proc, stderr: () => stderr };
  }

  /** Holds an ACCESS EXCLUSIVE lock on t in an open transaction until `release()`. */
  async function lockTable(t: TestContext) {
    const client = new pg.Client({ connectionString: cluster.url('app') });
    await client.connect();
    t.after(() => client.end().catch(() => {}));
    await client.query('begin');
    await client.query('lock table t in access exclusive mode');
    return { release: () => client.query('rollback') };
  }

  /** Starts a backup through the API and waits until pg_dump is really blocked on the lock. */
  async function startBlockedBackup(s: Served) {
    const res = await fetch(`${s.base}/api/jobs/app/backup`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 202, await res.text());
    await waitFor(
      'pg_dump waiting for the lock',
      async () =>
        (
          await cluster.psql(
            `select count(*) from pg_stat_activity where application_name = 'pg_dump' and wait_event_type = 'Lock'`,
          )
        ).trim() === '1',
    );
    const runs = await runsOf(s);
    assert.equal(runs[0]?.result, 'running', JSON.stringify(runs));
    // The run is mid-write: its temp file is open in the storage.
    await waitFor('the temp file', async () => (await storageContents(s.storage)).temp.length > 0);
    const children = await childrenOf(s.proc.child.pid!);
    const dump = children.find((c) => c.comm === 'pg_dump');
    assert.ok(dump, `pg_dump is a child of serve: ${JSON.stringify(children)}`);
    return children;
  }

  const runsOf = async (s: Served) =>
    ((await (await fetch(`${s.base}/api/runs?job=app`)).json()) as { runs: RunRecord[] }).runs;

  const listIds = async (s: Served) => {
    const list = await lifeboat(['--config', s.config, 'list', 'app', '--json']);
    assert.equal(list.code, 0, list.stderr);
    return (JSON.parse(list.stdout) as { backups: Array<{ id: string }> }).backups.map((b) => b.id);
  };

  /** The history file the service wrote (default: beside the config), read after it exited. */
  const historyOf = (s: Served) => {
    const history = openSqliteHistory(path.join(s.dir, 'lifeboat-history.db'));
    try {
      return history.list({ job: 'app' });
    } finally {
      history.close();
    }
  };

  test('grace period over: exit 0 in time, children gone, nothing partial left, run aborted', async (t) => {
    const graceSeconds = 1;
    const s = await serveWithOneBackup(t, graceSeconds);
    const before = await storageContents(s.storage);
    const [kept] = await listIds(s);
    const lock = await lockTable(t);
    const children = await startBlockedBackup(s);
    assert.deepEqual(children.map((c) => c.comm).sort(), ['pg_dump', 'zstd']);

    const sent = Date.now();
    s.proc.child.kill('SIGTERM');
    const result = await s.proc.done;
    const tookMs = Date.now() - sent;
    assert.equal(result.code, 0, result.stderr);
    // It waited for the run (the lock never lifted), then aborted it and left promptly.
    assert.ok(tookMs >= graceSeconds * 1000, `exited after ${tookMs} ms, before the grace period ended`);
    assert.ok(tookMs < graceSeconds * 1000 + 5_000, `exited after ${tookMs} ms`);
    assert.match(result.stderr, /serve: aborted backup app \(nothing half-done was committed\)/);

    for (const c of children)
      assert.equal(await isAlive(c.pid), false, `${c.comm} (pid ${c.pid}) still runs`);
    assert.deepEqual(await listIds(s), [kept], 'list shows only the backup from before');
    const now = await storageContents(s.storage);
    assert.deepEqual(now.temp, [], 'no temp file left');
    assert.deepEqual(now.files, before.files, 'the storage holds what it held before, nothing more');
    assert.deepEqual(await emptyFolders(s.storage), [], 'the aborted run left no empty folder');

    const [run] = historyOf(s);
    assert.equal(run?.kind, 'backup');
    assert.equal(run?.trigger, 'api');
    assert.equal(run?.result, 'aborted', JSON.stringify(run));
    assert.match(run?.error ?? '', /grace period of 1s over/);

    // pg_dump's server session waited on the lock too; once it is granted, it finds its client
    // gone and ends. Nothing of the run stays behind on the server either.
    await lock.release();
    await waitFor(
      'no pg_dump session',
      async () =>
        (
          await cluster.psql(`select count(*) from pg_stat_activity where application_name = 'pg_dump'`)
        ).trim() === '0',
      10_000,
    );
  });

  test('a run that finishes within the grace period is committed, then the process exits 0', async (t) => {
    const s = await serveWithOneBackup(t, 30);
    const [kept] = await listIds(s);
    const lock = await lockTable(t);
    await startBlockedBackup(s);

    const sent = Date.now();
    s.proc.child.kill('SIGTERM');
    // Still serving during the grace period, and refusing new runs.
    await waitFor('the stop under way', async () => /serve: stopping/.test(s.stderr()));
    const refused = await fetch(`${s.base}/api/jobs/app/backup`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(refused.status, 503, 'no new run once stopping');
    await lock.release();
    const result = await s.proc.done;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(Date.now() - sent < 15_000);
    assert.doesNotMatch(result.stderr, /aborted/);

    const ids = await listIds(s);
    assert.equal(ids.length, 2, `the finished run was committed: ${ids.join(', ')}`);
    assert.equal(ids[0], kept);
    assert.deepEqual((await storageContents(s.storage)).temp, []);
    const [run] = historyOf(s);
    assert.equal(run?.result, 'success', JSON.stringify(run));
    assert.equal(run?.backupId, ids[1]);
  });
});
