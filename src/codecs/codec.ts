/**
 * A codec is one stage of the stored form of an artifact (compression, encryption): a name, the
 * file extension it adds, and the programs that encode and decode it. Each runs as a child
 * process reading stdin (or a file) and writing stdout, so the bulk of the bytes moves between
 * processes through OS pipes and never through JavaScript (DESIGN.md, performance). The exception
 * is `encodeInProcess`, for a bucket's blobs: thousands of small inputs whose bytes pass through
 * this process anyway, where a child per input costs more to start than the work.
 */
import type { Transform } from 'node:stream';
import type { LifeboatError } from '../util/errors.js';

export interface CodecCommand {
  command: string;
  args: string[];
  /** Short name for messages, e.g. "zstd -d". */
  label: string;
  /** stderr lines that say what went wrong (and mean failure even on exit 0). */
  fatal?: RegExp;
}

export interface Codec {
  name: string;
  /** What the stage adds to the artifact's file name, e.g. ".zst". */
  extension: string;
  /** Reads the plain bytes on stdin, writes the encoded bytes on stdout. */
  encode(): CodecCommand;
  /**
   * The same encoding done in this process (node:zlib), or undefined where this Node lacks it: for
   * many small inputs (a bucket's blobs), where starting a child costs more than the work.
   * `size`, when known, is the input's exact length (zstd then sizes its window to it).
   */
  encodeInProcess?(size?: number): Transform | undefined;
  /** Reads `file` when given (a local artifact), else stdin; writes the decoded bytes on stdout. */
  decode(file?: string): CodecCommand;
  /** The decode command as a person types it, for by-hand restore instructions ("zstd -dc"). */
  byHand: string;
  /**
   * The decoder checks the bytes cryptographically (age): corruption ends it with an error, so a
   * restore runs it over the whole artifact before anything reaches the target.
   */
  authenticates?: boolean;
  /** Why decoding cannot even start (no identity configured), checked before anything is read. */
  decodeProblem?(): LifeboatError | undefined;
  /** Turns a failed decode into the error the operator should see (e.g. "decrypt FAILED: …"). */
  decodeError?(err: LifeboatError, stderr: string[]): LifeboatError;
  /** A decodeError that only says the input stopped early (a check fed the decoder a prefix). */
  cutShort?(err: LifeboatError): boolean;
}
