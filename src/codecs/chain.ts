/**
 * A job's codec chain: compression, then (when configured) encryption. The one place that turns
 * settings (a job's config, or a manifest's record of them) into stages, and that starts them as a
 * row of child processes joined by OS pipes, for backup (encode) and restore (decode).
 */
import { Writable, type Readable } from 'node:stream';
import { isLifeboatError } from '../util/errors.js';
import { startChild } from '../util/child.js';
import { ageCodec, type AgeKeys, type AgeSettings } from './age.js';
import type { Codec } from './codec.js';
import { gzipCodec } from './gzip.js';
import { zstdCodec } from './zstd.js';

export type CompressionType = 'zstd' | 'gzip' | 'none';

export interface Compression {
  type: CompressionType;
  level?: number;
}

/** What a job configures and a manifest records: the chain is rebuilt from either. */
export interface CodecSettings {
  compression: Compression;
  encryption?: AgeSettings | null;
}

/** What decoding needs besides the settings: secrets, which no manifest holds. */
export type CodecKeys = AgeKeys;

export type CodecChain = readonly Codec[];

function compressionCodec(c: Compression): Codec | undefined {
  if (c.type === 'zstd') return zstdCodec(c.level);
  if (c.type === 'gzip') return gzipCodec(c.level);
  return undefined;
}

/** The stages in encode order: compression first, then encryption (ciphertext does not compress). */
export function codecChain(settings: CodecSettings, keys: CodecKeys = {}): CodecChain {
  return [
    compressionCodec(settings.compression),
    settings.encryption ? ageCodec(settings.encryption, keys) : undefined,
  ].filter((c): c is Codec => c !== undefined);
}

/**
 * The chain that decodes what `settings` describe; first throws what keeps it from decoding (a
 * missing identity), so that is reported before anything is read.
 */
export function decodingChain(settings: CodecSettings, keys: CodecKeys = {}): CodecChain {
  const chain = codecChain(settings, keys);
  for (const codec of chain) {
    const problem = codec.decodeProblem?.();
    if (problem) throw problem;
  }
  return chain;
}

/** The extensions the chain adds to an artifact's name, in order: ".zst", ".zst.age". */
export function chainExtension(chain: CodecChain): string {
  return chain.map((c) => c.extension).join('');
}

/** The restore pipeline a person types for `file`: "zstd -dc full.sql.zst", or "cat full.sql". */
export function byHandDecode(chain: CodecChain, file: string): string {
  const steps = [...chain].reverse().map((c) => c.byHand);
  return steps.length ? [`${steps[0]} ${file}`, ...steps.slice(1)].join(' | ') : `cat ${file}`;
}

export interface RunningChain {
  /** Where the first stage reads, unless it was given its input. */
  stdin: Writable | null;
  /** The last stage's output. */
  stdout: Readable;
  /** One per stage; each rejects with the stage's own error. */
  stages: Array<Promise<void>>;
}

/**
 * Starts `commands` as a row of children, each reading the previous one's stdout through an OS
 * pipe. `input` is a Readable handed to the first as its stdin (a child's stdout: an OS pipe),
 * an open file descriptor it reads as its stdin, a file the first stage opens itself ('file'), or
 * 'pipe' for a stdin the caller writes.
 */
function startRow(
  stages: Array<{ codec: Codec; command: ReturnType<Codec['encode']> }>,
  input: Readable | number | 'pipe' | 'file',
  signal: AbortSignal,
  decoding: boolean,
  discard = false,
): RunningChain {
  let stdin: Writable | null = null;
  let previous: Readable | number | 'pipe' | 'ignore' = input === 'file' ? 'ignore' : input;
  const promises: Array<Promise<void>> = [];
  for (const [i, { codec, command }] of stages.entries()) {
    const last = i === stages.length - 1;
    const child = startChild(command.command, command.args, {
      label: command.label,
      stdin: previous,
      stdout: last && discard ? 'ignore' : 'pipe',
      fatal: command.fatal,
      signal,
    });
    if (i === 0) stdin = child.stdin;
    // The next stage holds its own copy of the pipe; ours must not read from it or keep it open.
    if (i > 0) (previous as Readable).destroy();
    const errorOf = codec.decodeError;
    promises.push(
      decoding && errorOf
        ? child.done.catch((err: unknown) => {
            throw isLifeboatError(err) && !isLifeboatError(err, 'aborted')
              ? errorOf(err, child.stderrTail())
              : err;
          })
        : child.done,
    );
    previous = child.stdout ?? 'ignore';
  }
  promises.forEach((p) => p.catch(() => {}));
  return { stdin, stdout: previous as Readable, stages: promises };
}

/** Starts the encoders reading `input`; undefined for an empty chain. */
export function startEncoders(
  chain: CodecChain,
  input: Readable | number | 'pipe',
  signal: AbortSignal,
): RunningChain | undefined {
  if (chain.length === 0) return undefined;
  return startRow(
    chain.map((codec) => ({ codec, command: codec.encode() })),
    input,
    signal,
    false,
  );
}

/**
 * Starts the decoders (last codec first) reading a local `file`, or their stdin when none is
 * given; undefined for an empty chain. `discard`: the output goes to /dev/null (a check that
 * only wants the decoders' verdict) and `stdout` is not usable.
 */
export function startDecoders(
  chain: CodecChain,
  signal: AbortSignal,
  file?: string,
  discard = false,
): RunningChain | undefined {
  if (chain.length === 0) return undefined;
  const stages = [...chain]
    .reverse()
    .map((codec, i) => ({ codec, command: codec.decode(i === 0 ? file : undefined) }));
  return startRow(stages, file ? 'file' : 'pipe', signal, true, discard);
}

/**
 * The decoders that must see a whole artifact before any of it is restored: from the last codec
 * down to the innermost one that authenticates (age), e.g. [age] for zstd+age; empty when none does.
 */
export function authenticatingDecoders(chain: CodecChain): CodecChain {
  const reversed = [...chain].reverse();
  const last = reversed.map((c) => Boolean(c.authenticates)).lastIndexOf(true);
  return reversed.slice(0, last + 1).reverse();
}

/** How much of an artifact the identity check feeds age: its header (a few hundred bytes a recipient). */
export const HEADER_BYTES = 64 * 1024;

/**
 * Checks only that the identity opens each artifact: the authenticating decoders (see above) get
 * its first HEADER_BYTES, and the end of input that follows is no error. For artifacts whose bytes
 * are authenticated otherwise (a signed manifest holding their sha256): the restore then decrypts
 * as it streams, once, instead of in a whole pass before it.
 */
export function startIdentityCheck(chain: CodecChain, signal: AbortSignal): RunningChain | undefined {
  const row = startDecoders(chain, signal, undefined, true);
  if (!row) return undefined;
  const stages = row.stages.map((stage) =>
    stage.catch((err: unknown) => {
      if (!(isLifeboatError(err) && chain.some((c) => c.cutShort?.(err)))) throw err;
    }),
  );
  stages.forEach((p) => p.catch(() => {}));
  return { stdin: headOnly(row.stdin!, HEADER_BYTES), stdout: row.stdout, stages };
}

/** A Writable passing its first `limit` bytes to `into` and dropping the rest; destroying it ends `into`. */
function headOnly(into: Writable, limit: number): Writable {
  let left = limit;
  // A decoder that stopped reading (it had its answer) reports through its own outcome.
  into.on('error', () => {});
  const end = () => {
    if (!into.writableEnded && !into.destroyed) into.end();
  };
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (left > 0 && !into.destroyed) {
        const part = chunk.subarray(0, left);
        left -= part.length;
        // A copy: the caller's buffer may be reused (util/file-chunks.ts); at most `limit` bytes.
        into.write(Buffer.from(part));
        if (left === 0) end();
      }
      callback();
    },
    final(callback) {
      end();
      callback();
    },
    destroy(err, callback) {
      into.destroy();
      callback(err);
    },
  });
}
