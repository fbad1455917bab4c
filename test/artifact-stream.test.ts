/**
 * An artifact read back decoded (src/catalog/artifact-stream.ts) whose stored object cannot be
 * read: the decoder, or the restore program, already started for it is ended and awaited before
 * the error goes on, not left running and waiting on its input. With the bytes a manifest records
 * (`expected`, given for a signed backup), a restore checks the bytes it actually streams, not
 * only those the checksum pass read before: an object rewritten in between fails the restore
 * instead of passing as good.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { test } from 'node:test';
import { decodeArtifact, decodeToFile, streamIntoClient } from '../src/catalog/artifact-stream.js';
import { codecChain } from '../src/codecs/chain.js';
import { createLocalStorage } from '../src/storages/local.js';
import { createMemoryStorage } from '../src/storages/memory.js';
import { isLifeboatError } from '../src/util/errors.js';

/** This process's live children (Linux: those of its main thread, which starts them all). */
const children = () =>
  readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean);

test('a stored object that cannot be read ends the decoder and the restore program started for it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-artifact-stream-'));
  const stop = new AbortController(); // only ends what a failure here would leave running
  const { signal } = stop;
  try {
    const storage = createMemoryStorage();
    const zstd = codecChain({ compression: { type: 'zstd' } });
    const cat = { path: 'cat', args: [], env: process.env, label: 'cat' };
    const before = children();
    const missing = /read app\/gone\.zst: no such object/;

    // restoreParallel's path: decode into a file for pg_restore --jobs.
    await assert.rejects(decodeToFile(storage, zstd, 'app/gone.zst', path.join(dir, 'a'), signal), missing);
    assert.deepEqual(children(), before, 'zstd ended');
    await assert.rejects(streamIntoClient(storage, 'app/gone.zst', zstd, cat, { signal }), missing);
    assert.deepEqual(children(), before, 'zstd ended');
    await assert.rejects(streamIntoClient(storage, 'app/gone.zst', [], cat, { signal }), missing);
    assert.deepEqual(children(), before, 'the restore program ended');
  } finally {
    stop.abort();
    await rm(dir, { recursive: true, force: true });
  }
});

const PLAIN = 'create table t (x int);\n'.repeat(50_000);

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-artifact-stream-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const storage = createLocalStorage({ name: 'local', path: root });
  const stored = execFileSync('zstd', ['-q', '-c'], { input: PLAIN });
  await storage.put('a/full.sql.zst', [stored]);
  await storage.put('a/full.sql', [Buffer.from(PLAIN)]);
  const record = (bytes: Buffer) => ({
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  });
  return { root, storage, zst: record(stored), raw: record(Buffer.from(PLAIN)) };
}

const changed = (err: unknown) =>
  isLifeboatError(err, 'integrity') && /changed while it was read/.test(err.message);
const zstd = codecChain({ compression: { type: 'zstd' } });
const none = codecChain({ compression: { type: 'none' } });

test('streamIntoClient: the streamed bytes match the manifest: the client gets them all', async (t) => {
  const { root, storage, zst } = await setup(t);
  const out = path.join(root, 'out.sql');
  const client = { path: 'sh', args: ['-c', `cat > ${out}`], env: process.env, label: 'cat' };
  const signal = new AbortController().signal;
  await streamIntoClient(storage, 'a/full.sql.zst', zstd, client, { signal, expected: zst });
  assert.equal(await readFile(out, 'utf8'), PLAIN);
});

test('streamIntoClient: bytes other than the manifest says fail the restore (integrity)', async (t) => {
  const { root, storage, zst } = await setup(t);
  const client = {
    path: 'sh',
    args: ['-c', `cat > ${path.join(root, 'out.sql')}`],
    env: process.env,
    label: 'cat',
  };
  const signal = new AbortController().signal;
  const expected = { ...zst, sha256: '0'.repeat(64) };
  await assert.rejects(
    streamIntoClient(storage, 'a/full.sql.zst', zstd, client, { signal, expected }),
    changed,
  );
  // Uncompressed: Lifeboat feeds the client itself, and checks the same way.
  const raw = { size: PLAIN.length, sha256: '0'.repeat(64) };
  await assert.rejects(
    streamIntoClient(storage, 'a/full.sql', none, client, { signal, expected: raw }),
    changed,
  );
});

test('decodeToFile and decodeArtifact check the bytes they read against expected', async (t) => {
  const { root, storage, zst, raw } = await setup(t);
  const signal = new AbortController().signal;
  await decodeToFile(storage, zstd, 'a/full.sql.zst', path.join(root, 'good.sql'), signal, zst);
  assert.equal(await readFile(path.join(root, 'good.sql'), 'utf8'), PLAIN);
  const bad = { ...zst, size: zst.size + 1 };
  await assert.rejects(
    decodeToFile(storage, zstd, 'a/full.sql.zst', path.join(root, 'bad.sql'), signal, bad),
    changed,
  );
  const plain = await decodeArtifact(storage, none, 'a/full.sql', signal, raw);
  assert.equal(await text(plain.stream), PLAIN);
  await plain.done;
  const wrong = await decodeArtifact(storage, none, 'a/full.sql', signal, { ...raw, sha256: 'f'.repeat(64) });
  await assert.rejects(text(wrong.stream), changed);
});
