/** gzip, for tools and people that expect .gz. */
import zlib from 'node:zlib';
import type { Codec } from './codec.js';
import { outChunkSize } from './out-chunk.js';

export const GZIP_DEFAULT_LEVEL = 6;

export function gzipCodec(level = GZIP_DEFAULT_LEVEL): Codec {
  return {
    name: 'gzip',
    extension: '.gz',
    encode: () => ({ command: 'gzip', args: ['-c', `-${level}`], label: 'gzip' }),
    encodeInProcess: (size) => zlib.createGzip({ level, chunkSize: outChunkSize(size) }),
    decode: (file) => ({ command: 'gzip', args: ['-dc', ...(file ? ['--', file] : [])], label: 'gzip -d' }),
    byHand: 'gzip -dc',
  };
}
