/**
 * Feeds one stored artifact into a restore program (psql or pg_restore): storage → decompress →
 * client. From a local storage the decompressor reads the file itself and hands its output to the
 * client through an OS pipe, so the bytes never pass through JavaScript.
 */
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { startDecompressor, type CompressionType } from '../codecs/compression.js';
import type { Storage } from '../storages/storage.js';
import { startChild } from '../util/child.js';
import { createTap } from '../util/hash-tap.js';

export interface ClientCommand {
  path: string;
  /** Arguments; the artifact is read from stdin. */
  args: string[];
  env: NodeJS.ProcessEnv;
  label: string;
}

export const CLIENT_FATAL = /^psql:.*(ERROR|FATAL):|^pg_restore: error:|^FATAL:/;

export async function streamIntoClient(
  storage: Storage,
  key: string,
  compression: CompressionType,
  client: ClientCommand,
  opts: { signal: AbortSignal; onBytes?: (read: number) => void },
): Promise<void> {
  const local = storage.localPath?.(key);
  const decompressor =
    local && !opts.onBytes
      ? startDecompressor(compression, opts.signal, local)
      : startDecompressor(compression, opts.signal);
  const waits: Promise<unknown>[] = [];
  let clientInput: Readable | 'pipe';
  if (decompressor) {
    if (decompressor.stdin) {
      const tap = createTap(opts.onBytes);
      waits.push(
        pipeline(await storage.get(key, { signal: opts.signal }), tap.through, decompressor.stdin, {
          signal: opts.signal,
        }),
      );
    }
    clientInput = decompressor.stdout!;
    waits.push(decompressor.done);
  } else {
    clientInput = 'pipe';
  }
  const child = startChild(client.path, client.args, {
    label: client.label,
    env: client.env,
    stdin: clientInput,
    stdout: 'ignore',
    signal: opts.signal,
    fatal: CLIENT_FATAL,
  });
  if (decompressor) decompressor.stdout!.destroy();
  else {
    const tap = createTap(opts.onBytes);
    waits.push(
      pipeline(await storage.get(key, { signal: opts.signal }), tap.through, child.stdin!, {
        signal: opts.signal,
      }),
    );
  }
  waits.push(child.done);
  waits.forEach((w) => w.catch(() => {}));
  // The client's own error is the useful one; a decompressor killed by a broken pipe is a symptom.
  await child.done;
  await Promise.all(waits);
}
