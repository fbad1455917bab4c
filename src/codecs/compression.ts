/**
 * Compression as external stages: zstd and gzip run as child processes so the bulk of the bytes
 * moves between processes through OS pipes and never through JavaScript (DESIGN.md, performance).
 */
import type { Readable } from 'node:stream';
import { startChild, type ChildStage } from '../util/child.js';

export type CompressionType = 'zstd' | 'gzip' | 'none';

export interface Compression {
  type: CompressionType;
  level?: number;
}

export const DEFAULT_LEVEL: Record<Exclude<CompressionType, 'none'>, number> = { zstd: 3, gzip: 6 };

export function compressArgs(c: Compression): [string, string[]] | undefined {
  if (c.type === 'none') return undefined;
  const level = c.level ?? DEFAULT_LEVEL[c.type];
  // -T0: one worker per core; the server's COPY, not zstd, is the bottleneck, so this costs nothing.
  return c.type === 'zstd' ? ['zstd', ['-q', `-${level}`, '-T0', '-c']] : ['gzip', ['-c', `-${level}`]];
}

export function decompressArgs(type: CompressionType, file?: string): [string, string[]] | undefined {
  if (type === 'none') return undefined;
  const args = ['-dc', ...(type === 'zstd' ? ['-q'] : []), ...(file ? ['--', file] : [])];
  return [type === 'zstd' ? 'zstd' : 'gzip', args];
}

/** Detects the compression of a stored artifact from its key (used by one-off restores). */
export function compressionFromKey(key: string): CompressionType {
  const bare = key.replace(/\.age$/, '');
  return bare.endsWith('.zst') ? 'zstd' : bare.endsWith('.gz') ? 'gzip' : 'none';
}

/** Starts a compressor reading `input` (a child's stdout is handed over as an OS pipe). */
export function startCompressor(
  c: Compression,
  input: Readable,
  signal: AbortSignal,
): ChildStage | undefined {
  const cmd = compressArgs(c);
  if (!cmd) return undefined;
  return startChild(cmd[0], cmd[1], { label: cmd[0], stdin: input, signal });
}

/** Starts a decompressor reading a local file, or its stdin when no file is given. */
export function startDecompressor(
  type: CompressionType,
  signal: AbortSignal,
  file?: string,
): ChildStage | undefined {
  const cmd = decompressArgs(type, file);
  if (!cmd) return undefined;
  return startChild(cmd[0], cmd[1], { label: `${cmd[0]} -d`, stdin: file ? 'ignore' : 'pipe', signal });
}
