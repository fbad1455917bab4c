/**
 * Retention for one job in one storage, as `lifeboat prune` and a backup's retention step run it:
 * plan (what is kept and removed, and why), then, unless it is a dry run, carry the plan out.
 * Callers print the plan and the outcome their own way through the hooks, at the moment each is
 * known: the plan before anything is removed, the outcome after.
 */
import { policyOf } from '../config/compose.js';
import type { JobConfig } from '../config/schema.js';
import {
  DEFAULT_GRACE_MS,
  executePrune,
  planPrune,
  type PruneOutcome,
  type PrunePlan,
} from '../core/prune.js';
import { previewBlobSweep, type SweepOutcome } from '../core/prune-blobs.js';
import type { Storage } from '../storages/storage.js';
import type { PublicKey } from '../util/minisign.js';

export interface PruneHooks {
  signal?: AbortSignal;
  /** Only report what would be removed. */
  dryRun?: boolean;
  /** Ids of backups known to be good (just written and checked): not read again. */
  verified?: string[];
  /** With signing configured: the key manifests must be signed with to count as good. */
  signedBy?: PublicKey;
  /** Problems that do not stop the prune (a stale job lock broken). */
  warn?: (line: string) => void;
  /** The plan, before anything is removed. */
  onPlan?: (storage: Storage, plan: PrunePlan) => void;
  /** A dry run: the blobs the sweep would remove (undefined: the job has none here). */
  onPreview?: (storage: Storage, blobs: SweepOutcome | undefined) => void;
  /** What was removed (not called for a dry run). */
  onPruned?: (storage: Storage, plan: PrunePlan, outcome: PruneOutcome) => void;
}

export interface StoragePrune {
  storage: Storage;
  plan: PrunePlan;
  /** Undefined for a dry run. */
  outcome?: PruneOutcome;
  /** A dry run: what the blob sweep would remove. */
  blobs?: SweepOutcome;
}

export async function pruneStorage(
  storage: Storage,
  job: { name: string; layout?: string },
  config: JobConfig,
  hooks: PruneHooks = {},
): Promise<StoragePrune> {
  const { policy, timeZone } = policyOf(config);
  const { signal } = hooks;
  const { verified, signedBy } = hooks;
  const plan = await planPrune(storage, job, policy, { timeZone, signal, verified, signedBy });
  hooks.onPlan?.(storage, plan);
  const keys = {
    identityFile: config.encryption?.identityFile,
    setting: `jobs.${job.name}.encryption.identityFile`,
  };
  if (hooks.dryRun) {
    const removing = plan.decisions.filter((d) => !d.keep).map((d) => d.id);
    const blobs = await previewBlobSweep(storage, job.name, removing, {
      now: new Date(),
      graceMs: DEFAULT_GRACE_MS,
      keys,
      signal,
    });
    hooks.onPreview?.(storage, blobs);
    return { storage, plan, ...(blobs ? { blobs } : {}) };
  }
  const outcome = await executePrune(storage, plan, { signal, warn: hooks.warn, keys });
  hooks.onPruned?.(storage, plan, outcome);
  return { storage, plan, outcome };
}
