/**
 * One run of a backup job, the same for `lifeboat backup`, `serve` and `demo`: the job's
 * beforeBackup hooks (one failing fails the run before anything is written), the backup, its
 * afterBackup hooks (always, told the result), then the job's retention in each storage — only
 * after a fully good run. A run that failed in some
 * storage, or is partial (a database dropped during it), never triggers retention: it keeps every
 * older backup, since the newest is not one to rely on.
 */
import type { MissingDatabase, Manifest } from '../catalog/manifest.js';
import type { JobConfig } from '../config/schema.js';
import {
  runBackupLocked,
  withBackupLock,
  type BackupHooks,
  type BackupJob,
  type BackupResult,
  type StorageOutcome,
} from '../core/backup.js';
import { LifeboatError, oneLine } from '../util/errors.js';
import { pruneStorage, type PruneHooks, type StoragePrune } from './prune.js';
import { runAfterHooks, runBeforeHooks } from './hooks.js';

export interface JobBackupResult extends BackupResult {
  /** Storages that did not commit the backup (the others hold it). */
  failed: StorageOutcome[];
  /** Databases a partial backup is missing. */
  missing: MissingDatabase[];
  /** An afterBackup hook that failed: the backup stays committed, but the run failed. */
  hookError?: LifeboatError;
  /** Every storage committed a complete backup and the hooks passed: only then does retention run. */
  ok: boolean;
  /** Retention in each storage, in order; empty when the job has none or the run is not ok. */
  pruned: StoragePrune[];
}

export interface JobBackupHooks extends BackupHooks, Pick<PruneHooks, 'onPlan' | 'onPruned'> {
  /** The backup as committed, before retention runs (which may still fail). */
  onBackup?: (result: JobBackupResult) => void;
  /** The hooks' lines (their output); default: warn. */
  log?: (line: string) => void;
  redact?: (text: string) => string;
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
  // Hooks (config/hooks.ts): beforeBackup before anything is written, afterBackup whatever happened.
  const hookRun = {
    job: job.name,
    log: hooks.log ?? hooks.warn ?? (() => {}),
    redact: hooks.redact,
    signal: hooks.signal,
  };
  // Inside the job's lock: a run the lock refuses (another is backing up) runs no hook, so its
  // afterBackup cannot restart an app while the other run is still copying it.
  const { backup, hookError } = await withBackupLock(job, hooks, async (signal) => {
    // The hooks keep the run's own signal: losing the lock must not cut an afterBackup short.
    const run = hookRun;
    let backup: BackupResult;
    try {
      await runBeforeHooks(config?.hooks, 'beforeBackup', run);
      backup = await runBackupLocked(job, { ...hooks, signal });
    } catch (err) {
      const after = await runAfterHooks(config?.hooks, 'afterBackup', { ...run, result: 'failure' });
      if (after) hookRun.log(`backup ${job.name}: ${after.message}`);
      throw err;
    }
    const hookError = await runAfterHooks(config?.hooks, 'afterBackup', {
      ...run,
      backupId: backup.manifest.id,
      result: runIsGood(backup) ? 'success' : 'failure',
    });
    return { backup, hookError };
  });
  const failed = backup.outcomes.filter((o) => !o.ok);
  const missing = backup.manifest.missing ?? [];
  const good = runIsGood(backup);
  const result: JobBackupResult = {
    ...backup,
    failed,
    missing,
    ...(hookError && { hookError }),
    ok: good && !hookError,
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
  if (result.hookError)
    return new LifeboatError('failed', `backup ${job}: ${result.hookError.message}`, {
      hint: result.hookError.hint,
    });
  return undefined;
}

/** Every storage committed and no database went missing during the run. */
function runIsGood(backup: BackupResult): boolean {
  return backup.outcomes.every((o) => o.ok) && !(backup.manifest.missing ?? []).length;
}
