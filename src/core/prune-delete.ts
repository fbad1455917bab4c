/**
 * What a prune removed, and the one way it removes objects: batched where the storage can, with
 * what Object Lock refuses reported as retained rather than failed.
 */
import type { SweepOutcome } from '../sources/bucket/sweep.js';
import { describeLock, isObjectLocked } from '../storages/object-lock.js';
import type { Storage } from '../storages/storage.js';

export interface PruneOutcome {
  removedBackups: string[];
  removedObjects: string[];
  /** Interrupted writes removed: temp files (local) or incomplete multipart uploads (S3). */
  removedIncomplete: string[];
  /**
   * What Object Lock still protects: backups (with `id`) that retention would remove, and single
   * objects. They stay whole and listed; a prune after the lock ends removes them.
   */
  retained: Array<{ id?: string; key: string; lock: string }>;
  /** Bucket sources' blobs: what mark and sweep removed, or why it did not (sources/bucket/sweep.ts). */
  blobs?: SweepOutcome;
}

/** Deletes `keys` (batched where the storage can); locked keys are reported, other failures thrown. */
export async function deleteObjects(
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
