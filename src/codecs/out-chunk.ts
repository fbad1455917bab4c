/**
 * The output buffer size of an in-process encoder (node:zlib's `chunkSize`). zlib's default, 16 KiB,
 * makes a 1 MiB blob 64+ separate allocations that live until its upload ends and then become
 * garbage at different times, which fragments the C heap (peak RSS of a bucket backup ~240 MB).
 * An input of known size up to `WHOLE_LIMIT` gets one buffer that holds its whole encoded form
 * (the compress bound: incompressible bytes grow by a few bytes per block), so its output is
 * slices of one allocation; larger or unknown inputs get 1 MiB chunks.
 */
const KiB = 1024;
const MiB = 1024 * KiB;
export const WHOLE_LIMIT = 4 * MiB;

export function outChunkSize(size: number | undefined): number | undefined {
  if (size === undefined) return undefined;
  return size <= WHOLE_LIMIT ? size + (size >> 8) + 2 * KiB : MiB;
}
