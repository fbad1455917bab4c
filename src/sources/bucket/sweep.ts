/**
 * Mark and sweep of a job's blobs in one storage, run by prune while it holds the job's lock (so no
 * backup of the job runs meanwhile), after retention removed its backups. Mark: every blob that
 * the index of a committed backup of the job names. Sweep: every other blob older than the grace
 * period. A blob newer than that may belong to a run still writing (or one whose lock was broken)
 * and is never swept. On any doubt — a manifest of the job that cannot be read, an index that
 * cannot be decoded (an encrypted job without its identity) — nothing is swept, and why is said.
 * `prune --dry-run` runs the same mark, leaving out the backups its plan would remove, and removes
 * nothing.
 */
import { listBackups } from '../../catalog/catalog.js';
import { sourceBackup } from '../../catalog/manifest.js';
import type { CodecKeys } from '../../codecs/chain.js';
import type { Storage } from '../../storages/storage.js';
import { oneLine } from '../../util/errors.js';
import { blobPrefix } from './blobs.js';

export interface SweepOutcome {
  /** Blobs removed (a dry run: that would be removed). */
  removed: string[];
  /** Their stored bytes. */
  removedBytes: number;
  /** Blobs a backup references. */
  referenced: number;
  /** Unreferenced blobs kept because they are newer than the grace period. */
  young: number;
  /** Why nothing was swept, when something stopped it. */
  stopped?: string;
}

export async function sweepBlobs(
  storage: Storage,
  job: string,
  opts: {
    now: Date;
    graceMs: number;
    keys?: CodecKeys;
    signal?: AbortSignal;
    /** Only say what would be removed. */
    dryRun?: boolean;
    /** Backups whose blobs are not marked: those a dry run's plan would remove first. */
    without?: ReadonlySet<string>;
  },
): Promise<SweepOutcome> {
  const outcome: SweepOutcome = { removed: [], removedBytes: 0, referenced: 0, young: 0 };
  const blobs = new Map<string, { modified: Date; size: number }>();
  for await (const o of storage.list(blobPrefix(job), { signal: opts.signal })) blobs.set(o.key, o);
  if (blobs.size === 0) return outcome;
  const { manifests, unreadable } = await listBackups(storage, job, opts.signal);
  if (unreadable.length) {
    outcome.stopped = `blobs not swept: ${unreadable[0]!.key} cannot be read, and may name some`;
    return outcome;
  }
  const marked = new Set<string>();
  const signal = opts.signal ?? new AbortController().signal;
  // Loaded only when there are blobs: restore.js brings the AWS SDK, and every prune (and every
  // backup's retention) of every other kind comes through here.
  const { snapshotEntries } = await import('./restore.js');
  for (const m of manifests) {
    if (opts.without?.has(m.id)) continue;
    for (const name of Object.keys(m.sources)) {
      if (m.sources[name]!.kind !== 'bucket') continue;
      try {
        for await (const e of snapshotEntries(storage, sourceBackup(m, name)!, { keys: opts.keys, signal }))
          marked.add(e.blob);
      } catch (err) {
        if (signal.aborted) throw err;
        outcome.stopped = `blobs not swept: the index of ${m.id} source ${name} cannot be read (${oneLine(err)})`;
        return outcome;
      }
    }
  }
  const cutoff = opts.now.getTime() - opts.graceMs;
  const sweep: string[] = [];
  for (const [key, { modified, size }] of blobs) {
    if (marked.has(key)) outcome.referenced++;
    else if (modified.getTime() >= cutoff) outcome.young++;
    else {
      sweep.push(key);
      outcome.removedBytes += size;
    }
  }
  sweep.sort();
  if (opts.dryRun || sweep.length === 0) return { ...outcome, removed: sweep };
  if (storage.deleteMany) {
    const failed = await storage.deleteMany(sweep, { signal });
    if (failed.length) throw failed[0]!.error;
  } else for (const key of sweep) await storage.delete(key, { signal });
  outcome.removed = sweep;
  return outcome;
}
