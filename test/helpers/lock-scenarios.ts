/**
 * Test helper: the job lock seen from the CLI, shared by the local and the S3 test files. Each
 * scenario runs real `lifeboat backup` processes against a real PostgreSQL into one storage (a
 * config with one storage, passed in) and checks what every process printed and what the storage
 * holds afterwards.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import pg from 'pg';
import { errorLines, lifeboat, startLifeboat, type RunResult } from './lifeboat.js';
import { waitFor } from './scenarios.js';

export interface LockTarget {
  /** `--config FILE`, and the job name in it. */
  config: string;
  job: string;
  /** The storage's name in the config (the lock error names it). */
  storage: string;
  env: NodeJS.ProcessEnv;
  /** Every key the backing store holds (temp files and incomplete uploads included). */
  rawKeys: () => Promise<string[]>;
  /** The job's source URL and a table in it (a run is held in place by locking the table). */
  sourceUrl: string;
  table: string;
}

/**
 * Locks the source table in a transaction, so a backup started meanwhile takes the job lock and
 * then waits on PostgreSQL: a run that holds the job lock for as long as the test needs.
 * Returns the function that lets it go.
 */
export async function holdTable(t: LockTarget): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: t.sourceUrl });
  await client.connect();
  await client.query(`begin; lock table ${t.table} in access exclusive mode`);
  return async () => {
    await client.query('commit');
    await client.end();
  };
}

const LOCK_OBJECTS = /(^|\/)\.lifeboat\/[^/]+\/lock(-break-[^/]*)?\.json$/;

export const backup = (t: LockTarget) =>
  startLifeboat(['--config', t.config, 'backup', t.job, '--json'], { env: t.env });

async function listedIds(t: LockTarget): Promise<string[]> {
  const list = await lifeboat(['--config', t.config, 'list', t.job, '--json'], { env: t.env });
  assert.equal(list.code, 0, list.stderr);
  const doc = JSON.parse(list.stdout) as
    { backups?: Array<{ id: string }> } | Array<{ backups: Array<{ id: string }> }>;
  const backups = Array.isArray(doc) ? doc.flatMap((d) => d.backups) : (doc.backups ?? []);
  return backups.map((b) => b.id).sort();
}

export async function lockObjects(t: LockTarget): Promise<string[]> {
  return (await t.rawKeys()).filter((k) => LOCK_OBJECTS.test(k));
}

/** The refusal line of a run that found the lock held (and nothing else on stderr that says error). */
export function refusalPattern(t: LockTarget, pid?: number): RegExp {
  const who = pid === undefined ? `${esc(hostname())} \\(pid \\d+\\)` : `${esc(hostname())} \\(pid ${pid}\\)`;
  return new RegExp(
    `^error: backup ${t.job} failed: lock ${t.job} in ${t.storage}: held by a backup on ${who} since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(hint: one run of a job at a time; try again when it ends \\(an abandoned lock expires at [^)]+\\)\\)$`,
  );
}
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Three backups of one job started at once while the source table is locked, so whichever takes
 * the job lock stays in its run: exactly one commits, the other two are refused at once with the
 * lock line (before the lock, all three planned the same id and two failed with a layout hint).
 * What is listed is what was reported, it verifies, and no lock object is left.
 */
export async function threeAtOnce(t: LockTarget): Promise<void> {
  const letGo = await holdTable(t);
  const runs = [backup(t), backup(t), backup(t)];
  let exited = 0;
  for (const r of runs) void r.done.then(() => exited++);
  await waitFor('two runs to be refused', async () => exited >= 2, 60_000).finally(letGo);
  const results = await Promise.all(runs.map((r) => r.done));
  const ok = results.filter((r) => r.code === 0);
  assert.equal(ok.length, 1, results.map((r) => r.stderr).join('\n---\n'));
  const holder = runs[results.indexOf(ok[0]!)]!;
  for (const r of results) {
    assert.doesNotMatch(r.stderr, /\{HH\}|\{id\}|already exists/, 'no misleading "layout" hint');
    if (r.code === 0) continue;
    assert.equal(r.code, 1, r.stderr);
    const errors = errorLines(r.stderr);
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, refusalPattern(t, holder.child.pid));
  }
  const id = (JSON.parse(ok[0]!.stdout) as Array<{ id: string }>)[0]!.id;
  assert.deepEqual(await listedIds(t), [id]);
  const verify = await lifeboat(['--config', t.config, 'verify', '--all', '--job', t.job], { env: t.env });
  assert.equal(verify.code, 0, verify.stderr);
  assert.deepEqual(await lockObjects(t), [], 'no lock object left');
}

/** A run holding the lock: a second one is refused at once, naming the holder's host and pid. */
export async function refusedWhileHeld(t: LockTarget): Promise<void> {
  const letGo = await holdTable(t);
  const holder = backup(t);
  await waitFor('the first run to take the lock', async () => (await lockObjects(t)).length === 1, 60_000);
  const second = await backup(t).done;
  await letGo();
  const first = await holder.done;
  assert.equal(first.code, 0, first.stderr);
  assert.equal(second.code, 1, second.stderr);
  assert.deepEqual(errorLines(second.stderr).length, 1, second.stderr);
  assert.match(errorLines(second.stderr)[0]!, refusalPattern(t, holder.child.pid));
  assert.deepEqual(await lockObjects(t), []);
}

/** A run SIGKILLed while holding the lock: the next run breaks it with a warning and commits. */
export async function staleLockOfKilledRun(t: LockTarget): Promise<RunResult> {
  const letGo = await holdTable(t);
  const victim = backup(t);
  await waitFor('the run to take the lock', async () => (await lockObjects(t)).length === 1, 60_000);
  victim.child.kill('SIGKILL');
  assert.equal((await victim.done).signal, 'SIGKILL');
  await letGo();
  assert.equal((await lockObjects(t)).length, 1, 'the killed run left its lock');
  const next = await backup(t).done;
  assert.equal(next.code, 0, next.stderr);
  const warning = new RegExp(
    `^warn: lock ${t.job} in ${t.storage}: broke the stale lock of a backup on ${esc(hostname())} \\(pid ${victim.child.pid}\\) since \\S+ \\(process ${victim.child.pid} is gone\\)$`,
    'm',
  );
  assert.match(next.stderr, warning);
  assert.deepEqual(await lockObjects(t), []);
  return next;
}
