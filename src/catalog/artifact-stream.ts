/**
 * A stored artifact's bytes on their way back out, decoded by its backup's codec chain (decrypt,
 * decompress): as a stream, into a file, or into a restore program's stdin. Every source kind's
 * restore reads its artifacts through here. From a local storage the first decoder reads the file
 * itself, and into a program the last decoder's output goes through an OS pipe, so the bytes
 * never pass through JavaScript — unless they must be counted or checked (`expected`).
 */
import { createWriteStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startDecoders, type CodecChain } from '../codecs/chain.js';
import type { Storage } from '../storages/storage.js';
import { startChild } from '../util/child.js';
import { isLifeboatError, LifeboatError } from '../util/errors.js';
import { fileChunks, writeEach } from '../util/file-chunks.js';
import { createTap, type Tap } from '../util/hash-tap.js';

/**
 * What the stored bytes must hash to (the manifest's record). Given, the bytes are read through
 * Lifeboat and checked as they stream, so a restore never reports success for bytes other than
 * the ones the checksum pass (and a signature) vouched for, even if the object changed in
 * between. Without it, a decoder reads a local file itself.
 */
export interface ExpectedBytes {
  size: number;
  sha256: string;
}

/** Throws an integrity error when the bytes that went through `tap` are not the `expected` ones. */
function checkStreamed(key: string, tap: Tap, expected: ExpectedBytes | undefined): void {
  if (!expected) return;
  if (tap.size === expected.size && tap.sha256() === expected.sha256) return;
  throw new LifeboatError(
    'integrity',
    `restore: ${key} changed while it was read (size ${tap.size}, sha256 ${tap.sha256()}; the manifest says size ${expected.size}, sha256 ${expected.sha256})`,
    { hint: 'the restore is not good: something rewrote the stored object during it; restore again' },
  );
}

/** `stored` (the bytes at `key`) through a tap, checked against `expected` once they have all gone by. */
async function* checked(
  stored: AsyncIterable<Uint8Array>,
  key: string,
  expected: ExpectedBytes | undefined,
  onBytes?: (read: number) => void,
): AsyncGenerator<Uint8Array> {
  const tap = createTap(onBytes);
  yield* tap.through(stored);
  checkStreamed(key, tap, expected);
}

/**
 * The stored bytes at `key`, to be written into `into`, the stdin of children already running: a
 * local file through one reused buffer (util/file-chunks.ts, a fifth of a read stream's CPU), else
 * the storage's stream. When they cannot be read, `into` is closed and `stop` awaited before the
 * error goes on: the children end (at the end of their input) instead of waiting on it forever.
 */
async function readStored(
  storage: Storage,
  key: string,
  signal: AbortSignal,
  into: Writable,
  stop: () => Promise<unknown>,
): Promise<AsyncIterable<Uint8Array>> {
  try {
    const local = storage.localPath?.(key);
    if (local) {
      try {
        return await fileChunks(local, signal);
      } catch {
        // The storage's own read says what is wrong (no such object …).
      }
    }
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

export interface DecodedArtifact {
  stream: Readable;
  /** Settles once every decoder has exited and the stored bytes are all read; rejects with the first failure. */
  done: Promise<unknown>;
}

/**
 * The artifact at `key`, decoded; read `stream` to the end, then await `done`. With `expected`,
 * `done` also rejects when the stored bytes were not those.
 */
export async function decodeArtifact(
  storage: Storage,
  codecs: CodecChain,
  key: string,
  signal: AbortSignal,
  expected?: ExpectedBytes,
): Promise<DecodedArtifact> {
  const decoders = startDecoders(codecs, signal, expected ? undefined : storage.localPath?.(key));
  if (!decoders) {
    const stored = await storage.get(key, { signal });
    if (!expected) return { stream: stored, done: Promise.resolve() };
    // The check runs as the last byte is read: its error reaches the reader of `stream`.
    return { stream: Readable.from(checked(stored, key, expected)), done: Promise.resolve() };
  }
  const feeds: Array<Promise<unknown>> = [...decoders.stages];
  if (decoders.stdin) {
    const stored = await readStored(storage, key, signal, decoders.stdin, () =>
      stopped(decoders.stdout, decoders.stages),
    );
    feeds.push(writeEach(checked(stored, key, expected), decoders.stdin));
  }
  const done = Promise.all(feeds);
  // Awaited by the caller after the stream; until then a failure must not count as unhandled.
  done.catch(() => {});
  return { stream: decoders.stdout, done };
}

/** Writes the decoded artifact to a new file (created, never overwritten; mode 0600). */
export async function decodeToFile(
  storage: Storage,
  codecs: CodecChain,
  key: string,
  file: string,
  signal: AbortSignal,
  expected?: ExpectedBytes,
): Promise<void> {
  const { stream, done } = await decodeArtifact(storage, codecs, key, signal, expected);
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
  opts: { signal: AbortSignal; onBytes?: (read: number) => void; expected?: ExpectedBytes },
): Promise<void> {
  // Counting or checking bytes needs them in JavaScript: then the stored bytes are read here, not
  // by the decoder.
  const local = storage.localPath?.(key);
  const inJs = Boolean(opts.onBytes || opts.expected);
  const decoders = startDecoders(codecs, opts.signal, local && !inJs ? local : undefined);
  const feeds: Promise<unknown>[] = [];
  const feed = async (into: Writable, stop: () => Promise<unknown>) => {
    const stored = await readStored(storage, key, opts.signal, into, stop);
    feeds.push(writeEach(checked(stored, key, opts.expected, opts.onBytes), into));
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
