/**
 * The drill of a files source (its kind's `drill`): restore it into a scratch directory, then find
 * every entry of the stored index in the extracted tree with its type, size, mode, link target and
 * SHA-256. The index is read a line at a time, so memory stays flat however many files it names.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { decodeArtifact } from '../../catalog/artifact-stream.js';
import type { CheckResult } from '../../catalog/drill-report.js';
import { codecChain, type CodecKeys } from '../../codecs/chain.js';
import type { Storage } from '../../storages/storage.js';
import { drillInDirectory } from '../dir-drill.js';
import type { SourceDrillContext, SourceDrillResult } from '../kind.js';
import type { FilesBackup } from './record.js';
import { restoreFiles } from './restore.js';
import type { IndexEntry } from './tar-index.js';

export function drillFiles(ctx: SourceDrillContext): Promise<SourceDrillResult> {
  const part = ctx.part as FilesBackup;
  const { signal, log } = ctx;
  return drillInDirectory(ctx, {
    restore: (to) => restoreFiles(ctx.storage, part, { to, verified: true, keys: ctx.keys, signal, log }),
    check: (_restored, to) => filesChecks(ctx.storage, part, to, signal, ctx.keys),
  });
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Why the extracted `abs` does not match its index entry, or undefined. */
async function mismatch(e: IndexEntry, abs: string): Promise<string | undefined> {
  const st = await lstat(abs).catch(() => undefined);
  if (!st) return 'missing';
  const type = e.type === 'hardlink' ? 'file' : e.type;
  const actual = st.isFile()
    ? 'file'
    : st.isDirectory()
      ? 'dir'
      : st.isSymbolicLink()
        ? 'symlink'
        : st.isFIFO()
          ? 'fifo'
          : 'other';
  if (actual !== type) return `a ${actual}, expected a ${type}`;
  if (type === 'symlink') return (await readlink(abs)) === e.link ? undefined : 'symlink target differs';
  if (e.type !== 'hardlink' && (st.mode & 0o7777).toString(8).padStart(4, '0') !== e.mode)
    return `mode ${(st.mode & 0o7777).toString(8)}, expected ${e.mode}`;
  if (e.type === 'file') {
    if (st.size !== e.size) return `size ${st.size}, expected ${e.size}`;
    if ((await sha256File(abs)) !== e.sha256) return 'content differs (sha256)';
  }
  return undefined;
}

async function filesChecks(
  storage: Storage,
  part: FilesBackup,
  root: string,
  signal: AbortSignal,
  keys?: CodecKeys,
): Promise<CheckResult[]> {
  const index = part.artifacts.find((a) => a.role === 'index');
  if (!index)
    return [{ name: 'files match the index', ok: false, expected: 'an index', actual: 'none stored' }];
  const { stream, done } = await decodeArtifact(storage, codecChain(part, keys), index.key, signal);
  let entries = 0;
  let files = 0;
  const bad: string[] = [];
  let badCount = 0;
  // One line at a time: memory stays flat however many files the index names.
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (!line) continue;
    const e = JSON.parse(line) as IndexEntry;
    entries++;
    if (e.type === 'file') files++;
    const why = await mismatch(e, path.join(root, e.path));
    if (why) {
      badCount++;
      if (bad.length < 5) bad.push(`${e.path}: ${why}`);
    }
  }
  await done;
  return [
    {
      name: 'files match the index',
      ok: badCount === 0 && entries > 0,
      expected: `${entries} entries (${files} files) as indexed`,
      actual: badCount === 0 ? `${entries} entries match` : `${badCount} differ`,
      ...(bad.length ? { detail: bad.join('; ') } : {}),
    },
  ];
}
