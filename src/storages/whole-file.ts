/**
 * A body that is a whole local file (a bucket backup's large blob, encoded into a temp file). It is
 * an ordinary stream, so every storage can read it as any body; a storage that can do better reads
 * the file itself instead: S3 sends each multipart part straight from its byte range, so no part is
 * ever held in memory (a bucket backup's peak RSS held three 8 MiB parts per large upload).
 */
import { createReadStream, type ReadStream } from 'node:fs';
import type { Body } from './storage.js';

const PATH = Symbol('lifeboat.wholeFile');

/**
 * Chunks that die young. At 1 MiB they lived long enough to wait for a full collection (a backup of
 * the bench's bucket, whose three 32 MiB objects were read back so: peak RSS 247-254 MB with 1 MiB
 * chunks, 228-248 MB with 64 KiB, three interleaved runs each).
 */
export const FILE_CHUNK = 64 * 1024;

/** `file` as a body; a storage may read the file itself (wholeFileOf) and never read the stream. */
export function wholeFile(file: string): ReadStream {
  return Object.assign(createReadStream(file, { highWaterMark: FILE_CHUNK }), { [PATH]: file });
}

/** The file behind a body made by wholeFile(), else undefined. */
export function wholeFileOf(body: Body): string | undefined {
  return (body as { [PATH]?: string })[PATH];
}
