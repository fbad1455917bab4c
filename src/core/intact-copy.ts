/**
 * Picks the copy of a backup to read: the first storage (configured order) whose copy passes its
 * checksums; a copy that fails them is reported and the next one tried. With one copy there is
 * nothing to choose, and the caller verifies as it reads.
 */
import { readManifest } from '../catalog/catalog.js';
import type { Located } from '../catalog/copies.js';
import type { Manifest } from '../catalog/manifest.js';
import type { Storage } from '../storages/storage.js';
import { isLifeboatError, oneLine } from '../util/errors.js';
import { verifyBeforeRestore } from './restore.js';

export async function intactCopy(
  found: Located,
  opts: {
    signal?: AbortSignal;
    log?: (line: string) => void;
    warn: (line: string) => void;
    onBytes?: (key: string, read: number) => void;
    /** false: the last copy is returned unchecked, for a caller that verifies and reports it itself. */
    verifyLast?: boolean;
  },
): Promise<{ storage: Storage; manifest: Manifest; verified: boolean }> {
  const { copies } = found;
  if (copies.length === 1) return { storage: copies[0]!.storage, manifest: found.manifest, verified: false };
  for (const [i, copy] of copies.entries()) {
    const next = copies[i + 1];
    try {
      const manifest = i === 0 ? found.manifest : await readManifest(copy.storage, copy.entry, opts.signal);
      if (!next && opts.verifyLast === false) return { storage: copy.storage, manifest, verified: false };
      await verifyBeforeRestore(copy.storage, manifest, opts);
      return { storage: copy.storage, manifest, verified: true };
    } catch (err) {
      if (!next || !isLifeboatError(err, 'integrity')) throw err;
      opts.warn(
        `${found.manifest.job} ${found.manifest.id}: the copy in ${copy.storage.name} fails its checksum (${oneLine(err)}); reading from ${next.storage.name} instead`,
      );
    }
  }
  throw new Error('unreachable');
}
