/**
 * The catalog over a storage: committed backups are exactly the manifests under `.lifeboat/`.
 * Listing reads the storage itself, so any machine with access can list, verify and restore.
 */
import { LifeboatError } from '../core/errors.js';
import { putText, readText, type Storage } from '../storages/storage.js';
import { CATALOG_PREFIX, idTime, isBackupId, manifestKey, safeSegment } from './layout.js';
import { parseManifest, type Manifest } from './manifest.js';

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
  return parseManifest(await readText(storage, entry.key, { signal }), entry.key);
}

export interface ListResult {
  manifests: Manifest[];
  /** Manifests that could not be read, with why; listed so nobody mistakes them for good backups. */
  unreadable: Array<{ key: string; error: string }>;
}

/** Every committed backup, oldest first. */
export async function listBackups(storage: Storage, job?: string, signal?: AbortSignal): Promise<ListResult> {
  const result: ListResult = { manifests: [], unreadable: [] };
  for (const entry of await listManifestKeys(storage, job, signal)) {
    try {
      result.manifests.push(await readManifest(storage, entry, signal));
    } catch (err) {
      result.unreadable.push({ key: entry.key, error: (err as Error).message });
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

/** The commit point: the manifest, written last and never over an existing one. */
export async function commitManifest(
  storage: Storage,
  manifest: Manifest,
  signal?: AbortSignal,
): Promise<void> {
  const key = manifestKey(manifest.job, manifest.id);
  if (!storage.capabilities.atomicCreateOnly && (await storage.stat(key, { signal }))) {
    throw new LifeboatError('exists', `commit ${key}: a manifest already exists in ${storage.name}`);
  }
  await putText(storage, key, JSON.stringify(manifest, null, 2) + '\n', { signal });
}
