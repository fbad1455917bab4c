/** `lifeboat restore … --source NAME --to PATH|DIR` for an SQLite or files source: call, print. */
import type { CodecKeys } from '../../codecs/chain.js';
import { chooseSource, type Manifest } from '../../catalog/manifest.js';
import { restoreFiles, restoreSqlite } from '../../core/restore-files.js';
import type { FilesBackup } from '../../sources/files/record.js';
import type { SqliteBackup } from '../../sources/sqlite/record.js';
import type { Storage } from '../../storages/storage.js';
import type { Context } from '../context.js';
import { formatDuration } from '../progress.js';

export const FILE_KINDS = new Set(['sqlite', 'files']);

export async function restoreFileSource(
  ctx: Context,
  storage: Storage,
  manifest: Manifest,
  opts: { source?: string; to: string; force?: boolean; path?: string[]; keys?: CodecKeys; signed?: boolean },
  verified: boolean,
  signal: AbortSignal,
): Promise<number> {
  const part = chooseSource(manifest, opts.source);
  const log = (line: string) => ctx.output.info(line);
  const what = `${manifest.job} ${manifest.id} source ${part.name}`;
  ctx.output.info(`restore ${what} (${part.source.kind}) from ${storage.location} to ${opts.to}`);
  const { keys, signed } = opts;
  const common = { to: opts.to, force: opts.force, verified, keys, signed, signal, log };
  const result =
    part.source.kind === 'sqlite'
      ? await restoreSqlite(storage, part as SqliteBackup, common)
      : await restoreFiles(storage, part as FilesBackup, { ...common, paths: opts.path });
  const detail = result.entries !== undefined ? `${result.entries} entries` : result.written.join(', ');
  ctx.output.result(`restored ${what} to ${opts.to} (${detail}) in ${formatDuration(result.durationMs)}`, {
    job: manifest.job,
    id: manifest.id,
    source: part.name,
    storage: storage.name,
    ...result,
  });
  return 0;
}
