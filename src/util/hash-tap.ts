/**
 * A pass-through stage that counts bytes and computes their SHA-256 on the way, so an artifact's
 * checksum is known the moment its last byte is stored, with no second read.
 */
import { createHash } from 'node:crypto';

export interface Tap {
  size: number;
  sha256(): string;
  through(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array>;
}

export function createTap(onBytes?: (total: number) => void): Tap {
  const hash = createHash('sha256');
  let digest: string | undefined;
  const tap: Tap = {
    size: 0,
    sha256: () => (digest ??= hash.digest('hex')),
    async *through(source) {
      for await (const chunk of source) {
        hash.update(chunk);
        tap.size += chunk.length;
        onBytes?.(tap.size);
        yield chunk;
      }
    },
  };
  return tap;
}

/** Hashes a whole stream; resolves with its size and hex digest. */
export async function hashStream(source: AsyncIterable<Uint8Array>, onBytes?: (total: number) => void) {
  const tap = createTap(onBytes);
  for await (const _ of tap.through(source)) {
    // consumed for the hash only
  }
  return { size: tap.size, sha256: tap.sha256() };
}
