/**
 * A stored artifact's bytes on their way back out, decoded by its backup's codec chain (decrypt,
 * decompress): as a stream, into a file, or into a restore program's stdin. Every source kind's
 * restore reads its artifacts through here. From a local storage the first decoder reads the file
 * itself, and into a program the last decoder's output goes through an OS pipe, so the bytes
 * never pass through JavaScript.
 */
import { createWriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startDecoders, type CodecChain } from '../codecs/chain.js';
import type { Storage } from '../storages/storage.js';
import { startChild } from '../util/child.js';
import { isLifeboatError } from '../util/errors.js';
import { createTap } from '../util/hash-tap.js';

export interface DecodedArtifact {
  stream: Readable;
  /** Settles once every decoder has exited and the stored bytes are all read; rejects with the first failure. */
  done: Promise<unknown>;
}

/** The artifact at `key`, decoded; read `stream` to the end, then await `done`. */
export async function decodeArtifact(
  storage: Storage,
  codecs: CodecChain,
  key: string,
  signal: AbortSignal,
): Promise<DecodedArtifact> {
  const decoders = startDecoders(codecs, signal, storage.localPath?.(key));
  if (!decoders) return { stream: await storage.get(key, { signal }), done: Promise.resolve() };
  const feeds: Array<Promise<unknown>> = [...decoders.stages];
  if (decoders.stdin) {
    const stored = await readStored(storage, key, signal, decoders.stdin, () =>
      stopped(decoders.stdout, decoders.stages),
    );
    feeds.push(pipeline(stored, decoders.stdin, { signal }));
  }
  const done = Promise.all(feeds);
  // Awaited by the caller after the stream; until then a failure must not count as unhandled.
  done.catch(() => {});
  return { stream: decoders.stdout, done };
}

/**
 * The stored bytes at `key`, to be piped into `into`, the stdin of children already running. When
 * they cannot be read, `into` is closed and `stop` awaited before the error goes on: the children
 * end (at the end of their input) instead of waiting on it forever.
 */
async function readStored(
  storage: Storage,
  key: string,
  signal: AbortSignal,
  into: Writable,
  stop: () => Promise<unknown>,
): Promise<Readable> {
  try {
    return await storage.get(key, { signal });
  } catch (err) {
    into.destroy();
    await stop();
    throw err;
  }
}

/** Waits for children whose input was closed, their output thrown away; never rejects. */
function stopped(output: Readable | null, done: Array<Promise<unknown>>): Promise<unknown> {
  output?.destroy();
  return Promise.allSettled(done);
}

/** Writes the decoded artifact to a new file (created, never overwritten; mode 0600). */
export async function decodeToFile(
  storage: Storage,
  codecs: CodecChain,
  key: string,
  file: string,
  signal: AbortSignal,
): Promise<void> {
  const { stream, done } = await decodeArtifact(storage, codecs, key, signal);
  await Promise.all([
    pipeline(stream, createWriteStream(file, { flags: 'wx', mode: 0o600 }), { signal }),
    done,
  ]);
}

/** A restore program that reads the artifact on its stdin (psql, pg_restore …). */
export interface ClientCommand {
  path: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  label: string;
  /** Lines on its stderr that fail it even when it exits 0 (see util/child.ts). */
  fatal?: RegExp;
}

/** Feeds the decoded artifact at `key` into `client`'s stdin and waits for all of it to finish. */
export async function streamIntoClient(
  storage: Storage,
  key: string,
  codecs: CodecChain,
  client: ClientCommand,
  opts: { signal: AbortSignal; onBytes?: (read: number) => void },
): Promise<void> {
  // Counting bytes needs them in JavaScript: then the stored bytes are read here, not by the decoder.
  const local = storage.localPath?.(key);
  const decoders = startDecoders(codecs, opts.signal, local && !opts.onBytes ? local : undefined);
  const feeds: Promise<unknown>[] = [];
  const feed = async (into: Writable, stop: () => Promise<unknown>) => {
    const stored = await readStored(storage, key, opts.signal, into, stop);
    const tap = createTap(opts.onBytes);
    feeds.push(pipeline(stored, tap.through, into, { signal: opts.signal }));
  };
  let clientInput: Readable | 'pipe' = 'pipe';
  if (decoders) {
    if (decoders.stdin) await feed(decoders.stdin, () => stopped(decoders.stdout, decoders.stages));
    clientInput = decoders.stdout;
  }
  const child = startChild(client.path, client.args, {
    label: client.label,
    env: client.env,
    stdin: clientInput,
    stdout: 'ignore',
    signal: opts.signal,
    fatal: client.fatal,
  });
  if (decoders) decoders.stdout.destroy();
  else await feed(child.stdin!, () => stopped(null, [child.done]));
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
