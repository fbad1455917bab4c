/**
 * The output buffer size of an in-process encoder (node:zlib's `chunkSize`) for an input of known
 * size: a bucket object held in memory (sources/bucket/spool.ts), whose encoded form is copied at
 * once into a pooled buffer. Each output chunk is then garbage as soon as it is handed on, and at
 * 64 KiB it dies in V8's young generation; one buffer the size of the whole blob (~1 MiB) counted
 * against the external-memory limit and brought on full collections (the bench bucket: 41-42 a run,
 * 19 with 64 KiB chunks). zlib's default, 16 KiB, would cost four times the round trips to the
 * thread pool. An input of unknown size keeps zlib's default.
 */
export const OUT_CHUNK = 64 * 1024;

export function outChunkSize(size: number | undefined): number | undefined {
  return size === undefined ? undefined : OUT_CHUNK;
}
