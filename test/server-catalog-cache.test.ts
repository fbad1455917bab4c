/**
 * The catalog cache behind `/status/summary`: incremental refreshes (each manifest read once),
 * pruned and unreadable backups, a failing storage keeping the last listing, a refresh asked for
 * during a refresh, drill reports, and the periodic loop on a hand-driven clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commitManifest, storeDrillReport } from '../src/catalog/catalog.js';
import { putText, type Storage } from '../src/storages/storage.js';
import { createCatalogCache } from '../src/server/catalog-cache.js';
import type { Clock } from '../src/util/clock.js';
import { createMemoryStorage } from '../src/storages/memory.js';
import { drillReportFor, fixedClock, manifestAt, NOW, seedBackups } from './helpers/server-stub.js';

/** A storage that counts reads, can fail on demand and can hold list() until released. */
function instrumented(inner: Storage) {
  const gets: string[] = [];
  let failing: Error | undefined;
  let gate: Promise<void> | undefined;
  const storage: Storage = {
    ...inner,
    name: inner.name,
    location: inner.location,
    capabilities: inner.capabilities,
    async get(key, opts) {
      if (failing) throw failing;
      gets.push(key);
      return inner.get(key, opts);
    },
    async *list(prefix, opts) {
      if (failing) throw failing;
      const snapshot = [];
      for await (const o of inner.list(prefix, opts)) snapshot.push(o);
      await gate; // the listing was taken before the gate opens
      yield* snapshot;
    },
  };
  return {
    storage,
    gets,
    fail: (err?: Error) => void (failing = err),
    hold() {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

const now = new Date(NOW);

describe('catalog cache', () => {
  it('reads each manifest once; later refreshes read only new ones and drop pruned ones', async () => {
    const mem = createMemoryStorage({ name: 'local' });
    const manifests = await seedBackups(mem, 'app', 5, now);
    const s = instrumented(mem);
    const cache = createCatalogCache({ jobs: [{ name: 'app', storage: s.storage }], clock: fixedClock(NOW) });
    assert.equal(cache.get('app')!.backups.length, 0);
    assert.equal(cache.get('app')!.refreshedAt, undefined);

    const first = await cache.refresh('app');
    assert.equal(first.backups.length, 5);
    assert.equal(first.totalBytes, 5_500_000);
    assert.equal(first.lastBackup!.id, manifests.at(-1)!.id);
    assert.equal(first.refreshedAt, NOW);
    assert.equal(s.gets.length, 5);

    await cache.refresh('app');
    assert.equal(s.gets.length, 5, 'nothing new, nothing read');

    await commitManifest(mem, manifestAt('app', now, 7));
    await mem.delete(`.lifeboat/app/${manifests[0]!.id}.json`);
    const third = await cache.refresh('app');
    assert.equal(s.gets.length, 6);
    assert.deepEqual(
      third.backups.map((b) => b.id),
      [...manifests.slice(1).map((m) => m.id), '20261122T120000Z'],
    );
    assert.equal(cache.get('app'), third);
  });

  it('names unreadable manifests and keeps them out of the backups', async () => {
    const mem = createMemoryStorage();
    await seedBackups(mem, 'app', 2, now);
    await putText(mem, '.lifeboat/app/20261122T000000Z.json', '{not json');
    const cache = createCatalogCache({ jobs: [{ name: 'app', storage: mem }] });
    const cat = await cache.refresh('app');
    assert.equal(cat.backups.length, 2);
    assert.deepEqual(
      cat.unreadable.map((u) => u.key),
      ['.lifeboat/app/20261122T000000Z.json'],
    );
    assert.match(cat.unreadable[0]!.error, /not valid JSON/);
  });

  it('a failing storage keeps the last listing, records the error and marks the storage down', async () => {
    const mem = createMemoryStorage({ name: 'offsite' });
    await seedBackups(mem, 'app', 3, now);
    const s = instrumented(mem);
    const clock = fixedClock(NOW);
    const cache = createCatalogCache({ jobs: [{ name: 'app', storage: s.storage }], clock });
    assert.deepEqual(cache.storageHealth(), [], 'never refreshed: unknown, not down');
    await cache.refresh('app');
    assert.deepEqual(cache.storageHealth(), [{ name: 'offsite', up: true, checkedAt: NOW }]);

    s.fail(new Error('list .lifeboat/app/: connect ECONNREFUSED'));
    clock.set('2026-11-22T12:05:00Z');
    const failed = await cache.refresh('app');
    assert.equal(failed.backups.length, 3);
    assert.equal(failed.refreshedAt, NOW);
    assert.match(failed.error!, /ECONNREFUSED/);
    assert.deepEqual(cache.storageHealth(), [
      { name: 'offsite', up: false, checkedAt: '2026-11-22T12:05:00.000Z', error: failed.error },
    ]);

    s.fail(undefined);
    const back = await cache.refresh('app');
    assert.equal(back.error, undefined);
    assert.equal(cache.storageHealth()[0]!.up, true);
  });

  it('a refresh asked for during a refresh runs again, so a just-committed backup shows', async () => {
    const mem = createMemoryStorage();
    await seedBackups(mem, 'app', 1, now);
    const s = instrumented(mem);
    const cache = createCatalogCache({ jobs: [{ name: 'app', storage: s.storage }] });
    const release = s.hold();
    const periodic = cache.refresh('app'); // lists now, before the commit below
    await new Promise((r) => setImmediate(r));
    await commitManifest(mem, manifestAt('app', now, 9));
    const afterRun = cache.refresh('app');
    const again = cache.refresh('app'); // coalesces with the queued one
    release();
    assert.equal((await periodic).backups.length, 1);
    assert.equal((await afterRun).backups.length, 2);
    assert.equal(await again, await afterRun);
  });

  it('attaches the newest drill of each backup and of the job', async () => {
    const mem = createMemoryStorage();
    const [older, newer] = await seedBackups(mem, 'app', 2, now);
    await storeDrillReport(mem, drillReportFor(older!, new Date('2026-11-21T00:00:00Z'), true, 2000));
    await storeDrillReport(mem, drillReportFor(newer!, new Date('2026-11-22T06:00:00Z'), true, 3000));
    await storeDrillReport(mem, drillReportFor(newer!, new Date('2026-11-22T07:00:00Z'), false));
    const cache = createCatalogCache({ jobs: [{ name: 'app', storage: mem }] });
    const cat = await cache.refresh('app');
    assert.equal(cat.backups[0]!.drill!.result, 'passed');
    assert.equal(cat.backups[0]!.drill!.restoreMs, 2000);
    assert.deepEqual(
      { ...cat.lastDrill, rpoSeconds: undefined },
      {
        backupId: newer!.id,
        at: '2026-11-22T07:00:00.000Z',
        ok: false,
        result: 'failed',
        outcome: 'FAILED: restore FAILED',
        restoreMs: null,
        rtoSeconds: null,
        rpoSeconds: undefined,
      },
    );
  });

  it('refreshes every job periodically until stopped; onUpdate sees each refresh', async () => {
    const mem = createMemoryStorage();
    await seedBackups(mem, 'a', 1, now);
    await seedBackups(mem, 'b', 2, now);
    const wakers: Array<() => void> = [];
    const clock: Clock = {
      now: () => new Date(NOW),
      sleep: (_ms, signal) =>
        new Promise((resolve, reject) => {
          wakers.push(resolve);
          signal?.addEventListener('abort', () => reject(signal.reason));
        }),
    };
    const updates: string[] = [];
    const cache = createCatalogCache({
      jobs: [
        { name: 'a', storage: mem },
        { name: 'b', storage: mem },
      ],
      clock,
      intervalMs: 1000,
      onUpdate: (c) => updates.push(`${c.job}:${c.backups.length}`),
    });
    cache.start();
    cache.start(); // idempotent
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(updates, [], 'waits one interval first');
    wakers.shift()!();
    while (updates.length < 2) await new Promise((r) => setImmediate(r));
    assert.deepEqual(updates.sort(), ['a:1', 'b:2']);
    await cache.stop();
    assert.equal(cache.get('b')!.backups.length, 2);
    await assert.rejects(cache.refresh('ghost'), /no job named "ghost"/);
  });
});
