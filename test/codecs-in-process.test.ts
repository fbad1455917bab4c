/**
 * In-process encoding (codecs/in-process.ts), used for a bucket's blobs: what node:zlib writes is
 * what the zstd and gzip programs read back (the README's by-hand restore relies on it), with and
 * without the input's size given, for an empty input, text that compresses and random bytes that do not; and an abort leaves no stage
 * pending. An input of known size comes out in one allocation (a blob's upload takes it without a copy).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import { codecChain } from '../src/codecs/chain.js';
import { encodeStream } from '../src/codecs/in-process.js';
import { OUT_CHUNK } from '../src/codecs/out-chunk.js';
import { handOver, joined } from '../src/storages/s3/parts.js';

async function encode(type: 'zstd' | 'gzip', input: Buffer, size?: number): Promise<Buffer> {
  const { stdout, stages } = encodeStream(
    codecChain({ compression: { type } }),
    Readable.from([input]),
    new AbortController().signal,
    size,
  );
  const chunks: Buffer[] = [];
  for await (const c of stdout) chunks.push(c as Buffer);
  await Promise.all(stages);
  return Buffer.concat(chunks);
}

const inputs = {
  empty: Buffer.alloc(0),
  text: Buffer.from('a line of text that repeats\n'.repeat(10_000)),
  random: randomBytes(3 * 2 ** 20 + 17),
};

describe('in-process encoding', () => {
  for (const [type, program] of [
    ['zstd', 'zstd'],
    ['gzip', 'gzip'],
  ] as const) {
    for (const [name, input] of Object.entries(inputs)) {
      test(`${type}, ${name}: ${program} -dc reads it back`, async () => {
        // With the input's size (zstd records it in the frame) and without.
        for (const size of [input.length, undefined]) {
          const encoded = await encode(type, input, size);
          if (name === 'text') assert.ok(encoded.length < input.length / 10);
          const decoded = execFileSync(program, ['-dc'], { input: encoded, maxBuffer: 2 ** 26 });
          assert.ok(decoded.equals(input));
        }
      });
    }
  }

  test('zstd and gzip encode in this process where node:zlib has them (Node ≥ 22.15 for zstd)', () => {
    const [zstd] = codecChain({ compression: { type: 'zstd' } });
    const [gzip] = codecChain({ compression: { type: 'gzip' } });
    assert.equal(Boolean(zstd!.encodeInProcess?.()), typeof zlib.createZstdCompress === 'function');
    assert.ok(gzip!.encodeInProcess?.());
  });

  test('an input of known size comes out in chunks of at most OUT_CHUNK bytes, decoding to the input', async () => {
    // Random bytes: the encoded form is a little larger than the input, several chunks of it.
    for (const type of ['zstd', 'gzip'] as const) {
      const { stdout, stages } = encodeStream(
        codecChain({ compression: { type } }),
        Readable.from([inputs.random]),
        new AbortController().signal,
        inputs.random.length,
      );
      const chunks: Buffer[] = [];
      for await (const c of stdout) chunks.push(c as Buffer);
      await Promise.all(stages);
      const encoded = Buffer.concat(chunks);
      assert.ok(encoded.length > inputs.random.length);
      assert.ok(chunks.length > 1 && chunks.every((c) => c.length <= OUT_CHUNK), `${type}: chunk sizes`);
      const decoded = type === 'zstd' ? zlib.zstdDecompressSync(encoded) : zlib.gunzipSync(encoded);
      assert.ok(decoded.equals(inputs.random), `${type}: round trip`);
    }
  });

  test('joined() copies chunks that are not adjacent in one handed-over allocation', () => {
    const a = Buffer.alloc(6, 'abcdef'); // not a slice of Node's shared pool
    const parts = [a.subarray(0, 2), a.subarray(3, 6)];
    const j = joined(parts, 5);
    assert.equal(j.toString(), 'abdef');
    assert.notEqual(j.buffer, a.buffer);
    // Adjacent, but not handed over (its producer may reuse it): copied; handed over: a view.
    assert.notEqual(joined([a.subarray(0, 2), a.subarray(2, 6)], 6).buffer, a.buffer);
    handOver(a);
    assert.equal(joined([a.subarray(0, 2), a.subarray(2, 6)], 6).buffer, a.buffer);
    assert.notEqual(joined(parts, 5).buffer, a.buffer);
    assert.equal(joined([], 0).length, 0);
  });

  test('zstd frames carry the content checksum, as the CLI writes them', async () => {
    const encoded = await encode('zstd', inputs.text);
    // Frame header descriptor: bit 2 is the content checksum flag.
    assert.equal(encoded.readUInt32LE(0), 0xfd2fb528);
    assert.equal(encoded[4]! & 0x04, 0x04);
  });

  test('an abort ends every stage', async () => {
    const stop = new AbortController();
    const { stages } = encodeStream(
      codecChain({ compression: { type: 'zstd' } }),
      Readable.from(
        (async function* () {
          yield randomBytes(1024);
          await new Promise(() => {}); // never more
        })(),
      ),
      stop.signal,
    );
    stop.abort(new Error('stop'));
    const settled = await Promise.allSettled(stages);
    assert.ok(settled.every((s) => s.status === 'rejected'));
  });
});
