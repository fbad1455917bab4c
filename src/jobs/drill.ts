/**
 * One restore drill of a job, the same for `lifeboat drill`, `serve` and `demo`: find the backup
 * (the newest by default) across the job's storages, take its first intact copy, and drill it with
 * the job's drill settings. Never throws for a failed drill: the outcome carries the report.
 */
import type { Manifest } from '../catalog/manifest.js';
import { findAcross } from '../catalog/copies.js';
import { codecKeysOf, drillSettingsOf } from '../config/compose.js';
import type { Config } from '../config/schema.js';
import { isLifeboatError } from '../util/errors.js';
import { intactCopy } from '../core/intact-copy.js';
import { runDrill, type DrillOutcome } from '../drill/run.js';
import type { Storage } from '../storages/storage.js';
import type { PublicKey } from '../util/minisign.js';

export interface JobDrillOptions {
  job: string;
  /** Where the job's backups are, in configured order: the first intact copy is drilled. */
  storages: Storage[];
  /** A backup id, or "latest" (the default). */
  backup?: string;
  /** The configuration, when there is one: the job's drill settings and source come from it. */
  config?: Config;
  /** With signing configured: the key the drilled manifest must be signed with. */
  signedBy?: PublicKey;
  signal: AbortSignal;
  log: (line: string) => void;
  /** Problems that do not fail the drill: a copy failing its checksums, scratch cleanup. */
  warn: (line: string) => void;
  onBytes?: (key: string, read: number) => void;
  /** A job without a committed backup resolves with undefined instead of failing (drill --all). */
  skipIfNone?: boolean;
  /** The copy chosen, just before the drill starts. */
  onStart?: (storage: Storage, manifest: Manifest) => void;
}

export interface JobDrill {
  storage: Storage;
  manifest: Manifest;
  outcome: DrillOutcome;
}

export async function runJobDrill(
  opts: JobDrillOptions & { skipIfNone: boolean },
): Promise<JobDrill | undefined>;
export async function runJobDrill(opts: JobDrillOptions): Promise<JobDrill>;
export async function runJobDrill(opts: JobDrillOptions): Promise<JobDrill | undefined> {
  const { signal, log, warn } = opts;
  let found;
  try {
    found = await findAcross(opts.storages, opts.backup ?? 'latest', opts.job, signal);
  } catch (err) {
    if (opts.skipIfNone && isLifeboatError(err, 'not-found')) return undefined;
    throw err;
  }
  // A copy failing its checksums is reported and the next one drilled; the last one is drilled
  // (and its failure reported) as it is.
  // Encrypted backups decrypt with the job's identityFile, else LIFEBOAT_AGE_IDENTITY_FILE.
  const keys = codecKeysOf(opts.config, found.manifest.job);
  const { storage, manifest, verified } = await intactCopy(found, {
    keys,
    signal,
    log,
    warn: (line) => warn(`drill ${line}`),
    verifyLast: false,
    signedBy: opts.signedBy,
  });
  const jobConfig = opts.config?.jobs[manifest.job];
  // The drill keeps off the sources' servers, so it needs their settings (a missing variable fails here).
  const sources = jobConfig ? drillSettingsOf(jobConfig) : undefined;
  opts.onStart?.(storage, manifest);
  const outcome = await runDrill({
    storage,
    manifest,
    verified,
    signedBy: opts.signedBy,
    keys,
    drill: jobConfig?.drill,
    sources,
    signal,
    log,
    warn,
    onBytes: opts.onBytes,
  });
  return { storage, manifest, outcome };
}
