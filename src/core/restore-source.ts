/**
 * Restores one source of a committed backup, by its kind: the one place restore asks what a
 * source is. A kind without a restore here is refused with one line before anything is read.
 */
import { chooseSource, type Manifest, type SourceBackup } from '../catalog/manifest.js';
import type { PostgresBackup } from '../sources/postgres/record.js';
import type { Storage } from '../storages/storage.js';
import { LifeboatError } from '../util/errors.js';
import { restoreBackup, type RestoreOptions, type RestoreResult } from './restore.js';

type Restore = (storage: Storage, part: SourceBackup, opts: RestoreOptions) => Promise<RestoreResult>;

/** Per source kind, how its part of a backup is restored. */
const RESTORES: Record<string, Restore> = {
  postgres: (storage, part, opts) => restoreBackup(storage, part as PostgresBackup, opts),
};

/** The part of the backup `source` names (or its only one), and how to restore it. */
export function restorePlan(manifest: Manifest, source: string | undefined) {
  const part = chooseSource(manifest, source);
  const restore = Object.hasOwn(RESTORES, part.source.kind) ? RESTORES[part.source.kind] : undefined;
  if (!restore) {
    throw new LifeboatError(
      'usage',
      `restore ${manifest.job} ${manifest.id}: source ${part.name} is a ${part.source.kind} source, which this version of Lifeboat cannot restore`,
      { hint: 'upgrade Lifeboat' },
    );
  }
  return { part, run: (storage: Storage, opts: RestoreOptions) => restore(storage, part, opts) };
}
