/**
 * Restores an SQLite source (its kind's `restore`) to a path: each database is written to a temp
 * file beside its target, integrity-checked, then renamed over it (the old one kept as
 * .lifeboat-old with --force). Every refusal comes first, then the checksums, then the writing.
 */
import { rename, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeToFile } from '../../catalog/artifact-stream.js';
import type { TableCount } from '../../catalog/manifest.js';
import { codecChain } from '../../codecs/chain.js';
import type { Storage } from '../../storages/storage.js';
import { LifeboatError } from '../../util/errors.js';
import { pathExists } from '../../util/path-exists.js';
import type { SourceRestoreOptions, SourceRestoreResult } from '../kind.js';
import { checkRestored } from './online-copy.js';
import type { SqliteBackup } from './record.js';

export async function restoreSqlite(
  storage: Storage,
  part: SqliteBackup,
  opts: SourceRestoreOptions,
): Promise<SourceRestoreResult> {
  const started = Date.now();
  const signal = opts.signal ?? new AbortController().signal;
  const what = `restore ${part.job} ${part.id} source ${part.name}`;
  const files = part.artifacts.filter((a) => a.role === 'file');
  const toIsDir = (await pathExists(opts.to)) && (await stat(opts.to)).isDirectory();
  if (files.length > 1 && !toIsDir) await mkdir(opts.to, { recursive: true });
  const targets = files.map((a) =>
    files.length > 1 || toIsDir ? path.join(opts.to, a.database ?? path.basename(a.key)) : opts.to,
  );
  // Every refusal before anything is written. A leftover -wal beside a target would be replayed
  // into the restored database, so it counts as the old database too.
  for (const t of targets) {
    const old = [t, `${t}-wal`, `${t}-shm`];
    const present = (await Promise.all(old.map(pathExists))).some(Boolean);
    if (present && !opts.force)
      throw new LifeboatError('exists', `${what}: ${t} exists`, {
        hint: `--force replaces it and keeps the old one as ${t}.lifeboat-old`,
      });
  }
  await opts.verify?.();
  const tables: Record<string, TableCount[]> = {};
  for (const [i, a] of files.entries()) {
    const target = targets[i]!;
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.lifeboat-tmp`;
    await rm(temp, { force: true });
    try {
      // A signed manifest vouches for the bytes: the ones decoded are checked against it too.
      await decodeToFile(
        storage,
        codecChain(part, opts.keys),
        a.key,
        temp,
        signal,
        opts.signed ? a : undefined,
      );
      const check = await checkRestored(temp, { signal, what });
      tables[a.database ?? target] = check.tables;
      for (const suffix of ['', '-wal', '-shm'])
        if (await pathExists(target + suffix))
          await rename(target + suffix, `${target}.lifeboat-old${suffix}`);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    opts.log?.(`restored ${target}`);
  }
  opts.log?.('restore OK');
  return {
    databases: files.map((a, i) => a.database ?? targets[i]!),
    createdRoles: [],
    bytes: files.reduce((n, a) => n + a.size, 0),
    written: targets,
    tables,
    durationMs: Date.now() - started,
  };
}
