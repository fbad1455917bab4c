/**
 * An artifact read back decoded (src/catalog/artifact-stream.ts) whose stored object cannot be
 * read: the decoder, or the restore program, already started for it is ended and awaited before
 * the error goes on, not left running and waiting on its input.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { decodeToFile, streamIntoClient } from '../src/catalog/artifact-stream.js';
import { codecChain } from '../src/codecs/chain.js';
import { createMemoryStorage } from '../src/storages/memory.js';

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
