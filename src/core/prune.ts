/**
 * Prune: applies the retention policy to a job's committed backups in one storage, and removes
 * leftovers — artifacts no manifest references, and interrupted writes — once they are older than
 * a grace period (a backup still being written must not lose its files). A backup is removed
 * manifest first, so an interrupted prune never leaves a manifest pointing at missing objects.
 */
import { CATALOG_PREFIX, staticPrefix, DEFAULT_LAYOUT } from '../catalog/layout.js';
import { listBackups, listDrillReports } from '../catalog/catalog.js';
import { manifestKey } from '../catalog/layout.js';
import type { Manifest } from '../catalog/manifest.js';
import { describeLock, isObjectLocked } from '../storages/object-lock.js';
import type { Storage } from '../storages/storage.js';
import { applyRetention, type RetentionDecision, type RetentionPolicy } from './retention.js';

export const DEFAULT_GRACE_MS = 24 * 3600 * 1000;

/** File names Lifeboat writes as artifacts or sidecars; nothing else is ever removed as an orphan. */
const ARTIFACT_NAME = /\.(sql|dump|tar|db)(\.zst|\.gz)?(\.age)?(\.sha256)?$/;

export interface PrunePlan {
  job: string;
  storage: string;
  decisions: Array<RetentionDecision & { manifest: Manifest }>;
  /** Unreferenced artifacts past the grace period. */
  orphans: string[];
}

export async function planPrune(
  storage: Storage,
  job: { name: string; layout?: string },
  policy: RetentionPolicy,
  opts: { now?: Date; graceMs?: number; timeZone?: string; signal?: AbortSignal } = {},
): Promise<PrunePlan> {
  const { manifests } = await listBackups(storage, job.name, opts.signal);
  const byId = new Map(manifests.map((m) => [m.id, m]));
  const decisions = applyRetention(
    manifests.map((m) => ({ id: m.id, time: new Date(m.startedAt) })),
    policy,
    { timeZone: opts.timeZone },
  ).map((d) => ({ ...d, manifest: byId.get(d.id)! }));

  // Every manifest of every job counts as a reference: layouts of two jobs may share folders.
  const referenced = new Set<string>();
  for (const m of (await listBackups(storage, undefined, opts.signal)).manifests) {
    for (const a of m.artifacts) referenced.add(a.key).add(`${a.key}.sha256`);
  }
  const cutoff = (opts.now ?? new Date()).getTime() - (opts.graceMs ?? DEFAULT_GRACE_MS);
  const orphans: string[] = [];
  const prefix = staticPrefix(job.layout ?? DEFAULT_LAYOUT, job.name);
  for await (const obj of storage.list(prefix, { signal: opts.signal })) {
    if (obj.key.startsWith(CATALOG_PREFIX) || referenced.has(obj.key)) continue;
    const name = obj.key.slice(obj.key.lastIndexOf('/') + 1);
    if (ARTIFACT_NAME.test(name) && obj.modified.getTime() < cutoff) orphans.push(obj.key);
  }
  return { job: job.name, storage: storage.name, decisions, orphans: orphans.sort() };
}

export interface PruneOutcome {
  removedBackups: string[];
  removedObjects: string[];
  /**
   * What Object Lock still protects: backups (with `id`) that retention would remove, and single
   * objects. They stay whole and listed; a prune after the lock ends removes them.
   */
  retained: Array<{ id?: string; key: string; lock: string }>;
}

/** Deletes `keys` (batched where the storage can); locked keys are reported, other failures thrown. */
async function deleteObjects(
  storage: Storage,
  keys: string[],
  outcome: PruneOutcome,
  signal?: AbortSignal,
): Promise<void> {
  let failures: Array<{ key: string; error: unknown }> = [];
  if (storage.deleteMany) failures = await storage.deleteMany(keys, { signal });
  else {
    for (const key of keys)
      await storage.delete(key, { signal }).catch((error: unknown) => failures.push({ key, error }));
  }
  const failed = new Set(failures.map((f) => f.key));
  outcome.removedObjects.push(...keys.filter((k) => !failed.has(k)));
  for (const f of failures) {
    if (isObjectLocked(f.error)) outcome.retained.push({ key: f.key, lock: describeLock(f.error) });
  }
  const other = failures.find((f) => !isObjectLocked(f.error));
  if (other) throw other.error;
}

export async function executePrune(
  storage: Storage,
  plan: PrunePlan,
  opts: { now?: Date; graceMs?: number; signal?: AbortSignal } = {},
): Promise<PruneOutcome> {
  const outcome: PruneOutcome = { removedBackups: [], removedObjects: [], retained: [] };
  const objects: string[] = [];
  for (const d of plan.decisions) {
    if (d.keep) continue;
    const key = manifestKey(plan.job, d.id);
    try {
      await storage.delete(key, { signal: opts.signal });
    } catch (err) {
      // Object Lock refused: the backup stays whole (manifest and artifacts) until its lock ends.
      if (!isObjectLocked(err)) throw err;
      outcome.retained.push({ id: d.id, key, lock: describeLock(err) });
      continue;
    }
    for (const a of d.manifest.artifacts) objects.push(a.key, `${a.key}.sha256`);
    outcome.removedBackups.push(d.id);
  }
  // Drill reports of removed backups go with them (they describe a backup that no longer exists).
  if (outcome.removedBackups.length) {
    const removed = new Set(outcome.removedBackups);
    for (const r of await listDrillReports(storage, plan.job, opts.signal))
      if (removed.has(r.backupId)) objects.push(r.key);
  }
  // Every manifest goes before any artifact, so no manifest ever names a missing object.
  await deleteObjects(storage, [...objects, ...plan.orphans], outcome, opts.signal);
  if (storage.cleanupIncomplete) {
    const cutoff = new Date((opts.now ?? new Date()).getTime() - (opts.graceMs ?? DEFAULT_GRACE_MS));
    outcome.removedObjects.push(...(await storage.cleanupIncomplete(cutoff, { signal: opts.signal })));
  }
  return outcome;
}
