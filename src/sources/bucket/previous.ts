/**
 * Change detection: the index of the job's newest backup of this source, as a map from key to
 * entry. An object listed with the same size, ETag and last-modified as there is not read again;
 * its entry (hash, blob, metadata) carries over. Only a backup committed in every storage of the
 * job counts, so that each storage holds every blob the entry names; when there is none, or its
 * index cannot be read (an encrypted job without its identity), every object is read and hashed,
 * and blobs the storages already hold are still not copied again.
 */
import { listBackups } from '../../catalog/catalog.js';
import { manifestKey } from '../../catalog/layout.js';
import { decodeArtifact } from '../../catalog/artifact-stream.js';
import { codecChain } from '../../codecs/chain.js';
import { oneLine } from '../../util/errors.js';
import type { PlanContext } from '../source.js';
import { readIndex, type IndexEntry } from './index-file.js';
import type { BucketSourceRecord } from './record.js';

export interface Previous {
  id: string;
  entries: Map<string, IndexEntry>;
}

export async function previousIndex(
  ctx: PlanContext,
  where: { bucket: string; endpoint?: string },
  signal: AbortSignal,
): Promise<Previous | undefined> {
  const [first, ...others] = ctx.storages;
  if (!first) return undefined;
  const { manifests } = await listBackups(first, ctx.job, signal);
  const m = manifests
    .filter((x) => {
      const r = x.sources[ctx.source] as BucketSourceRecord | undefined;
      return r?.kind === 'bucket' && r.bucket === where.bucket && r.endpoint === where.endpoint;
    })
    .at(-1);
  const artifact = m?.artifacts.find((a) => a.source === ctx.source && a.role === 'index');
  if (!m || !artifact) return undefined;
  for (const s of others) if (!(await s.stat(manifestKey(ctx.job, m.id), { signal }))) return undefined;
  const entries = new Map<string, IndexEntry>();
  try {
    const { stream, done } = await decodeArtifact(first, codecChain(m, ctx.keys), artifact.key, signal);
    for await (const e of readIndex(stream, `read index ${artifact.key}`)) entries.set(e.key, e);
    await done;
  } catch (err) {
    if (signal.aborted) throw err;
    ctx.warn?.(
      `backup ${ctx.job} source ${ctx.source}: every object is read again, the index of ${m.id} could not be read (${oneLine(err)})`,
    );
    return undefined;
  }
  return { id: m.id, entries };
}
