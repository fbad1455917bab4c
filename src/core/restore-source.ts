/**
 * Restores one source of a committed backup, by its kind (sources/registry.ts): the one place
 * restore asks what a source is. A kind without a restore is refused with one line before
 * anything is read.
 */
import { chooseSource, type Manifest, type SourceBackup } from '../catalog/manifest.js';
import type { PostgresBackup } from '../sources/postgres/record.js';
import type { Storage } from '../storages/storage.js';
import { LifeboatError } from '../util/errors.js';
import { sourceKind } from '../sources/registry.js';
import { restoreBackup, type RestoreOptions, type RestoreResult } from './restore.js';
import { verifyBeforeRestore } from './verify.js';

type Restore = (storage: Storage, part: SourceBackup, opts: RestoreOptions) => Promise<RestoreResult>;

/** PostgreSQL's restore predates the kind seam (sources/kind.ts) and lives in this folder. */
const BUILT_IN: Record<string, Restore> = {
  postgres: (storage, part, opts) => restoreBackup(storage, part as PostgresBackup, opts),
};

/** How a kind's part of a backup is restored: checksums first, then the kind's own restore. */
function restorerOf(kind: string): Restore | undefined {
  if (Object.hasOwn(BUILT_IN, kind)) return BUILT_IN[kind];
  const restore = sourceKind(kind)?.restore;
  return (
    restore &&
    (async (storage, part, opts) => {
      if (!opts.verified) await verifyBeforeRestore(storage, part, opts);
      return restore(storage, part, { ...opts, verified: true });
    })
  );
}

/** The part of the backup `source` names (or its only one), and how to restore it. */
export function restorePlan(manifest: Manifest, source: string | undefined) {
  const part = chooseSource(manifest, source);
  const restore = restorerOf(part.source.kind);
  if (!restore) {
    throw new LifeboatError(
      'usage',
      `restore ${manifest.job} ${manifest.id}: source ${part.name} is a ${part.source.kind} source, which this version of Lifeboat cannot restore`,
      { hint: 'upgrade Lifeboat' },
    );
  }
  return { part, run: (storage: Storage, opts: RestoreOptions) => restore(storage, part, opts) };
}
