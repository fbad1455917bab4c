/**
 * The catalog over a storage: committed backups are exactly the manifests under `.lifeboat/`.
 * Listing reads the storage itself, so any machine with access can list, verify and restore.
 */
import { isLifeboatError, LifeboatError } from '../util/errors.js';
import { parseDrillReport, type DrillReport } from './drill-report.js';
import { putText, readText, type Storage } from '../storages/storage.js';
import { CATALOG_PREFIX, idTime, isBackupId, manifestKey, nextIdSuffix, safeSegment } from './layout.js';
import { parseManifest, type Manifest } from './manifest.js';
import { signatureKey, signManifest, writeSignature } from './signature.js';
import type { SecretKey } from '../util/minisign.js';

const MANIFEST_KEY = /^\.lifeboat\/([^/]+)\/([0-9]{8}T[0-9]{6}Z(?:-[0-9]+)?)\.json$/;

export interface CatalogEntry {
  job: string;
  id: string;
  key: string;
}

/** Manifest keys in the storage, optionally of one job, oldest first. */
export async function listManifestKeys(
  storage: Storage,
  job?: string,
  signal?: AbortSignal,
): Promise<CatalogEntry[]> {
  const prefix = job ? `${CATALOG_PREFIX}${safeSegment(job)}/` : CATALOG_PREFIX;
  const entries: CatalogEntry[] = [];
  for await (const obj of storage.list(prefix, { signal })) {
    const m = MANIFEST_KEY.exec(obj.key);
    if (m) entries.push({ job: decodeURIComponent(m[1]!), id: m[2]!, key: obj.key });
  }
  return entries.sort((a, b) => compareIds(a.id, b.id) || a.job.localeCompare(b.job));
}

/** Orders ids by time, then by collision suffix (…Z < …Z-2 < …Z-10). */
export function compareIds(a: string, b: string): number {
  const ta = idTime(a).getTime();
  const tb = idTime(b).getTime();
  if (ta !== tb) return ta - tb;
  return Number(a.split('-')[1] ?? 1) - Number(b.split('-')[1] ?? 1);
}

export async function readManifest(
  storage: Storage,
  entry: CatalogEntry,
  signal?: AbortSignal,
): Promise<Manifest> {
  const manifest = parseManifest(await readText(storage, entry.key, { signal }), entry.key);
  // The file name is the id (and the folder the job): prune deletes by these, so a manifest that
  // claims another backup's id or job would make it remove that backup's files.
  if (manifestKey(manifest.job, manifest.id) !== entry.key) {
    throw new LifeboatError(
      'integrity',
      `read manifest ${entry.key}: it names job ${JSON.stringify(manifest.job)} and id ${JSON.stringify(manifest.id)}, not its file name`,
    );
  }
  return manifest;
}

export interface ListResult {
  manifests: Manifest[];
  /**
   * Manifests that could not be read or are invalid (no artifacts, id or job not matching the file
   * name), with why. Listed so nobody mistakes them for good backups; never restored or pruned.
   */
  unreadable: UnreadableManifest[];
}

export interface UnreadableManifest {
  key: string;
  /** From the manifest's file name. */
  job: string;
  id: string;
  error: string;
}

/** Every committed backup, oldest first. */
export async function listBackups(storage: Storage, job?: string, signal?: AbortSignal): Promise<ListResult> {
  const result: ListResult = { manifests: [], unreadable: [] };
  for (const entry of await listManifestKeys(storage, job, signal)) {
    try {
      result.manifests.push(await readManifest(storage, entry, signal));
    } catch (err) {
      if (signal?.aborted) throw err;
      result.unreadable.push({ key: entry.key, job: entry.job, id: entry.id, error: (err as Error).message });
    }
  }
  return result;
}

/** Finds one backup by id or "latest"; with no job given, the id must be unambiguous. */
export async function findBackup(
  storage: Storage,
  ref: string,
  job?: string,
  signal?: AbortSignal,
): Promise<Manifest> {
  if (ref !== 'latest' && !isBackupId(ref)) {
    throw new LifeboatError('usage', `find backup "${ref}": expected an id like 20261122T023000Z, or latest`);
  }
  const entries = await listManifestKeys(storage, job, signal);
  const jobs = new Set(entries.map((e) => e.job));
  if (ref === 'latest') {
    if (!job && jobs.size > 1) {
      throw new LifeboatError(
        'usage',
        `find latest backup: ${storage.name} holds several jobs (${[...jobs].join(', ')})`,
        {
          hint: 'add --job NAME',
        },
      );
    }
    const last = entries.at(-1);
    if (!last)
      throw new LifeboatError(
        'not-found',
        `find latest backup${job ? ` of ${job}` : ''}: no committed backup in ${storage.location}`,
      );
    return readManifest(storage, last, signal);
  }
  const matches = entries.filter((e) => e.id === ref);
  if (matches.length === 0) {
    throw new LifeboatError(
      'not-found',
      `find backup ${ref}${job ? ` of ${job}` : ''}: no such backup in ${storage.location}`,
      {
        hint: 'run lifeboat list to see the ids',
      },
    );
  }
  if (matches.length > 1) {
    throw new LifeboatError(
      'usage',
      `find backup ${ref}: several jobs have it (${matches.map((m) => m.job).join(', ')})`,
      {
        hint: 'add --job NAME',
      },
    );
  }
  return readManifest(storage, matches[0]!, signal);
}

/**
 * The commit point: the manifest, written last and never over an existing one. With a signing
 * key, its signature goes first (signature.ts), and goes again if the manifest is not written.
 */
export async function commitManifest(
  storage: Storage,
  manifest: Manifest,
  signal?: AbortSignal,
  signingKey?: SecretKey,
): Promise<void> {
  const key = manifestKey(manifest.job, manifest.id);
  if (!storage.capabilities.atomicCreateOnly && (await storage.stat(key, { signal }))) {
    throw new LifeboatError('exists', `commit ${key}: a manifest already exists in ${storage.name}`);
  }
  const text = JSON.stringify(manifest, null, 2) + '\n';
  if (signingKey) await writeSignature(storage, manifest, signManifest(text, manifest, signingKey), signal);
  try {
    await putText(storage, key, text, { signal });
  } catch (err) {
    if (signingKey) await storage.delete(signatureKey(manifest.job, manifest.id)).catch(() => {});
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Drill reports: `.lifeboat/{job}/{backupId}.drill-{timestamp}.json`, beside the manifest they test.
// MANIFEST_KEY above does not match these names, so they never count as backups.

const DRILL_REPORT_KEY =
  /^\.lifeboat\/([^/]+)\/([0-9]{8}T[0-9]{6}Z(?:-[0-9]+)?)\.drill-([0-9]{8}T[0-9]{6}Z(?:-[0-9]+)?)\.json$/;

export interface DrillEntry {
  job: string;
  backupId: string;
  /** When the drill ran, as 20261122T030000Z (suffixed -2, -3 … if two share a second). */
  timestamp: string;
  key: string;
}

export function drillReportKey(job: string, backupId: string, timestamp: string): string {
  return `${CATALOG_PREFIX}${safeSegment(job)}/${backupId}.drill-${timestamp}.json`;
}

/** Drill report keys in the storage, optionally of one job, oldest drill first. */
export async function listDrillReports(
  storage: Storage,
  job?: string,
  signal?: AbortSignal,
): Promise<DrillEntry[]> {
  const prefix = job ? `${CATALOG_PREFIX}${safeSegment(job)}/` : CATALOG_PREFIX;
  const entries: DrillEntry[] = [];
  for await (const obj of storage.list(prefix, { signal })) {
    const m = DRILL_REPORT_KEY.exec(obj.key);
    if (m) entries.push({ job: decodeURIComponent(m[1]!), backupId: m[2]!, timestamp: m[3]!, key: obj.key });
  }
  return entries.sort((a, b) => compareIds(a.timestamp, b.timestamp) || a.key.localeCompare(b.key));
}

export async function readDrillReport(
  storage: Storage,
  entry: DrillEntry,
  signal?: AbortSignal,
): Promise<DrillReport> {
  return parseDrillReport(await readText(storage, entry.key, { signal }), entry.key);
}

/**
 * Stores a drill report beside its backup. Never overwrites: a second drill of the same backup in
 * the same second is stored as …Z-2. Returns the key and the report as stored (its final timestamp).
 */
export async function storeDrillReport(
  storage: Storage,
  report: DrillReport,
  signal?: AbortSignal,
): Promise<{ key: string; report: DrillReport }> {
  let timestamp = report.timestamp;
  for (let attempt = 1; ; attempt++) {
    const key = drillReportKey(report.job, report.backupId, timestamp);
    const stored = { ...report, timestamp };
    try {
      if (!storage.capabilities.atomicCreateOnly && (await storage.stat(key, { signal })))
        throw new LifeboatError('exists', `store drill report ${key}: already exists`);
      await putText(storage, key, JSON.stringify(stored, null, 2) + '\n', { signal });
      return { key, report: stored };
    } catch (err) {
      if (!isLifeboatError(err, 'exists') || attempt >= 20) throw err;
      timestamp = nextIdSuffix(timestamp);
    }
  }
}

/**
 * The newest drill report of each backup (keyed `job/backupId`), optionally of one job. Only the
 * newest report per backup is read; an unreadable one is skipped, as if that drill never ran.
 */
export async function latestDrillReports(
  storage: Storage,
  job?: string,
  signal?: AbortSignal,
): Promise<Map<string, DrillReport>> {
  const newest = new Map<string, DrillEntry>();
  for (const entry of await listDrillReports(storage, job, signal))
    newest.set(`${entry.job}/${entry.backupId}`, entry); // oldest first, so the last one wins
  const reports = new Map<string, DrillReport>();
  for (const [k, entry] of newest) {
    try {
      reports.set(k, await readDrillReport(storage, entry, signal));
    } catch (err) {
      if (signal?.aborted) throw err;
    }
  }
  return reports;
}

/** The newest drill report of a job, of any backup; undefined when the job was never drilled. */
export async function latestDrillReport(
  storage: Storage,
  job: string,
  signal?: AbortSignal,
): Promise<DrillReport | undefined> {
  const entries = await listDrillReports(storage, job, signal);
  for (const entry of entries.reverse()) {
    try {
      return await readDrillReport(storage, entry, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
    }
  }
  return undefined;
}
