/**
 * One backup run of one job: plan every source (all of them before any byte is written), write an intent naming the keys it will write
 * (catalog/intent.ts), write every artifact to every storage in one pass, then commit a manifest
 * per storage — last, create-only — and delete the intent. Anything that fails before the commit
 * leaves no manifest, and the run removes the artifacts it had already written there, then the
 * intent. A killed run leaves its intent, which is what lets prune remove its files later. A database
 * dropped between planning and its dump is the one exception: the others are committed, and the
 * manifest says the backup is partial and which database is missing.
 */
import { setMaxListeners } from 'node:events';
import type { AgeSettings } from '../codecs/age.js';
import { chainExtension, codecChain, type CodecKeys, type Compression } from '../codecs/chain.js';
import {
  backupId,
  joinKey,
  manifestKey,
  nextIdSuffix,
  renderTemplate,
  sourceLayout,
  DEFAULT_LAYOUT,
} from '../catalog/layout.js';
import {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  type ArtifactRecord,
  type Manifest,
  type MissingDatabase,
  type SourceRecord,
} from '../catalog/manifest.js';
import { commitManifest } from '../catalog/catalog.js';
import { intentKey, newIntent, writeIntent } from '../catalog/intent.js';
import { signatureKey } from '../catalog/signature.js';
import type { SecretKey } from '../util/minisign.js';
import type { PlannedArtifact, Source, SourcePlan } from '../sources/source.js';
import type { Storage } from '../storages/storage.js';
import { isLifeboatError, LifeboatError, oneLine } from '../util/errors.js';
import { withJobLock } from './job-lock.js';
import { LIFEBOAT_VERSION } from '../util/version.js';
import { writeArtifact, type WrittenArtifact } from './write-artifact.js';

/** A source of a job under its name (`main` for the `source:` shorthand). */
export interface NamedSource {
  name: string;
  source: Source;
}

export interface BackupJob {
  name: string;
  /** One or more, backed up into one backup; a failure of any fails the run. */
  sources: NamedSource[];
  storages: Storage[];
  compression: Compression;
  /** age recipients: every artifact is encrypted after compression. */
  encryption?: AgeSettings;
  /** The identity, when configured: a source that reads the job's previous backup decrypts with it. */
  keys?: CodecKeys;
  /** Printed (hooks.warn) at the start of every run, e.g. a sensitive source stored in plaintext. */
  warnings?: string[];
  layout?: string;
  nameTemplate?: string;
  /** Signs each manifest (catalog/signature.ts); from `signing.key`. */
  signingKey?: SecretKey;
}

export interface StorageOutcome {
  storage: string;
  ok: boolean;
  error?: unknown;
}

export interface BackupResult {
  manifest: Manifest;
  outcomes: StorageOutcome[];
}

export interface BackupHooks {
  signal?: AbortSignal;
  now?: () => Date;
  onArtifactStart?: (key: string, database?: string) => void;
  onBytes?: (key: string, stored: number) => void;
  /** Lines worth a warning that do not fail the run (a stale lock broken). */
  warn?: (line: string) => void;
}

/** Artifact keys for a backup id and a number (1: the plain name; 2…: `full-2.sql.zst`). */
type KeysFor = (id: string, n: number) => string[];

/**
 * Picks the backup id and artifact keys; Lifeboat never overwrites an object and never refuses a
 * run for one. An id is taken when a manifest has it; then the next suffix is tried. A planned key
 * that already exists means leftovers of an interrupted run (when the key holds the id: the next
 * id moves past them) or an earlier backup at a layout without {id}, e.g. a second run the same
 * day: then this run's artifacts get the lowest number that is free everywhere, beside the old
 * ones (`full.sql.zst`, `full-2.sql.zst`). The manifest records each key, so nothing else needs
 * to know.
 */
async function allocate(storages: Storage[], job: string, at: Date, keysFor: KeysFor) {
  const firstTaken = async (keys: string[]) => {
    for (const key of keys) for (const storage of storages) if (await storage.stat(key)) return key;
    return undefined;
  };
  for (let id = backupId(at); ; id = nextIdSuffix(id)) {
    // A manifest, or the intent of a run killed before it wrote anything (we hold the job lock,
    // so no other run is live), takes the id.
    const taken = await Promise.all(
      storages.flatMap((s) => [
        s.stat(manifestKey(job, id)),
        s.stat(intentKey(job, id)),
        // A signature left by a run killed as it committed: the next id, rather than refuse it.
        s.stat(signatureKey(job, id)),
      ]),
    );
    if (taken.some((t) => t !== undefined)) continue;
    const clash = await firstTaken(keysFor(id, 1));
    if (clash === undefined) return { id, keys: keysFor(id, 1) };
    // The key holds the id: the next id lands elsewhere, apart from an interrupted run's leftovers.
    if (!keysFor(nextIdSuffix(id), 1).includes(clash)) continue;
    for (let n = 2; ; n++) {
      const keys = keysFor(id, n);
      if ((await firstTaken(keys)) === undefined) return { id, keys };
    }
  }
}

/**
 * Whether a failed artifact's database was dropped during the run: then the backup goes on
 * without it and is committed as partial. Any doubt (the server gone too) counts as a failure.
 */
async function vanished(artifact: PlannedArtifact, err: unknown, signal: AbortSignal): Promise<boolean> {
  if (artifact.database === undefined || !artifact.vanished || signal.aborted) return false;
  if (isLifeboatError(err, 'aborted')) return false;
  return artifact.vanished(signal).catch(() => false);
}

/** The databases a source's part holds: a restore or drill of it never expects a missing one. */
function held(record: SourceRecord, name: string, missing: MissingDatabase[]): SourceRecord {
  if (!Array.isArray(record.databases)) return record;
  const gone = (d: string) => missing.some((m) => m.source === name && m.database === d);
  return { ...record, databases: record.databases.filter((d) => !gone(d)) };
}

/** Removes what the run may have written, then (only if all of it went) its intent. */
async function discard(storage: Storage, job: string, id: string, keys: string[]): Promise<void> {
  let all = true;
  for (const key of keys)
    await storage.delete(key).catch(() => {
      all = false;
    });
  // A key that could not be removed stays named by the intent, so a later prune removes it.
  if (all) await storage.delete(intentKey(job, id)).catch(() => {});
}

/**
 * Runs the backup. Resolves when at least one storage committed (check `outcomes` for the rest,
 * and `manifest.partial` for databases dropped during the run); rejects when none did, with the
 * first cause. The run holds the job's lock in every storage (job-lock.ts): a second run of the
 * job, from this process (serve) or any other, is refused instead of racing this one for a backup id.
 */
export async function runBackup(job: BackupJob, hooks: BackupHooks = {}): Promise<BackupResult> {
  return withBackupLock(job, hooks, (signal) => runBackupLocked(job, { ...hooks, signal }));
}

/**
 * Runs `fn` holding the job's backup lock, after the job's per-run warnings. jobs/ runs its
 * beforeBackup/afterBackup hooks inside it too, so a run the lock refuses runs no hook.
 */
export function withBackupLock<T>(
  job: BackupJob,
  hooks: Pick<BackupHooks, 'signal' | 'warn'>,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  for (const line of job.warnings ?? []) hooks.warn?.(line);
  const lockOpts = { kind: 'backup' as const, signal: hooks.signal, warn: hooks.warn };
  return withJobLock(job.storages, job.name, lockOpts, fn);
}

/** The backup itself; the caller holds the job's lock (withBackupLock) and passes its signal. */
export async function runBackupLocked(job: BackupJob, hooks: BackupHooks): Promise<BackupResult> {
  const controller = new AbortController();
  // Every child process and stream of the run listens to this one signal.
  setMaxListeners(100, controller.signal);
  const onOuterAbort = () => controller.abort(hooks.signal?.reason);
  hooks.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = controller.signal;
  const now = hooks.now ?? (() => new Date());
  const started = now();
  // Per storage, every key the run started to write there (a failed write may still leave its
  // artifact, e.g. when only the sidecar failed), once the storage holds the run's intent.
  const attempted = new Map<Storage, string[]>();
  const failed = new Map<Storage, unknown>();
  let id = '';
  try {
    // Every source is planned before anything is written: a source that cannot work stops the run here.
    const plans: Array<{ name: string; plan: SourcePlan }> = [];
    const settings = { compression: job.compression, encryption: job.encryption };
    for (const { name, source } of job.sources) {
      const ctx = { job: job.name, source: name, storages: job.storages, codecs: settings, keys: job.keys };
      plans.push({ name, plan: await source.plan(signal, { ...ctx, warn: hooks.warn }) });
    }
    const codecs = codecChain(job);
    const planned = plans.flatMap(({ name, plan }) =>
      plan.artifacts.map((artifact) => ({
        source: name,
        artifact,
        ext: (artifact.extension ?? plan.extension) + chainExtension(codecs),
      })),
    );
    const layout = sourceLayout(job.layout ?? DEFAULT_LAYOUT, job.nameTemplate, job.sources.length);
    const keysFor = (id: string, n = 1) =>
      planned.map(({ source, artifact: a, ext }) => {
        const values = { job: job.name, source, id, at: started, db: a.database, role: a.role };
        const base = renderTemplate(job.nameTemplate ?? a.baseName, values);
        return joinKey(renderTemplate(layout, values), base + (n > 1 ? `-${n}` : '') + ext);
      });
    const first = keysFor(backupId(started));
    const dup = first.find((k, i) => first.indexOf(k) !== i);
    if (dup) {
      throw new LifeboatError(
        'config',
        `plan backup of ${job.name}: two artifacts would be stored at ${dup}`,
        {
          hint:
            job.sources.length > 1
              ? 'add {source} and {db} to the layout or name template'
              : 'add {db} to the name template',
        },
      );
    }
    const allocated = await allocate(job.storages, job.name, started, keysFor);
    id = allocated.id;
    const keys = allocated.keys;
    // Before any artifact: the intent naming every key this run may write, so that a prune can
    // later tell this run's files (removable if it never commits) from anyone else's (never).
    const intent = newIntent(
      job.name,
      id,
      keys.flatMap((k) => [k, `${k}.sha256`]),
      started,
    );
    for (const storage of job.storages) {
      try {
        await writeIntent(storage, intent, signal);
        attempted.set(storage, []);
      } catch (err) {
        if (signal.aborted) throw err;
        failed.set(storage, err);
      }
    }
    if (failed.size === job.storages.length) throw failed.values().next().value;

    const records: ArtifactRecord[] = [];
    const missing: MissingDatabase[] = [];
    for (const [i, { source, artifact }] of planned.entries()) {
      const key = keys[i]!;
      const live = job.storages.filter((s) => !failed.has(s));
      hooks.onArtifactStart?.(key, artifact.database);
      for (const storage of live) attempted.get(storage)!.push(key, `${key}.sha256`);
      let result: WrittenArtifact;
      try {
        result = await writeArtifact((s) => artifact.open(s), {
          key,
          codecs,
          storages: live,
          signal,
          onBytes: (n) => hooks.onBytes?.(key, n),
        });
      } catch (err) {
        // The dump could not even start: a database dropped since planning is skipped, not fatal.
        if (await vanished(artifact, err, signal)) {
          missing.push({ source, database: artifact.database!, error: oneLine(err) });
          continue;
        }
        throw err;
      }
      for (const line of artifact.warnings?.() ?? [])
        hooks.warn?.(`backup ${job.name} source ${source}: ${line}`);
      const stored = result.failures.some((err) => err === undefined);
      if (!stored && (await vanished(artifact, result.failures[0], signal))) {
        missing.push({ source, database: artifact.database!, error: oneLine(result.failures[0]) });
        continue;
      }
      result.failures.forEach((err, j) => {
        if (err !== undefined) failed.set(live[j]!, err);
      });
      if (failed.size === job.storages.length) throw failed.values().next().value;
      records.push({
        key,
        source,
        role: artifact.role,
        ...(artifact.database !== undefined ? { database: artifact.database } : {}),
        size: result.size,
        sha256: result.sha256,
        ...(result.raw ? { raw: result.raw } : {}),
        ...(artifact.tables?.() ? { tables: artifact.tables() } : {}),
        ...(artifact.roles?.() ? { roles: artifact.roles() } : {}),
      });
    }
    for (const { name } of plans) {
      const gone = missing.filter((m) => m.source === name);
      if (gone.length > 0 && !records.some((r) => r.source === name && r.role === 'database')) {
        const whose = job.sources.length > 1 ? ` of source ${name}` : '';
        throw new LifeboatError(
          'failed',
          `backup ${job.name}: every database${whose} was gone by the time it was dumped (${gone.map((m) => m.database).join(', ')})`,
        );
      }
    }

    const finished = now();
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      id,
      job: job.name,
      sources: Object.fromEntries(plans.map(({ name, plan }) => [name, held(plan.record, name, missing)])),
      compression: {
        type: job.compression.type,
        ...(job.compression.level ? { level: job.compression.level } : {}),
      },
      encryption: job.encryption ? { type: 'age', recipients: [...job.encryption.recipients] } : null,
      artifacts: records,
      ...(missing.length > 0 ? { partial: true, missing } : {}),
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      lifeboatVersion: LIFEBOAT_VERSION,
    };
    for (const storage of job.storages) {
      if (failed.has(storage)) continue;
      try {
        await commitManifest(storage, manifest, signal, job.signingKey);
      } catch (err) {
        failed.set(storage, err);
        continue;
      }
      // Committed: the manifest now names the keys. An intent that stays is removed by prune.
      await storage.delete(intentKey(job.name, id)).catch(() => {});
    }
    if (failed.size === job.storages.length) throw failed.values().next().value;
    for (const [storage] of failed) {
      const keys = attempted.get(storage);
      if (keys) await discard(storage, job.name, id, keys);
    }
    return {
      manifest,
      outcomes: job.storages.map((s) => ({ storage: s.name, ok: !failed.has(s), error: failed.get(s) })),
    };
  } catch (err) {
    controller.abort(err);
    for (const [storage, keys] of attempted) await discard(storage, job.name, id, keys);
    throw err instanceof LifeboatError || signal.aborted === false
      ? err
      : new LifeboatError('aborted', `backup ${job.name}: ${oneLine(err)}`, { cause: err });
  } finally {
    hooks.signal?.removeEventListener('abort', onOuterAbort);
  }
}
