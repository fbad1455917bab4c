/**
 * The per-job lock (src/core/job-lock.ts) over the in-memory storage: create-only acquisition,
 * refusal naming the holder, stale locks (expired, or a dead process of this host) broken once
 * with a warning even by several runs at once, the heartbeat, and release on every path.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listBackups, listDrillReports } from '../src/catalog/catalog.js';
import { intentKey, newIntent, writeIntent } from '../src/catalog/intent.js';
import { LifeboatError } from '../src/util/errors.js';
import {
  acquireJobLock,
  breakMarkerKey,
  lockKey,
  withJobLock,
  type JobLockOptions,
  type LockRecord,
} from '../src/core/job-lock.js';
import { executePrune, planPrune } from '../src/core/prune.js';
import { createMemoryStorage } from '../src/storages/memory.js';
import { putText, readText, type Storage } from '../src/storages/storage.js';

async function keys(storage: Storage): Promise<string[]> {
  const out: string[] = [];
  for await (const o of storage.list('')) out.push(o.key);
  return out.sort();
}

const readLock = async (storage: Storage, job = 'app') =>
  JSON.parse(await readText(storage, lockKey(job))) as LockRecord;

function lockOf(over: Partial<LockRecord>): LockRecord {
  return {
    format: 'lifeboat-lock',
    version: 1,
    job: 'app',
    kind: 'backup',
    token: 'old-token',
    owner: 'root',
    host: 'elsewhere',
    pid: 4242,
    created: '2026-12-01T00:00:00.000Z',
    expires: '2099-01-01T00:00:00.000Z',
    lifeboatVersion: '0.1.0',
    ...over,
  };
}

async function refusal(p: Promise<unknown>): Promise<LifeboatError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof LifeboatError, String(err));
    return err;
  }
  assert.fail('expected the lock to be refused');
}

const me: JobLockOptions = { kind: 'backup', host: 'here', pid: 100, isAlive: () => true };

describe('job lock', () => {
  test('acquire writes the lock object; release removes it; the catalog never lists it', async () => {
    const storage = createMemoryStorage();
    const lock = await acquireJobLock([storage], 'app', { ...me, ttlMs: 60_000 });
    assert.deepEqual(await keys(storage), ['.lifeboat/app/lock.json']);
    const record = await readLock(storage);
    assert.equal(record.format, 'lifeboat-lock');
    assert.equal(record.kind, 'backup');
    assert.equal(record.host, 'here');
    assert.equal(record.pid, 100);
    assert.ok(record.owner.length > 0);
    assert.equal(Date.parse(record.expires) - Date.parse(record.created), 60_000);
    assert.match(record.token, /^[0-9a-f]{24}$/);
    const listed = await listBackups(storage);
    assert.deepEqual(listed, { manifests: [], unreadable: [] }, 'the lock is not a backup');
    assert.deepEqual(await listDrillReports(storage), []);
    await lock.release();
    await lock.release(); // twice is harmless
    assert.deepEqual(await keys(storage), []);
  });

  test('a second run is refused with one line naming the holder; the holder keeps the lock', async () => {
    const storage = createMemoryStorage();
    const first = await acquireJobLock([storage], 'app', me);
    const err = await refusal(acquireJobLock([storage], 'app', { ...me, pid: 200 }));
    assert.equal(err.code, 'failed');
    const held = await readLock(storage);
    assert.equal(err.message, `lock app in memory: held by a backup on here (pid 100) since ${held.created}`);
    assert.match(err.hint ?? '', /one run of a job at a time/);
    assert.doesNotMatch(`${err.message} ${err.hint}`, /\{HH\}|\{id\}/);
    assert.equal(held.pid, 100);
    await first.release();
    assert.deepEqual(await keys(storage), []);
  });

  test('of ten runs started at once exactly one holds the lock', async () => {
    const storage = createMemoryStorage();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => acquireJobLock([storage], 'app', { ...me, pid: 1000 + i })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results)
      if (r.status === 'rejected') assert.match(String((r.reason as Error).message), /held by a backup/);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireJobLock>>>).value.release();
    assert.deepEqual(await keys(storage), []);
  });

  test('an expired lock is broken with a warning line and taken', async () => {
    const storage = createMemoryStorage();
    await putText(storage, lockKey('app'), JSON.stringify(lockOf({ expires: '2026-12-01T00:05:00.000Z' })));
    const warnings: string[] = [];
    const lock = await acquireJobLock([storage], 'app', {
      ...me,
      now: () => new Date('2026-12-01T00:06:00Z'),
      warn: (l) => warnings.push(l),
    });
    assert.deepEqual(warnings, [
      'lock app in memory: broke the stale lock of a backup on elsewhere (pid 4242) since 2026-12-01T00:00:00.000Z (expired at 2026-12-01T00:05:00.000Z)',
    ]);
    assert.equal((await readLock(storage)).host, 'here');
    await lock.release();
    assert.deepEqual(await keys(storage), [], 'no lock and no break marker left');
  });

  test('a lock of this host whose process is gone is broken at once; a live one or another host’s is not', async () => {
    const storage = createMemoryStorage();
    const dead = lockOf({ host: 'here', pid: 4242 });
    await putText(storage, lockKey('app'), JSON.stringify(dead));
    // Alive (or another host, which cannot be checked): refused until it expires.
    await refusal(acquireJobLock([storage], 'app', { ...me, isAlive: (pid) => pid === 4242 }));
    await refusal(acquireJobLock([storage], 'app', { ...me, host: 'third', isAlive: () => false }));
    const warnings: string[] = [];
    const lock = await acquireJobLock([storage], 'app', {
      ...me,
      isAlive: (pid) => pid !== 4242,
      warn: (l) => warnings.push(l),
    });
    assert.match(
      warnings.join('\n'),
      /broke the stale lock of a backup on here \(pid 4242\).*process 4242 is gone/,
    );
    await lock.release();
  });

  test('several runs finding one stale lock: it is broken once and exactly one run gets the lock', async () => {
    const storage = createMemoryStorage();
    await putText(storage, lockKey('app'), JSON.stringify(lockOf({ host: 'here', pid: 4242 })));
    const warnings: string[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        acquireJobLock([storage], 'app', {
          ...me,
          pid: 500 + i,
          isAlive: (pid) => pid !== 4242,
          warn: (l) => warnings.push(l),
        }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(
      won.length,
      1,
      results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join('\n'),
    );
    assert.equal(warnings.length, 1, warnings.join('\n'));
    const holder = await readLock(storage);
    assert.ok(holder.pid >= 500 && holder.pid < 506);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireJobLock>>>).value.release();
    assert.deepEqual(await keys(storage), []);
  });

  test('a break marker abandoned by a killed breaker is removed once older than the ttl', async () => {
    const storage = createMemoryStorage();
    await putText(storage, lockKey('app'), JSON.stringify(lockOf({ expires: '2026-12-01T00:05:00.000Z' })));
    await putText(storage, breakMarkerKey('app', 'old-token'), '{}');
    storage.touch(breakMarkerKey('app', 'old-token'), new Date('2026-12-01T00:01:00Z'));
    const lock = await acquireJobLock([storage], 'app', {
      ...me,
      ttlMs: 60_000,
      now: () => new Date('2026-12-01T00:06:00Z'),
    });
    assert.equal((await readLock(storage)).host, 'here');
    await lock.release();
    assert.deepEqual(await keys(storage), []);
  });

  test('a break marker left by a breaker of this host whose process is gone is removed at once; a live one waits', async () => {
    // A run killed between writing its break marker and removing the stale lock (seen in the chaos
    // test) must not block the job until the marker's ttl runs out.
    const storage = createMemoryStorage();
    await putText(storage, lockKey('app'), JSON.stringify(lockOf({ host: 'here', pid: 4242 })));
    await putText(storage, breakMarkerKey('app', 'old-token'), JSON.stringify({ host: 'here', pid: 4343 }));
    // The breaker is alive: it is still breaking, so this run is refused and the marker stays.
    const held = await refusal(acquireJobLock([storage], 'app', { ...me, isAlive: (pid) => pid === 4343 }));
    assert.match(held.message, /held by a backup on here \(pid 4242\)/);
    assert.ok(await storage.stat(breakMarkerKey('app', 'old-token')));
    // The breaker is gone too: the marker and the stale lock are removed, and this run holds the lock.
    const warnings: string[] = [];
    const lock = await acquireJobLock([storage], 'app', {
      ...me,
      isAlive: (pid) => pid !== 4242 && pid !== 4343,
      warn: (l) => warnings.push(l),
    });
    assert.equal((await readLock(storage)).pid, 100);
    assert.match(warnings.join('\n'), /broke the stale lock of a backup on here \(pid 4242\)/);
    await lock.release();
    assert.deepEqual(await keys(storage), []);
  });

  test('a break marker left by a breaker killed after removing the lock is swept by the next run', async () => {
    const storage = createMemoryStorage();
    await putText(storage, breakMarkerKey('app', 'gone-token'), JSON.stringify({ host: 'here', pid: 4343 }));
    const lock = await acquireJobLock([storage], 'app', me);
    assert.deepEqual(await keys(storage), ['.lifeboat/app/lock.json']);
    await lock.release();
  });

  test('refresh pushes the expiry forward; the heartbeat calls it', async () => {
    const storage = createMemoryStorage();
    let clock = new Date('2026-12-01T00:00:00Z');
    const lock = await acquireJobLock([storage], 'app', { ...me, ttlMs: 60_000, now: () => clock });
    assert.equal((await readLock(storage)).expires, '2026-12-01T00:01:00.000Z');
    clock = new Date('2026-12-01T00:00:30Z');
    await lock.refresh();
    const after = await readLock(storage);
    assert.equal(after.expires, '2026-12-01T00:01:30.000Z');
    assert.equal(after.created, '2026-12-01T00:00:00.000Z', 'created stays');
    await lock.release();

    // The heartbeat: a refresh every refreshMs, seen as a replace of the lock object.
    let onReplace = () => {};
    const replaced = new Promise<void>((resolve) => (onReplace = resolve));
    const watched: Storage = {
      ...storage,
      replace: async (key, bytes, o) => {
        await storage.replace!(key, bytes, o);
        onReplace();
      },
    };
    const beating = await acquireJobLock([watched], 'app', { ...me, refreshMs: 5 });
    const keepAlive = setInterval(() => {}, 1000); // the heartbeat's own timer does not hold the process
    await replaced;
    clearInterval(keepAlive);
    await beating.release();
    assert.deepEqual(await keys(storage), []);
  });

  test('a lock taken over while held: refresh fails and aborts `lost`; release leaves the other lock', async () => {
    const storage = createMemoryStorage();
    const lock = await acquireJobLock([storage], 'app', me);
    await storage.delete(lockKey('app'));
    await putText(storage, lockKey('app'), JSON.stringify(lockOf({ host: 'other', pid: 7 })));
    const err = await refusal(lock.refresh());
    assert.match(
      err.message,
      /^lock app in memory: lost while running \(now held by a backup on other \(pid 7\)/,
    );
    assert.ok(lock.lost.aborted);
    assert.equal(lock.lost.reason, err);
    await lock.release();
    assert.equal((await readLock(storage)).host, 'other', 'not ours to delete');
  });

  test('several storages: refused by one, none is held; held in all, all are released', async () => {
    const a = createMemoryStorage({ name: 'a' });
    const b = createMemoryStorage({ name: 'b' });
    await putText(b, lockKey('app'), JSON.stringify(lockOf({})));
    const err = await refusal(acquireJobLock([a, b], 'app', me));
    assert.match(err.message, /^lock app in b: held by a backup on elsewhere \(pid 4242\)/);
    assert.deepEqual(await keys(a), [], 'the lock taken in a is given back');
    await b.delete(lockKey('app'));
    const result = await withJobLock([a, b], 'app', me, async () => [await keys(a), await keys(b)]);
    assert.deepEqual(result, [['.lifeboat/app/lock.json'], ['.lifeboat/app/lock.json']]);
    assert.deepEqual([await keys(a), await keys(b)], [[], []]);
  });

  test('withJobLock releases when the work throws, and passes the caller’s abort through', async () => {
    const storage = createMemoryStorage();
    await assert.rejects(
      withJobLock([storage], 'app', me, async () => {
        throw new Error('dump failed');
      }),
      /dump failed/,
    );
    assert.deepEqual(await keys(storage), []);
    const outer = new AbortController();
    const seen = await withJobLock([storage], 'app', { ...me, signal: outer.signal }, async (signal) => {
      outer.abort(new Error('SIGTERM'));
      return signal.aborted;
    });
    assert.equal(seen, true);
    assert.deepEqual(await keys(storage), []);
  });

  test('prune takes the job lock: refused while a backup holds it, breaks a stale one, leaves none', async () => {
    const storage = createMemoryStorage();
    // Left by a killed run: its intent and the artifact it names.
    const leftover = 'app/20261201T000000Z/app.sql.zst';
    const killed = newIntent('app', '20261201T000000Z', [leftover], new Date('2026-12-01T00:00:00Z'));
    await writeIntent(storage, killed);
    await putText(storage, leftover, 'left by a killed run');
    for (const k of [leftover, intentKey('app', killed.id)])
      storage.touch(k, new Date('2026-12-01T00:00:00Z'));
    const now = new Date('2026-12-05T00:00:00Z');
    const job = { name: 'app', layout: 'app/{id}' };
    await putText(storage, lockKey('app'), JSON.stringify(lockOf({ expires: '2026-12-06T00:00:00.000Z' })));
    const plan = await planPrune(storage, job, { keepLast: 1 }, { now });
    assert.deepEqual(plan.orphans, ['app/20261201T000000Z/app.sql.zst']);
    const err = await refusal(executePrune(storage, plan, { now }));
    assert.match(err.message, /^lock app in memory: held by a backup on elsewhere \(pid 4242\)/);
    assert.ok(
      await storage.stat('app/20261201T000000Z/app.sql.zst'),
      'nothing removed beside a running backup',
    );

    const warnings: string[] = [];
    const later = new Date('2026-12-07T00:00:00Z'); // the holder's lock has expired by then
    const outcome = await executePrune(storage, plan, { now: later, warn: (l) => warnings.push(l) });
    assert.deepEqual(outcome.removedObjects, [leftover, intentKey('app', killed.id)]);
    assert.match(
      warnings.join('\n'),
      /broke the stale lock of a backup on elsewhere \(pid 4242\).*expired at/,
    );
    assert.deepEqual(await keys(storage), []);
  });

  test('a lock object under (simulated) Object Lock retention is still released', async () => {
    const storage = createMemoryStorage();
    const warnings: string[] = [];
    const lock = await acquireJobLock([storage], 'app', { ...me, warn: (l) => warnings.push(l) });
    storage.lock(lockKey('app'), new Date(Date.now() + 86_400_000));
    await lock.release();
    assert.deepEqual(warnings, []);
    assert.deepEqual(await keys(storage), []);
  });
});
