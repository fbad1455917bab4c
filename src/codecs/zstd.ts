/** zstd, the default compression. */
import type { Codec } from './codec.js';

export const ZSTD_DEFAULT_LEVEL = 3;

export function zstdCodec(level = ZSTD_DEFAULT_LEVEL): Codec {
  return {
    name: 'zstd',
    extension: '.zst',
    // -T0: one worker per core; the server's COPY, not zstd, is the bottleneck, so this costs nothing.
    encode: () => ({ command: 'zstd', args: ['-q', `-${level}`, '-T0', '-c'], label: 'zstd' }),
    decode: (file) => ({
      command: 'zstd',
      args: ['-dc', '-q', ...(file ? ['--', file] : [])],
      label: 'zstd -d',
    }),
    byHand: 'zstd -dc',
  };
}
