/** zstd, the default compression. */
import zlib from 'node:zlib';
import type { Codec } from './codec.js';
import { outChunkSize } from './out-chunk.js';

export const ZSTD_DEFAULT_LEVEL = 3;

export function zstdCodec(level = ZSTD_DEFAULT_LEVEL): Codec {
  return {
    name: 'zstd',
    extension: '.zst',
    // -T0: one worker per core; the server's COPY, not zstd, is the bottleneck, so this costs nothing.
    encode: () => ({ command: 'zstd', args: ['-q', `-${level}`, '-T0', '-c'], label: 'zstd' }),
    // Node ≥ 22.15 has libzstd; its frames carry the content checksum as the zstd CLI's do.
    encodeInProcess: (size) =>
      typeof zlib.createZstdCompress === 'function'
        ? zlib.createZstdCompress({
            ...(size === undefined ? {} : { pledgedSrcSize: size, chunkSize: outChunkSize(size) }),
            params: {
              [zlib.constants.ZSTD_c_compressionLevel]: level,
              [zlib.constants.ZSTD_c_checksumFlag]: 1,
            },
          })
        : undefined,
    decode: (file) => ({
      command: 'zstd',
      args: ['-dc', '-q', ...(file ? ['--', file] : [])],
      label: 'zstd -d',
    }),
    byHand: 'zstd -dc',
  };
}
