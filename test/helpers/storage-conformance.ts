/**
 * A conformance suite for the Storage interface (src/storages/storage.ts). Every backend (local
 * directory, S3, in-memory) runs the same tests:
 *
 *   storageConformance('local', async () => ({ storage, cleanup, rawEntries }));
 *
 * `makeStorage` is called once per test and must return an empty storage; `cleanup` runs after the
 * test, pass or fail. `rawEntries`, when given, lists everything in the backing store as the backend
 * sees it (including temp files or incomplete uploads), so tests can check that nothing is left over.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';

import { LifeboatError } from '../../src/util/errors.js';
import { putText, readText, type Storage } from '../../src/storages/storage.js';

export interface StorageFixture {
  storage: Storage;
  cleanup: () => Promise<void>;
  /** Everything in the backing store, temp files and incomplete uploads included. */
  rawEntries?: () => Promise<string[]>;
}

async function listKeys(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of storage.list(prefix)) keys.push(info.key);
  return keys.sort();
}

async function readAll(storage: Storage, key: string): Promise<Buffer> {
  const stream = await storage.get(key);
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<LifeboatError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof LifeboatError, `expected a LifeboatError (${code}), got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected a rejection with code ${code}`);
}

/** Settles `promise` or fails the test after `ms`, so a hang shows as a failure, not a stuck run. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const settled = promise.then(
    (value): PromiseSettledResult<T> => ({ status: 'fulfilled', value }),
    (reason: unknown): PromiseSettledResult<T> => ({ status: 'rejected', reason }),
  );
  const outcome = await Promise.race([settled, timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') assert.fail(`${what}: still pending after ${ms} ms`);
  return outcome;
}

/** Checks that `key` is absent through every read path, and that no leftovers remain. */
async function assertNothingAt(fixture: StorageFixture, key: string, before: string[] = []): Promise<void> {
  const { storage } = fixture;
  assert.equal(await storage.stat(key), undefined, `stat ${key}`);
  await rejectsWithCode(storage.get(key), 'not-found');
  assert.ok(!(await listKeys(storage, '')).includes(key), `list shows ${key}`);
  if (fixture.rawEntries) {
    assert.deepEqual(
      (await fixture.rawEntries()).sort(),
      [...before].sort(),
      'leftovers in the backing store',
    );
  }
}

export function storageConformance(name: string, makeStorage: () => Promise<StorageFixture>): void {
  /** A fresh storage for one test, cleaned up after it. */
  async function fresh(t: TestContext): Promise<StorageFixture> {
    const fixture = await makeStorage();
    t.after(() => fixture.cleanup());
    return fixture;
  }

  describe(`storage conformance: ${name}`, () => {
    test('put then get returns the same bytes; put returns the size', async (t) => {
      const { storage } = await fresh(t);
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const big = randomBytes(3 * 1024 * 1024 + 11);
      async function* chunks(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < big.length; i += 100_000) yield new Uint8Array(big.subarray(i, i + 100_000));
      }
      assert.deepEqual(await storage.put('bytes.bin', [bytes]), { size: 256 });
      assert.deepEqual(await storage.put('dir/sub/big.bin', chunks()), { size: big.length });
      assert.deepEqual(await storage.put('from-readable.bin', Readable.from([bytes, bytes])), { size: 512 });
      assert.deepEqual(await storage.put('empty', []), { size: 0 });
      assert.ok((await readAll(storage, 'bytes.bin')).equals(bytes));
      assert.ok((await readAll(storage, 'dir/sub/big.bin')).equals(big));
      assert.ok((await readAll(storage, 'from-readable.bin')).equals(Buffer.concat([bytes, bytes])));
      assert.equal((await readAll(storage, 'empty')).length, 0);
    });

    test('putText and readText round-trip UTF-8', async (t) => {
      const { storage } = await fresh(t);
      const text = '{"db":"café","price":"5€","emoji":"😀"}\n';
      await putText(storage, '.lifeboat/app/20261122T023000Z.json', text);
      assert.equal(await readText(storage, '.lifeboat/app/20261122T023000Z.json'), text);
    });

    test('stat gives key, size and modification time', async (t) => {
      const { storage } = await fresh(t);
      const before = Date.now();
      await storage.put('a/b/c.sql.zst', [Buffer.alloc(1234, 7)]);
      const info = await storage.stat('a/b/c.sql.zst');
      assert.ok(info);
      assert.equal(info.key, 'a/b/c.sql.zst');
      assert.equal(info.size, 1234);
      assert.ok(info.modified instanceof Date);
      // Allow for coarse timestamps and clock skew between us and a remote store.
      assert.ok(Math.abs(info.modified.getTime() - before) < 10 * 60_000, info.modified.toISOString());
    });

    test('stat and get of a missing key; a "folder" is not an object', async (t) => {
      const { storage } = await fresh(t);
      assert.equal(await storage.stat('nope/missing.sql'), undefined);
      await rejectsWithCode(storage.get('nope/missing.sql'), 'not-found');
      await storage.put('folder/inside.sql', [Buffer.from('x')]);
      assert.equal(await storage.stat('folder'), undefined);
      await rejectsWithCode(storage.get('folder'), 'not-found');
    });

    test('list filters by prefix, as a string prefix (not only folders)', async (t) => {
      const { storage } = await fresh(t);
      const keys = ['a/1.sql', 'a/2.sql', 'a/sub/3.sql', 'ab/4.sql', 'b/5.sql', 'top.txt', 'a.txt'];
      for (const [i, key] of keys.entries()) await storage.put(key, [Buffer.alloc(i + 1, i)]);
      assert.deepEqual(await listKeys(storage, ''), [...keys].sort());
      assert.deepEqual(await listKeys(storage, 'a/'), ['a/1.sql', 'a/2.sql', 'a/sub/3.sql']);
      assert.deepEqual(await listKeys(storage, 'a'), [
        'a.txt',
        'a/1.sql',
        'a/2.sql',
        'a/sub/3.sql',
        'ab/4.sql',
      ]);
      assert.deepEqual(await listKeys(storage, 'a/s'), ['a/sub/3.sql']);
      assert.deepEqual(await listKeys(storage, 'a/sub/3.sql'), ['a/sub/3.sql']);
      assert.deepEqual(await listKeys(storage, 'zzz/'), []);
      assert.deepEqual(await listKeys(storage, 'c'), []);
      const infos: Record<string, number> = {};
      for await (const info of storage.list('')) {
        assert.ok(info.modified instanceof Date);
        infos[info.key] = info.size;
      }
      assert.deepEqual(infos, Object.fromEntries(keys.map((k, i) => [k, i + 1])));
    });

    test('list returns every key past 1000 (paging)', async (t) => {
      const { storage } = await fresh(t);
      const keys = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(4, '0')}.sql`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => storage.put(k, [Buffer.from(k)])));
      }
      await storage.put('other/x.sql', [Buffer.from('x')]);
      const listed = await listKeys(storage, 'many/');
      assert.equal(listed.length, 1100);
      assert.equal(new Set(listed).size, 1100, 'no key listed twice');
      assert.deepEqual(listed, keys);
      assert.equal((await listKeys(storage, '')).length, 1101);
    });

    test('put never overwrites: a second put fails with "exists" and keeps the original', async (t) => {
      const { storage } = await fresh(t);
      await storage.put('app/full.sql', [Buffer.from('original')]);
      const err = await rejectsWithCode(storage.put('app/full.sql', [Buffer.from('replacement')]), 'exists');
      assert.match(err.message, /app\/full\.sql/);
      assert.equal(await readText(storage, 'app/full.sql'), 'original');
      assert.equal((await storage.stat('app/full.sql'))!.size, 'original'.length);
      assert.deepEqual(await listKeys(storage, ''), ['app/full.sql']);
    });

    test('concurrent puts to one key: exactly one wins (when create-only is atomic)', async (t) => {
      const fixture = await fresh(t);
      const { storage } = fixture;
      if (!storage.capabilities.atomicCreateOnly) return t.skip('backend does not claim atomic create-only');
      const bodies = Array.from({ length: 8 }, (_, i) => `writer ${i} `.repeat(10_000));
      const results = await Promise.allSettled(bodies.map((b) => storage.put('race.sql', [Buffer.from(b)])));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(winners.length, 1, `winners: ${winners.join(', ')}`);
      for (const r of results) {
        if (r.status === 'rejected') {
          assert.ok(r.reason instanceof LifeboatError && r.reason.code === 'exists', String(r.reason));
        }
      }
      assert.equal(await readText(storage, 'race.sql'), bodies[winners[0]!]);
      if (fixture.rawEntries) assert.deepEqual(await fixture.rawEntries(), ['race.sql']);
    });

    test('a body that errors midway leaves nothing behind', async (t) => {
      const fixture = await fresh(t);
      const { storage } = fixture;
      await storage.put('keep/me.sql', [Buffer.from('kept')]);
      const before = fixture.rawEntries ? await fixture.rawEntries() : [];
      const broken = new Error('pg_dump died');
      async function* body(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 8; i++) yield randomBytes(256 * 1024);
        throw broken;
      }
      const outcome = await within(storage.put('app/broken.sql', body()), 10_000, 'put with a failing body');
      assert.equal(outcome.status, 'rejected', 'put must fail when its body fails');
      await assertNothingAt(fixture, 'app/broken.sql', before);
      assert.equal(await readText(storage, 'keep/me.sql'), 'kept');
    });

    test('a body that fails before its first chunk leaves nothing behind', async (t) => {
      const fixture = await fresh(t);
      // eslint-disable-next-line require-yield
      async function* body(): AsyncGenerator<Uint8Array> {
        throw new Error('could not start');
      }
      const outcome = await within(fixture.storage.put('app/never.sql', body()), 10_000, 'put');
      assert.equal(outcome.status, 'rejected');
      await sleep(50); // a file opened late would show up now
      await assertNothingAt(fixture, 'app/never.sql');
    });

    test('a put aborted midway leaves nothing behind', async (t) => {
      const fixture = await fresh(t);
      const { storage } = fixture;
      const controller = new AbortController();
      let produced = 0;
      async function* endless(): AsyncGenerator<Uint8Array> {
        for (;;) {
          yield randomBytes(64 * 1024);
          produced++;
          if (produced === 10) controller.abort();
          await sleep(2);
        }
      }
      const outcome = await within(
        storage.put('app/aborted.sql', endless(), { signal: controller.signal }),
        10_000,
        'aborted put',
      );
      assert.equal(outcome.status, 'rejected');
      assert.ok(produced >= 10);
      await assertNothingAt(fixture, 'app/aborted.sql');
    });

    test('a put aborted while its body is stalled settles and leaves nothing behind', async (t) => {
      const fixture = await fresh(t);
      const { storage } = fixture;
      const controller = new AbortController();
      // A source that has stopped producing (a dump blocked on a lock, a dead network peer).
      async function* stalled(): AsyncGenerator<Uint8Array> {
        yield randomBytes(64 * 1024);
        setTimeout(() => controller.abort(), 50);
        await new Promise(() => {});
      }
      const outcome = await within(
        storage.put('app/stalled.sql', stalled(), { signal: controller.signal }),
        3_000,
        'put aborted while the body is stalled',
      );
      assert.equal(outcome.status, 'rejected');
      await assertNothingAt(fixture, 'app/stalled.sql');
    });

    test('a put with an already-aborted signal stores nothing', async (t) => {
      const fixture = await fresh(t);
      const controller = new AbortController();
      controller.abort();
      const outcome = await within(
        fixture.storage.put('app/never.sql', [Buffer.from('x')], { signal: controller.signal }),
        5_000,
        'put with an aborted signal',
      );
      assert.equal(outcome.status, 'rejected');
      await assertNothingAt(fixture, 'app/never.sql');
    });

    test('delete removes an object, is idempotent, and frees the key', async (t) => {
      const fixture = await fresh(t);
      const { storage } = fixture;
      await storage.put('app/x.sql', [Buffer.from('one')]);
      await storage.put('app/y.sql', [Buffer.from('other')]);
      await storage.delete('app/x.sql');
      await assertNothingAt(fixture, 'app/x.sql', fixture.rawEntries ? ['app/y.sql'] : []);
      await storage.delete('app/x.sql');
      await storage.delete('never/existed.sql');
      assert.deepEqual(await listKeys(storage, ''), ['app/y.sql']);
      await storage.put('app/x.sql', [Buffer.from('two')]);
      assert.equal(await readText(storage, 'app/x.sql'), 'two');
    });

    test('keys with %-encoded and punctuation characters round-trip', async (t) => {
      const { storage } = await fresh(t);
      const keys = [
        'app/we%22ird%20db/20261122T023000Z-2.sql.zst',
        'app/caf%C3%A9/x=1,y+2@z~.dump',
        '.lifeboat/app/20261122T023000Z.json',
      ];
      for (const key of keys) await putText(storage, key, key);
      assert.deepEqual(await listKeys(storage, ''), [...keys].sort());
      for (const key of keys) assert.equal(await readText(storage, key), key);
      assert.deepEqual(await listKeys(storage, 'app/we%22'), [keys[0]]);
    });

    test('replace swaps a small object in place (the job lock refreshes this way), no leftovers', async (t) => {
      const fixture = await fresh(t);
      const { storage } = fixture;
      assert.ok(storage.replace, `${name} has replace`);
      await putText(storage, '.lifeboat/app/lock.json', '{"expires":"one"}');
      await storage.replace('.lifeboat/app/lock.json', Buffer.from('{"expires":"two, longer"}'));
      assert.equal(await readText(storage, '.lifeboat/app/lock.json'), '{"expires":"two, longer"}');
      // Also creates a missing object (a lock removed meanwhile is the caller's to detect).
      await storage.replace('.lifeboat/other/lock.json', Buffer.from('x'));
      assert.deepEqual(await listKeys(storage, ''), ['.lifeboat/app/lock.json', '.lifeboat/other/lock.json']);
      if (fixture.rawEntries)
        assert.deepEqual((await fixture.rawEntries()).sort(), [
          '.lifeboat/app/lock.json',
          '.lifeboat/other/lock.json',
        ]);
    });
  });
}
