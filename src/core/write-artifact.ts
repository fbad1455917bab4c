/**
 * Writes one artifact in one pass: dump → codecs (compress, encrypt) → hash + count → storage put → `.sha256`
 * sidecar. The stream handed to the storage only ends after the dump and every codec stage have
 * exited cleanly, so a failed dump errors the upload instead of committing a short object.
 *
 * writeArtifact owns every process and promise of the artifact: when it returns or throws, the
 * dump and the codec stages have exited and their outcome has been collected, whichever stage
 * failed first (a dump dying while a codec still flushes, or every storage failing while
 * the dump still runs). Nothing is left to reject later with nobody listening.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startEncoders, type CodecChain } from '../codecs/chain.js';
import type { DumpStream } from '../sources/source.js';
import { putText, type Storage } from '../storages/storage.js';
import { fanOut } from '../util/fan-out.js';
import { createTap } from '../util/hash-tap.js';

export interface WrittenArtifact {
  key: string;
  size: number;
  sha256: string;
  raw?: { size: number; sha256: string };
  /** One entry per storage, in the order given: undefined when it stored the artifact, else why not. */
  failures: Array<unknown | undefined>;
}

export interface WriteOptions {
  key: string;
  /** The job's codec stages, in encode order (codecs/chain.ts). */
  codecs: CodecChain;
  /** Every storage gets the same bytes from the one dump. */
  storages: Storage[];
  signal: AbortSignal;
  onBytes?: (stored: number) => void;
}

interface StoredBytes {
  stream: Readable;
  /** Rejects with the first producer failure; resolves when every producer exited cleanly. */
  done: Promise<unknown>;
  /** Settles (never rejects) once every producer has exited. */
  exited: Promise<unknown>;
  /** The producers' own failure, unless it came from being stopped. */
  failure(): unknown;
}

/** Bytes of the stored form; the first codec, if any, reads the dump. */
function storedBytes(
  dump: DumpStream,
  codecs: CodecChain,
  signal: AbortSignal,
  stop: (reason: unknown) => void,
): StoredBytes {
  const stages: Array<Promise<unknown>> = [dump.done];
  let stream = dump.stream;
  const input = dump.fd ?? (dump.osPipe ? dump.stream : 'pipe');
  const encoders = startEncoders(codecs, input, signal);
  if (encoders) {
    stages.push(...encoders.stages);
    // The first encoder holds its own copy of the dump's pipe or file; ours must not read from it
    // or keep it open.
    if (input !== 'pipe') dump.stream.destroy();
    else stages.push(pipeline(dump.stream, encoders.stdin!, { signal }));
    stream = encoders.stdout;
  }
  const done = Promise.all(stages);
  // Owned: awaited after the last byte, and `exited` is awaited on every path. Until then a stage
  // may fail (the dump exits while a codec still flushes) with no await attached yet; the
  // first failure stops the other stages (no use compressing the rest of a failed dump) and is
  // the one `done` reports.
  let failure: unknown;
  done.catch((err: unknown) => {
    if (!signal.aborted) failure = err;
    stop(err);
  });
  return { stream, done, exited: Promise.allSettled(stages), failure: () => failure };
}

export async function writeArtifact(
  open: (signal: AbortSignal) => Promise<DumpStream>,
  opts: WriteOptions,
): Promise<WrittenArtifact> {
  // The artifact's producers stop with the run, or as soon as no storage is left to take the bytes.
  const stop = new AbortController();
  const signal = AbortSignal.any([opts.signal, stop.signal]);
  const dump = await open(signal);
  let producers: StoredBytes;
  try {
    producers = storedBytes(dump, opts.codecs, signal, (reason) => stop.abort(reason));
  } catch (err) {
    stop.abort(err);
    dump.stream.destroy();
    await dump.done.catch(() => {});
    throw err;
  }
  const { stream, done, exited, failure } = producers;
  const tap = createTap(opts.onBytes);
  async function* untilProducersExit() {
    yield* tap.through(stream);
    // Only a clean exit of every producer lets the storage commit the object.
    await done;
  }
  const sidecar = () => `${tap.sha256()}  ${path.posix.basename(opts.key)}\n`;
  let settled: PromiseSettledResult<void>[];
  try {
    settled = await fanOut(
      untilProducersExit(),
      opts.storages.map((storage) => async (body: AsyncIterable<Uint8Array>) => {
        await storage.put(opts.key, body, { signal });
        // `sha256sum -c` format, naming the artifact by its bare file name (SPEC §3). An artifact
        // whose sidecar fails is not stored: the run removes it with the rest of what it wrote to
        // that storage (core/backup.ts, discard), so every retry on a full disk leaves nothing.
        await putText(storage, `${opts.key}.sha256`, sidecar(), { signal });
      }),
    );
  } finally {
    // Every storage gave up before the last byte: stop the producers instead of leaving them
    // blocked on a pipe nobody reads, then collect their exit.
    stop.abort(new Error('no storage left to take the artifact'));
    stream.destroy();
    await exited;
  }
  // A failed dump is why every storage that did not finish failed, whatever each one saw of it
  // (its error, or a stream closed early): the failures name the real cause.
  return {
    key: opts.key,
    size: tap.size,
    sha256: tap.sha256(),
    raw: dump.raw?.(),
    failures: settled.map((s) => (s.status === 'rejected' ? (failure() ?? s.reason) : undefined)),
  };
}
