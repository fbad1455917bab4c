/**
 * Reading a local file through Node with one reused buffer. A read stream allocates a fresh
 * buffer per chunk: for a 35 MB artifact that was 0.35–0.45 s of CPU (page faults and garbage
 * collection) against 0.07 s with one buffer, and a checksum pass over a 177 MB dump runs before
 * every restore. The price: a chunk is only valid until the next one is asked for, so a consumer
 * either uses it at once (a hash) or writes it and waits for the write (writeEach).
 */
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';

const CHUNK = 1 << 20;

/**
 * The bytes of `file`, in chunks of one reused buffer (see above). The file is opened before this
 * resolves, so a missing one fails here; the chunks close it when they end or are abandoned.
 */
export async function fileChunks(file: string, signal?: AbortSignal): Promise<AsyncGenerator<Buffer>> {
  const handle = await open(file, 'r');
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      const buffer = Buffer.allocUnsafeSlow(CHUNK);
      for (;;) {
        signal?.throwIfAborted();
        const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
        if (bytesRead === 0) return;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }
  return chunks();
}

/**
 * Writes every chunk of `source` to `into`, each only once the previous one has been handed to the
 * OS (so a reused buffer is never overwritten while queued), then ends `into`. Rejects with the
 * first write error (the reader went away) or the source's own.
 */
export async function writeEach(source: AsyncIterable<Uint8Array>, into: Writable): Promise<void> {
  // Write errors reach the callbacks below; the 'error' event must not crash the process too.
  const ignore = () => {};
  into.on('error', ignore);
  try {
    for await (const chunk of source) {
      await new Promise<void>((resolve, reject) =>
        into.write(chunk, (err) => (err ? reject(err) : resolve())),
      );
    }
    await new Promise<void>((resolve, reject) => {
      into.once('error', reject);
      into.end(() => resolve());
    });
  } catch (err) {
    into.destroy();
    throw err;
  }
}
