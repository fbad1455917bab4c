/**
 * Writes one artifact in one pass: dump → compress → hash + count → storage put → `.sha256`
 * sidecar. The stream handed to the storage only ends after the dump and the compressor have both
 * exited cleanly, so a failed dump errors the upload instead of committing a short object.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startCompressor, type Compression } from '../codecs/compression.js';
import { putText, type Storage } from '../storages/storage.js';
import { fanOut } from './fan-out.js';
import { startChild } from '../util/child.js';
import { compressArgs } from '../codecs/compression.js';
import { createTap } from './hash-tap.js';

export interface DumpStream {
  /** The raw dump bytes. */
  stream: Readable;
  /** true when `stream` is a child's stdout that can be handed to the compressor as an OS pipe. */
  osPipe: boolean;
  /** Settles when the producer is finished; rejects if it failed. */
  done: Promise<void>;
  /** Size and SHA-256 of the raw bytes, when they passed through Lifeboat. */
  raw?: () => { size: number; sha256: string };
}

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
  compression: Compression;
  /** Every storage gets the same bytes from the one dump. */
  storages: Storage[];
  signal: AbortSignal;
  onBytes?: (stored: number) => void;
}

/** Bytes of the stored form; the compressor, if any, reads the dump. */
function storedBytes(dump: DumpStream, compression: Compression, signal: AbortSignal) {
  if (compression.type === 'none') return { stream: dump.stream, done: dump.done };
  if (dump.osPipe) {
    const compressor = startCompressor(compression, dump.stream, signal)!;
    // The compressor holds its own copy of the pipe; ours must not read from it or keep it open.
    dump.stream.destroy();
    return { stream: compressor.stdout!, done: Promise.all([dump.done, compressor.done]) };
  }
  const [cmd, args] = compressArgs(compression)!;
  const compressor = startChild(cmd, args, { label: cmd, stdin: 'pipe', signal });
  const feeding = pipeline(dump.stream, compressor.stdin!, { signal });
  feeding.catch(() => {});
  return { stream: compressor.stdout!, done: Promise.all([dump.done, compressor.done, feeding]) };
}

export async function writeArtifact(dump: DumpStream, opts: WriteOptions): Promise<WrittenArtifact> {
  const { stream, done } = storedBytes(dump, opts.compression, opts.signal);
  const tap = createTap(opts.onBytes);
  async function* untilProducersExit() {
    yield* tap.through(stream);
    // Only a clean exit of every producer lets the storage commit the object.
    await done;
  }
  const sidecar = () => `${tap.sha256()}  ${path.posix.basename(opts.key)}\n`;
  const settled = await fanOut(
    untilProducersExit(),
    opts.storages.map((storage) => async (body: AsyncIterable<Uint8Array>) => {
      await storage.put(opts.key, body, { signal: opts.signal });
      // `sha256sum -c` format, naming the artifact by its bare file name (SPEC §3).
      await putText(storage, `${opts.key}.sha256`, sidecar(), { signal: opts.signal });
    }),
  );
  // A failing dump reaches every consumer as its own error, so the failures below name the real cause.
  return {
    key: opts.key,
    size: tap.size,
    sha256: tap.sha256(),
    raw: dump.raw?.(),
    failures: settled.map((s) => (s.status === 'rejected' ? s.reason : undefined)),
  };
}
