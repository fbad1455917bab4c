/**
 * One backup, several copies: a job that writes to several storages has the same manifest (job and
 * id) in each. Reading commands look at the storages in their configured order, show each backup
 * once with where it is, and read it from the first storage that holds it.
 */
import { LifeboatError } from '../util/errors.js';
import type { Storage } from '../storages/storage.js';
import { compareIds, findBackup, listManifestKeys, readManifest, type CatalogEntry } from './catalog.js';
import { manifestKey } from './layout.js';
import type { Manifest } from './manifest.js';

export interface Copy {
  storage: Storage;
  entry: CatalogEntry;
}

export interface Located {
  /** The manifest as read from the first copy that could be read. */
  manifest: Manifest;
  /** Every storage holding it, in configured order. */
  copies: Copy[];
}

export interface ListedAcross {
  backups: Located[];
  unreadable: Array<{ storage: Storage; key: string; error: string }>;
}

const keyOf = (e: CatalogEntry) => `${e.job}\n${e.id}`;

async function entriesByBackup(
  storages: Storage[],
  job: string | undefined,
  signal?: AbortSignal,
): Promise<Map<string, Copy[]>> {
  const byBackup = new Map<string, Copy[]>();
  for (const storage of storages) {
    for (const entry of await listManifestKeys(storage, job, signal)) {
      const copies = byBackup.get(keyOf(entry)) ?? [];
      copies.push({ storage, entry });
      byBackup.set(keyOf(entry), copies);
    }
  }
  return byBackup;
}

const ordered = (copies: Copy[][]) =>
  copies.sort(
    (a, b) => compareIds(a[0]!.entry.id, b[0]!.entry.id) || a[0]!.entry.job.localeCompare(b[0]!.entry.job),
  );

/** Every committed backup in any of the storages, once each, oldest first. */
export async function listAcross(
  storages: Storage[],
  job?: string,
  signal?: AbortSignal,
): Promise<ListedAcross> {
  const result: ListedAcross = { backups: [], unreadable: [] };
  for (const copies of ordered([...(await entriesByBackup(storages, job, signal)).values()])) {
    let manifest: Manifest | undefined;
    const readable: Copy[] = [];
    for (const copy of copies) {
      try {
        const m = await readManifest(copy.storage, copy.entry, signal);
        manifest ??= m;
        readable.push(copy);
      } catch (err) {
        if (signal?.aborted) throw err;
        result.unreadable.push({ storage: copy.storage, key: copy.entry.key, error: (err as Error).message });
      }
    }
    if (manifest) result.backups.push({ manifest, copies: readable });
  }
  return result;
}

/** One backup by id or "latest" across the storages; with no job given, it must be unambiguous. */
export async function findAcross(
  storages: Storage[],
  ref: string,
  job?: string,
  signal?: AbortSignal,
): Promise<Located> {
  if (storages.length === 1) {
    const manifest = await findBackup(storages[0]!, ref, job, signal);
    const entry = { job: manifest.job, id: manifest.id, key: manifestKey(manifest.job, manifest.id) };
    return { manifest, copies: [{ storage: storages[0]!, entry }] };
  }
  // Ref syntax and "no such backup" messages come from findBackup on each storage.
  if (ref !== 'latest') await findBackup(storages[0]!, ref, job, signal).catch(rethrowUsage);
  const all = ordered([...(await entriesByBackup(storages, job, signal)).values()]);
  const where = storages.map((s) => s.name).join(', ');
  let candidates = all;
  if (ref === 'latest') {
    const jobs = new Set(all.map((c) => c[0]!.entry.job));
    if (!job && jobs.size > 1)
      throw new LifeboatError(
        'usage',
        `find latest backup: the storages hold several jobs (${[...jobs].join(', ')})`,
        {
          hint: 'add --job NAME',
        },
      );
    candidates = all.slice(-1);
  } else {
    candidates = all.filter((c) => c[0]!.entry.id === ref);
    if (candidates.length > 1)
      throw new LifeboatError(
        'usage',
        `find backup ${ref}: several jobs have it (${candidates.map((c) => c[0]!.entry.job).join(', ')})`,
        { hint: 'add --job NAME' },
      );
  }
  const copies = candidates[0];
  if (!copies)
    throw new LifeboatError(
      'not-found',
      ref === 'latest'
        ? `find latest backup${job ? ` of ${job}` : ''}: no committed backup in ${where}`
        : `find backup ${ref}${job ? ` of ${job}` : ''}: no such backup in ${where}`,
      { hint: 'run lifeboat list to see the ids' },
    );
  let lastError: unknown;
  for (const copy of copies) {
    try {
      return { manifest: await readManifest(copy.storage, copy.entry, signal), copies };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/** A bad ref is a usage error wherever it is looked up; a backup missing from one storage is not. */
function rethrowUsage(err: unknown): void {
  if (err instanceof LifeboatError && err.code === 'usage' && /expected an id/.test(err.message)) throw err;
}
