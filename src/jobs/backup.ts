/**
 * One run of a backup job, the same for `lifeboat backup`, `serve` and `demo`: the backup, then
 * the job's retention in each storage — only after a fully good run. A run that failed in some
 * storage, or is partial (a database dropped during it), never triggers retention: it keeps every
 * older backup, since the newest is not one to rely on.
 */
import type { MissingDatabase, Manifest } from '../catalog/manifest.js';
import type { JobConfig } from '../config/schema.js';
import {
  runBackup,
  type BackupHooks,
  type BackupJob,
  type BackupResult,
  type StorageOutcome,
} from '../core/backup.js';
import { LifeboatError, oneLine } from '../util/errors.js';
import { pruneStorage, type PruneHooks, type StoragePrune } from './prune.js';

export interface JobBackupResult extends BackupResult {
  /** Storages that did not commit the backup (the others hold it). */
  failed: StorageOutcome[];
  /** Databases a partial backup is missing. */
  missing: MissingDatabase[];
  /** Every storage committed a complete backup: the only case in which retention runs. */
  ok: boolean;
  /** Retention in each storage, in order; empty when the job has none or the run is not ok. */
  pruned: StoragePrune[];
}

export interface JobBackupHooks extends BackupHooks, Pick<PruneHooks, 'onPlan' | 'onPruned'> {
  /** The backup as committed, before retention runs (which may still fail). */
  onBackup?: (result: JobBackupResult) => void;
}

/**
 * Backs up `job`; then, when `config` (the job's configuration; none for a one-off backup) has a
 * retention policy and the run is ok, applies it. Rejects when no storage committed, or when
 * retention fails; a failed or partial run resolves with `ok: false` (see `jobBackupError`).
 */
export async function runJobBackup(
  job: BackupJob,
  config: JobConfig | undefined,
  hooks: JobBackupHooks = {},
): Promise<JobBackupResult> {
  const backup = await runBackup(job, hooks);
  const failed = backup.outcomes.filter((o) => !o.ok);
  const missing = backup.manifest.missing ?? [];
  const result: JobBackupResult = {
    ...backup,
    failed,
    missing,
    ok: !failed.length && !missing.length,
    pruned: [],
  };
  hooks.onBackup?.(result);
  if (!result.ok || !config?.retention) return result;
  const { signal, warn, onPlan, onPruned } = hooks;
  // The run's own backup was just written and checked: retention need not read it again.
  const verified = [backup.manifest.id];
  const signedBy = job.signingKey?.publicKey;
  for (const storage of job.storages)
    result.pruned.push(
      await pruneStorage(storage, job, config, { signal, warn, verified, signedBy, onPlan, onPruned }),
    );
  return result;
}

/** "backup JOB ID is partial: database D is missing (why); …" */
export function partialLine(job: string, manifest: Pick<Manifest, 'id'>, missing: MissingDatabase[]): string {
  const what = missing.map((m) => `database ${m.database} is missing (${m.error})`).join('; ');
  return `backup ${job} ${manifest.id} is partial: ${what}`;
}

/** Why a run that resolved is still a failed run (some storage failed, or it is partial); else undefined. */
export function jobBackupError(job: string, result: JobBackupResult): LifeboatError | undefined {
  if (result.failed.length) {
    const why = result.failed.map((f) => `${f.storage}: ${oneLine(f.error)}`).join('; ');
    return new LifeboatError('failed', `backup ${job}: ${why}`);
  }
  if (result.missing.length)
    return new LifeboatError('failed', partialLine(job, result.manifest, result.missing));
  return undefined;
}
