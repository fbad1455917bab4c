/** `lifeboat restore … --source NAME --to PATH|DIR` for an SQLite or files source: call, print. */
import type { CodecKeys } from '../../codecs/chain.js';
import type { Manifest } from '../../catalog/manifest.js';
import { restorePlan } from '../../core/restore-source.js';
import type { Storage } from '../../storages/storage.js';
import type { Context } from '../context.js';
import { formatDuration } from '../progress.js';

export async function restoreFileSource(
  ctx: Context,
  storage: Storage,
  manifest: Manifest,
  opts: { source?: string; to: string; force?: boolean; path?: string[]; keys?: CodecKeys; signed?: boolean },
  verified: boolean,
  signal: AbortSignal,
): Promise<number> {
  const { part, run } = restorePlan(manifest, opts.source);
  const log = (line: string) => ctx.output.info(line);
  const what = `${manifest.job} ${manifest.id} source ${part.name}`;
  ctx.output.info(`restore ${what} (${part.source.kind}) from ${storage.location} to ${opts.to}`);
  const result = await run(storage, {
    to: opts.to,
    force: opts.force,
    paths: opts.path,
    verified,
    keys: opts.keys,
    signed: opts.signed,
    signal,
    log,
  });
  const written = result.written ?? [];
  const detail = result.entries !== undefined ? `${result.entries} entries` : written.join(', ');
  ctx.output.result(`restored ${what} to ${opts.to} (${detail}) in ${formatDuration(result.durationMs)}`, {
    job: manifest.job,
    id: manifest.id,
    source: part.name,
    storage: storage.name,
    written,
    ...(result.tables ? { tables: result.tables } : {}),
    ...(result.entries !== undefined ? { entries: result.entries } : {}),
    durationMs: result.durationMs,
  });
  return 0;
}
