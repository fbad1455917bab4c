/**
 * Feeds one stored artifact into a restore program (psql or pg_restore): storage → decoders
 * (decrypt, decompress) → client. From a local storage the first decoder reads the file itself and
 * the last hands its output to the client through an OS pipe, so the bytes never pass through
 * JavaScript.
 */
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { startDecoders, type CodecChain } from '../codecs/chain.js';
import type { Storage } from '../storages/storage.js';
import { startChild } from '../util/child.js';
import { isLifeboatError } from '../util/errors.js';
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
  codecs: CodecChain,
  client: ClientCommand,
  opts: { signal: AbortSignal; onBytes?: (read: number) => void },
): Promise<void> {
  const local = storage.localPath?.(key);
  const decoders = startDecoders(codecs, opts.signal, local && !opts.onBytes ? local : undefined);
  const feeds: Promise<unknown>[] = [];
  const feed = async (into: NodeJS.WritableStream) => {
    const tap = createTap(opts.onBytes);
    feeds.push(
      pipeline(await storage.get(key, { signal: opts.signal }), tap.through, into, { signal: opts.signal }),
    );
  };
  let clientInput: Readable | 'pipe' = 'pipe';
  if (decoders) {
    if (decoders.stdin) await feed(decoders.stdin);
    clientInput = decoders.stdout;
  }
  const child = startChild(client.path, client.args, {
    label: client.label,
    env: client.env,
    stdin: clientInput,
    stdout: 'ignore',
    signal: opts.signal,
    fatal: CLIENT_FATAL,
  });
  if (decoders) decoders.stdout.destroy();
  else await feed(child.stdin!);
  const decoded = decoders?.stages ?? [];
  const settled = await Promise.allSettled([child.done, ...decoded, ...feeds]);
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length === 0) return;
  // A decoder that failed an integrity check (age) says what really happened; otherwise the
  // client's own error is the useful one, and a decoder killed by a broken pipe is a symptom.
  const clientResult = settled[0]!;
  throw (
    failures.find((err) => isLifeboatError(err, 'integrity')) ??
    (clientResult.status === 'rejected' ? clientResult.reason : failures[0])
  );
}
