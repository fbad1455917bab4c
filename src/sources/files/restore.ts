/**
 * Restores a files source (its kind's `restore`) into a directory: GNU tar extracts, and Lifeboat
 * reads the archive on its way in and refuses any member that would land outside the directory
 * before tar sees it. Refusals first (a file where the directory goes, a non-empty directory
 * without --force), then the checksums, then the extraction.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decodeArtifact } from '../../catalog/artifact-stream.js';
import { codecChain } from '../../codecs/chain.js';
import type { Storage } from '../../storages/storage.js';
import { startChild } from '../../util/child.js';
import { LifeboatError } from '../../util/errors.js';
import { pathExists } from '../../util/path-exists.js';
import { writableAgain } from '../../util/writable.js';
import type { SourceRestoreOptions, SourceRestoreResult } from '../kind.js';
import { MemberGuard } from './member-guard.js';
import type { FilesBackup } from './record.js';
import { TarIndexer, type IndexEntry } from './tar-index.js';

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
  opts: SourceRestoreOptions,
): Promise<SourceRestoreResult> {
  const started = Date.now();
  const signal = opts.signal ?? new AbortController().signal;
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
  await opts.verify?.();
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
    { label: 'tar -x', stdin: 'pipe', signal },
  );
  // A signed manifest vouches for the bytes: the ones extracted are checked against it too.
  const { stream, done } = await decodeArtifact(
    storage,
    codecChain(part, opts.keys),
    archive.key,
    signal,
    opts.signed ? archive : undefined,
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
  return {
    databases: [],
    createdRoles: [],
    bytes: archive.size,
    written: [opts.to],
    entries,
    durationMs: Date.now() - started,
  };
}
