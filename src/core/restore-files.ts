/**
 * Restores the file-shaped sources: an SQLite source to a path (each database written to a temp file
 * beside its target, integrity-checked, then renamed over it), a files source into a directory
 * (GNU tar extracts; Lifeboat reads the archive on its way in and refuses any member that would land
 * outside the directory before tar sees it). Checksums are verified before anything is written.
 */
import { rename, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decodeArtifact, decodeToFile } from '../catalog/artifact-stream.js';
import { codecChain, type CodecKeys } from '../codecs/chain.js';
import type { SourceBackup, TableCount } from '../catalog/manifest.js';
import type { FilesBackup } from '../sources/files/record.js';
import { MemberGuard } from '../sources/files/member-guard.js';
import { TarIndexer, type IndexEntry } from '../sources/files/tar-index.js';
import type { SqliteBackup } from '../sources/sqlite/record.js';
import { checkRestored } from '../sources/sqlite/online-copy.js';
import type { Storage } from '../storages/storage.js';
import { startChild } from '../util/child.js';
import { LifeboatError } from '../util/errors.js';
import { pathExists } from '../util/path-exists.js';
import { writableAgain } from '../util/writable.js';
import { verifyBeforeRestore } from './verify.js';

export interface FileRestoreOptions {
  to: string;
  force?: boolean;
  /** Files source: restore only members matching these globs. */
  paths?: string[];
  /** The copy was verified already (several storages: the intact one was picked). */
  verified?: boolean;
  /** What decrypting an encrypted backup needs (the age identity file). */
  keys?: CodecKeys;
  /** The manifest's signature was checked in this run (see verifyBeforeRestore). */
  signed?: boolean;
  signal: AbortSignal;
  log?: (line: string) => void;
}

export interface FileRestoreResult {
  /** What was written: database paths, or the directory. */
  written: string[];
  /** SQLite: row counts of each restored file, by its name. */
  tables?: Record<string, TableCount[]>;
  /** Files: members extracted. */
  entries?: number;
  durationMs: number;
}

async function verify(storage: Storage, part: SourceBackup, opts: FileRestoreOptions) {
  if (!opts.verified)
    await verifyBeforeRestore(storage, part, {
      signal: opts.signal,
      log: opts.log,
      keys: opts.keys,
      signed: opts.signed,
    });
}

export async function restoreSqlite(
  storage: Storage,
  part: SqliteBackup,
  opts: FileRestoreOptions,
): Promise<FileRestoreResult> {
  const started = Date.now();
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
  await verify(storage, part, opts);
  const tables: Record<string, TableCount[]> = {};
  for (const [i, a] of files.entries()) {
    const target = targets[i]!;
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.lifeboat-tmp`;
    await rm(temp, { force: true });
    try {
      await decodeToFile(storage, codecChain(part, opts.keys), a.key, temp, opts.signal);
      const check = await checkRestored(temp, { signal: opts.signal, what });
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
  return { written: targets, tables, durationMs: Date.now() - started };
}

/**
 * The archive's way into tar: the indexer sees each header before the chunk holding it goes on (so
 * a refused member never reaches tar). tar exits once it has read the end-of-archive marker, maybe
 * before the padding after it: that padding is read and dropped, and tar's closed stdin is then no
 * failure (tar's own exit status says whether it extracted everything).
 */
function guardInto(input: Writable, indexer: TarIndexer): Writable {
  let closed = false;
  input.on('error', () => {});
  input.once('close', () => (closed = true));
  return new Writable({
    write(chunk: Buffer, _enc, callback) {
      const padding = indexer.complete;
      try {
        indexer.write(chunk);
      } catch (err) {
        return callback(err as Error);
      }
      if (padding || closed) return callback();
      if (input.write(chunk)) callback();
      else void writableAgain(input).then(() => callback());
    },
    final(callback) {
      input.end();
      callback();
    },
  });
}

export async function restoreFiles(
  storage: Storage,
  part: FilesBackup,
  opts: FileRestoreOptions,
): Promise<FileRestoreResult> {
  const started = Date.now();
  const what = `restore ${part.job} ${part.id} source ${part.name}`;
  const archive = part.artifacts.find((a) => a.role === 'file');
  if (!archive) throw new LifeboatError('integrity', `${what}: the backup holds no archive`);
  if (await pathExists(opts.to)) {
    if (!(await stat(opts.to)).isDirectory())
      throw new LifeboatError('usage', `${what}: ${opts.to} is not a directory`);
    if ((await readdir(opts.to)).length > 0 && !opts.force)
      throw new LifeboatError('exists', `${what}: ${opts.to} is not empty`, {
        hint: '--force extracts over what is there',
      });
  }
  await verify(storage, part, opts);
  await mkdir(opts.to, { recursive: true });
  let entries = 0;
  const guard = new MemberGuard();
  const indexer = new TarIndexer(
    () => entries++,
    (e: IndexEntry) => {
      const why = guard.check(e);
      if (why)
        throw new LifeboatError(
          'integrity',
          `${what}: refusing archive member ${JSON.stringify(e.path)}: ${why}`,
        );
    },
  );
  const patterns = (opts.paths ?? []).map((p) => p.replace(/^\/+/, ''));
  const tar = startChild(
    'tar',
    [
      '-x',
      '-f',
      '-',
      '-C',
      opts.to,
      '--delay-directory-restore',
      ...(patterns.length ? ['--wildcards', '--', ...patterns] : []),
    ],
    { label: 'tar -x', stdin: 'pipe', signal: opts.signal },
  );
  const { stream, done } = await decodeArtifact(
    storage,
    codecChain(part, opts.keys),
    archive.key,
    opts.signal,
  );
  const fed = pipeline(stream, guardInto(tar.stdin!, indexer));
  // A refused member stops the archive there: tar sees its input end and stops too.
  fed.catch(() => tar.stdin!.destroy());
  const settled = await Promise.allSettled([fed, done, tar.done]);
  const failure = settled.find((s) => s.status === 'rejected');
  if (failure) {
    const reason = (failure as PromiseRejectedResult).reason;
    const guardErr = settled[0]!.status === 'rejected' ? settled[0].reason : undefined;
    throw guardErr instanceof LifeboatError ? guardErr : reason;
  }
  indexer.end(what);
  opts.log?.('restore OK');
  return { written: [opts.to], entries, durationMs: Date.now() - started };
}
