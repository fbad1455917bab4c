/**
 * Pure logic of the bucket listing's lookahead (src/sources/bucket/list-ahead.ts): objects come out
 * in key order, each captured exactly once, excluded ones never; a large object late in the
 * listing starts before the window reaches it, the largest first, and no more than EARLY_LARGE of
 * them at once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ListedObject } from '../src/sources/bucket/bucket-client.js';
import { EARLY_LARGE, listAhead } from '../src/sources/bucket/list-ahead.js';
import { BytePool, classOf } from '../src/util/byte-pool.js';

function objects(sizes: number[]): ListedObject[] {
  return sizes.map((size, i) => ({
    key: `k/${String(i).padStart(4, '0')}`,
    size,
    etag: `"${i}"`,
    lastModified: new Date(0),
  }));
}

async function* listing(list: ListedObject[]) {
  for (const o of list) {
    await Promise.resolve();
    yield o;
  }
}

/**
 * A lookahead over `list` (every object kept; over 100 bytes is large) whose captures record their
 * start in `started` and take 20 ms when large.
 */
function recordingAhead(list: ListedObject[], started: string[]) {
  return listAhead(listing(list), {
    keep: () => true,
    large: (o) => o.size > 100,
    capture: async (o) => {
      started.push(o.key);
      await new Promise((r) => setTimeout(r, o.size > 100 ? 20 : 0));
      return o.key;
    },
  });
}

describe('bucket listing lookahead', () => {
  test('key order, one capture each, large objects early and at most EARLY_LARGE at once', async () => {
    // 50 small objects, then two large ones last in key order, and an excluded one.
    const list = objects([...Array.from({ length: 50 }, () => 10), 1000, 1000, 5]);
    const started: string[] = [];
    let largeRunning = 0;
    let maxLargeRunning = 0;
    const ahead = listAhead(listing(list), {
      keep: (o) => o.size !== 5,
      large: (o) => o.size > 100,
      capture: async (o) => {
        started.push(o.key);
        if (o.size > 100) maxLargeRunning = Math.max(maxLargeRunning, ++largeRunning);
        await new Promise((r) => setTimeout(r, o.size > 100 ? 20 : 0));
        if (o.size > 100) largeRunning--;
        return o.key;
      },
    });
    const order: string[] = [];
    for (let next = await ahead.next(); next; next = await ahead.next()) order.push(await next.entry);
    await ahead.close();

    assert.deepEqual(
      order,
      list.slice(0, 52).map((o) => o.key),
    );
    assert.deepEqual(
      [...started].sort(),
      list.slice(0, 52).map((o) => o.key),
    );
    // The first large object started before the window took the second small one.
    assert.ok(started.indexOf('k/0050') < started.indexOf('k/0001'), started.slice(0, 5).join(' '));
    assert.equal(maxLargeRunning, EARLY_LARGE);
    assert.deepEqual(ahead.started(), []);
  });

  test('of the large objects seen, the largest starts early first (the first of equals in key order)', async () => {
    // 20 small objects, then large ones of 200, 5000, 300 and 5000 bytes.
    const list = objects([...Array.from({ length: 20 }, () => 10), 200, 5000, 300, 5000]);
    const started: string[] = [];
    const ahead = recordingAhead(list, started);
    const order: string[] = [];
    for (let next = await ahead.next(); next; next = await ahead.next()) order.push(await next.entry);
    assert.deepEqual(
      order,
      list.map((o) => o.key),
    );
    // Started before any small one: the whole listing was seen at the first turn.
    assert.equal(started[0], 'k/0021', started.slice(0, 3).join(' '));
    assert.deepEqual([...started].sort(), order);
  });

  test('a large object whose turn comes while another runs early starts in turn, once', async () => {
    const list = objects([10, 1000, 1000, 1000]);
    const started: string[] = [];
    const ahead = recordingAhead(list, started);
    // A window wider than the bucket: every turn comes before the early object is done.
    const entries: Array<Promise<string>> = [];
    for (let next = await ahead.next(); next; next = await ahead.next()) entries.push(next.entry);
    assert.deepEqual(
      await Promise.all(entries),
      list.map((o) => o.key),
    );
    // Asked again once the early one is done: nothing is left to start a second time.
    assert.equal(await ahead.next(), undefined);
    assert.deepEqual(started, ['k/0001', 'k/0000', 'k/0002', 'k/0003']);
    assert.deepEqual(ahead.started(), []);
  });

  test('a failed early capture surfaces in its turn, not as an unhandled rejection', async () => {
    const list = objects([10, 10, 1000]);
    const ahead = listAhead(listing(list), {
      keep: () => true,
      large: (o) => o.size > 100,
      capture: async (o) => {
        if (o.size > 100) throw new Error(`read ${o.key} failed`);
        return o.key;
      },
    });
    const seen: string[] = [];
    await assert.rejects(async () => {
      for (let next = await ahead.next(); next; next = await ahead.next()) seen.push(await next.entry);
    }, /read k\/0002 failed/);
    assert.deepEqual(seen, ['k/0000', 'k/0001']);
  });
});

describe('byte pool', () => {
  test('classes are powers of two from 64 KiB; a given-back buffer is taken again', () => {
    assert.equal(classOf(0), 64 * 1024);
    assert.equal(classOf(64 * 1024 + 1), 128 * 1024);
    assert.equal(classOf(1 << 20), 1 << 20);
    const pool = new BytePool(4 << 20);
    const a = pool.take(1000 * 1000);
    assert.equal(a.length, 1 << 20);
    pool.give(a);
    assert.equal(pool.take(900 * 1000), a);
    assert.notEqual(pool.take(900 * 1000), a);
  });

  test('free buffers are kept up to the cap, and foreign sizes never', () => {
    const pool = new BytePool(2 << 20);
    const [a, b, c] = [pool.take(1 << 20), pool.take(1 << 20), pool.take(1 << 20)];
    pool.give(a);
    pool.give(b);
    pool.give(c); // over the cap: let go
    pool.give(Buffer.alloc(1000)); // not a class size: never kept
    const again = [pool.take(1 << 20), pool.take(1 << 20), pool.take(1 << 20)];
    assert.deepEqual(
      again.map((x) => x === a || x === b),
      [true, true, false],
    );
    assert.notEqual(pool.take(1000).length, 1000);
  });
});
