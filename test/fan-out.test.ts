/**
 * Unit tests for streaming one source into several consumers (src/util/fan-out.ts): identical
 * bytes, a failing consumer is dropped without hurting the others, a failing source fails every
 * consumer, and a slow consumer holds the source back instead of letting buffers grow.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { fanOut } from '../src/util/fan-out.js';

/** A source of `count` random chunks of `size` bytes that counts how much has been pulled. */
function countingSource(count: number, size: number) {
  const chunks = Array.from({ length: count }, () => randomBytes(size));
  const state = { pulled: 0, finished: false };
  async function* source(): AsyncGenerator<Uint8Array> {
    for (const chunk of chunks) {
      state.pulled += chunk.length;
      yield chunk;
    }
    state.finished = true;
  }
  const expected = Buffer.concat(chunks);
  return { source: source(), state, expected };
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('fanOut', () => {
  test('every consumer gets identical bytes', async () => {
    const { source, expected } = countingSource(300, 16 * 1024 + 7);
    const results = await fanOut(source, [collect, collect, collect]);
    assert.equal(results.length, 3);
    for (const r of results) {
      assert.equal(r.status, 'fulfilled');
      assert.equal(r.value.length, expected.length);
      assert.equal(sha(r.value), sha(expected));
    }
  });

  test('a single consumer and an empty source', async () => {
    async function* empty(): AsyncGenerator<Uint8Array> {}
    const [r] = await fanOut(empty(), [collect]);
    assert.equal(r!.status, 'fulfilled');
    assert.equal((r as PromiseFulfilledResult<Buffer>).value.length, 0);
  });

  test('a consumer that throws midway is dropped and the others still get everything', async () => {
    const { source, expected, state } = countingSource(200, 32 * 1024);
    const boom = new Error('storage went away');
    let seenByFailing = 0;
    const failing = async (body: AsyncIterable<Uint8Array>) => {
      for await (const chunk of body) {
        seenByFailing += chunk.length;
        if (seenByFailing > 1024 * 1024) throw boom;
      }
      return Buffer.alloc(0);
    };
    const results = await fanOut(source, [collect, failing, collect]);
    assert.equal(results[1]!.status, 'rejected');
    assert.equal((results[1] as PromiseRejectedResult).reason, boom);
    for (const i of [0, 2]) {
      const r = results[i]!;
      assert.equal(r.status, 'fulfilled', `consumer ${i}`);
      assert.equal(sha((r as PromiseFulfilledResult<Buffer>).value), sha(expected), `consumer ${i}`);
    }
    assert.ok(state.finished, 'the source was read to the end');
    assert.ok(seenByFailing < expected.length);
  });

  test('a consumer that fails before reading anything does not stall the others', async () => {
    const { source, expected } = countingSource(100, 64 * 1024);
    const results = await fanOut(source, [
      async () => {
        throw new Error('refused at once');
      },
      collect,
    ]);
    assert.equal(results[0]!.status, 'rejected');
    assert.equal(results[1]!.status, 'fulfilled');
    assert.ok((results[1] as PromiseFulfilledResult<Buffer>).value.equals(expected));
  });

  test('when every consumer fails, the source is not read to the end', async () => {
    const { source, state } = countingSource(1000, 64 * 1024);
    const quitter = async (body: AsyncIterable<Uint8Array>) => {
      for await (const _chunk of body) throw new Error('quit');
    };
    const results = await fanOut(source, [quitter, quitter]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal(state.finished, false);
    assert.ok(state.pulled < 1000 * 64 * 1024);
  });

  test('a source that throws makes every consumer reject with that error', async () => {
    const broken = new Error('pg_dump exited with code 1');
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 20; i++) yield randomBytes(8192);
      throw broken;
    }
    let committed = 0;
    const consumer = async (body: AsyncIterable<Uint8Array>) => {
      const data = await collect(body);
      committed++; // a storage would commit here: it must never be reached
      return data;
    };
    const results = await fanOut(source(), [consumer, consumer, consumer]);
    assert.equal(committed, 0);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.equal((r as PromiseRejectedResult).reason, broken);
    }
  });

  test('a source that throws at once fails every consumer too', async () => {
    const broken = new Error('could not connect');
    // eslint-disable-next-line require-yield
    async function* source(): AsyncGenerator<Uint8Array> {
      throw broken;
    }
    const results = await fanOut(source(), [collect, collect]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.equal((r as PromiseRejectedResult).reason, broken);
    }
  });

  test('backpressure: a slow consumer keeps the source from running far ahead', async () => {
    const chunkSize = 64 * 1024;
    const count = 320; // 20 MiB in all
    const { source, state, expected } = countingSource(count, chunkSize);
    // Each lane may hold its stream buffers (about 1 MiB writable + 1 MiB readable) plus a few
    // chunks in flight; anything near the whole 20 MiB means the buffering is unbounded.
    const bound = 4 * 1024 * 1024;
    let consumed = 0;
    let maxAhead = 0;
    let aheadWhileStalled = 0;
    const slow = async (body: AsyncIterable<Uint8Array>) => {
      // Stall before reading anything: the source must stop soon.
      await sleep(300);
      aheadWhileStalled = state.pulled;
      const parts: Buffer[] = [];
      let n = 0;
      for await (const chunk of body) {
        parts.push(Buffer.from(chunk));
        consumed += chunk.length;
        maxAhead = Math.max(maxAhead, state.pulled - consumed);
        if (++n % 16 === 0) await sleep(5);
      }
      return Buffer.concat(parts);
    };
    const results = await fanOut(source, [collect, slow]);
    for (const r of results) {
      assert.equal(r.status, 'fulfilled');
      assert.ok((r as PromiseFulfilledResult<Buffer>).value.equals(expected));
    }
    assert.ok(aheadWhileStalled > 0, 'the source started');
    assert.ok(
      aheadWhileStalled <= bound,
      `source read ${aheadWhileStalled} bytes while the slow consumer had read none`,
    );
    assert.ok(maxAhead <= bound, `source ran ${maxAhead} bytes ahead of the slow consumer`);
  });
});
