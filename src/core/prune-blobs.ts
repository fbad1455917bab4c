/**
 * Prune's step for bucket sources' blobs (sources/bucket/sweep.ts): after a prune removed its
 * backups, the sweep of every blob no remaining backup uses; for `prune --dry-run`, what that
 * sweep would remove once the plan's backups were gone, removing nothing.
 */
import type { CodecKeys } from '../codecs/chain.js';
import { sweepBlobs, type SweepOutcome } from '../sources/bucket/sweep.js';
import type { Storage } from '../storages/storage.js';

export type { SweepOutcome };

export interface BlobSweepOptions {
  now: Date;
  graceMs: number;
  /** What reading an encrypted job's bucket indexes needs (marking the blobs they use). */
  keys?: CodecKeys;
  signal?: AbortSignal;
}

/** Undefined when the job has no blobs in this storage (no bucket source, or none yet). */
function reported(outcome: SweepOutcome): SweepOutcome | undefined {
  return outcome.removed.length || outcome.referenced || outcome.young || outcome.stopped
    ? outcome
    : undefined;
}

/** Sweeps the job's unused blobs; the caller holds the job's lock and has removed the plan's backups. */
export async function sweepJobBlobs(
  storage: Storage,
  job: string,
  opts: BlobSweepOptions,
): Promise<SweepOutcome | undefined> {
  return reported(await sweepBlobs(storage, job, opts));
}

/** What sweepJobBlobs would remove after the backups `removing` are gone; nothing is removed. */
export async function previewBlobSweep(
  storage: Storage,
  job: string,
  removing: string[],
  opts: BlobSweepOptions,
): Promise<SweepOutcome | undefined> {
  return reported(await sweepBlobs(storage, job, { ...opts, dryRun: true, without: new Set(removing) }));
}
