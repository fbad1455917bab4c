/**
 * Restores one source of a committed backup through its kind's `restore` (sources/registry.ts):
 * the one place restore asks what a source is. A kind without a restore is refused with one line
 * before anything is read.
 */
import { chooseSource, type Manifest, type SourceBackup } from '../catalog/manifest.js';
import type { SourceRestoreOptions, SourceRestoreResult } from '../sources/kind.js';
import { sourceKind } from '../sources/registry.js';
import type { Storage } from '../storages/storage.js';
import { LifeboatError } from '../util/errors.js';
import { verifyBeforeRestore } from './verify.js';

/** What a caller of restore gives; the checksum step (`verify`) is this module's to supply. */
export type RestoreOptions = Omit<SourceRestoreOptions, 'verify'>;

type Restore = (storage: Storage, part: SourceBackup, opts: RestoreOptions) => Promise<SourceRestoreResult>;

/**
 * How a kind's part of a backup is restored: by the kind, which calls `verify` (the checksums)
 * before it changes anything on the target. A restore that returns without having called it fails,
 * so a kind that forgets the checksums fails its first test instead of restoring unchecked bytes.
 */
function restorerOf(kind: string): Restore | undefined {
  const restore = sourceKind(kind)?.restore;
  return (
    restore &&
    (async (storage, part, opts) => {
      let verifying: Promise<void> | undefined;
      const verify = () =>
        (verifying ??= opts.verified ? Promise.resolve() : verifyBeforeRestore(storage, part, opts));
      const result = await restore(storage, part, { ...opts, verify });
      if (!verifying)
        throw new LifeboatError(
          'failed',
          `restore ${part.job} ${part.id}: the ${kind} restore of source ${part.name} did not check its checksums (a bug in Lifeboat)`,
        );
      return result;
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
