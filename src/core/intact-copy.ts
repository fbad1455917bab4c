/**
 * Picks the copy of a backup to read: the first storage (configured order) whose copy passes its
 * checksums (and, with signing configured, its signature); a copy that fails them is reported and
 * the next one tried. With one copy there is nothing to choose, and the caller verifies as it reads.
 */
import { readManifest } from '../catalog/catalog.js';
import { checkManifestSignature } from '../catalog/signature.js';
import type { Located } from '../catalog/copies.js';
import type { Manifest } from '../catalog/manifest.js';
import type { CodecKeys } from '../codecs/chain.js';
import type { Storage } from '../storages/storage.js';
import type { PublicKey } from '../util/minisign.js';
import { isLifeboatError, oneLine } from '../util/errors.js';
import { verifyBeforeRestore } from './verify.js';

/**
 * Checks a manifest's signature (catalog/signature.ts), printing the marker `signature OK` or
 * `signature FAILED: <why>`; throws an integrity error for a manifest that is not signed by `key`.
 */
export async function checkSigned(
  storage: Storage,
  manifest: Manifest,
  key: PublicKey,
  opts: { signal?: AbortSignal; log?: (line: string) => void },
): Promise<void> {
  try {
    await checkManifestSignature(storage, manifest, key, opts.signal);
  } catch (err) {
    if (isLifeboatError(err, 'integrity'))
      opts.log?.(`signature FAILED: ${oneLine(err).replace(/^.*?signature FAILED: /, '')}`);
    throw err;
  }
  opts.log?.('signature OK');
}

export async function intactCopy(
  found: Located,
  opts: {
    signal?: AbortSignal;
    log?: (line: string) => void;
    warn: (line: string) => void;
    onBytes?: (key: string, read: number) => void;
    /** The key manifests must be signed with: a copy without a good signature is not intact. */
    signedBy?: PublicKey;
    /** What decrypting an encrypted backup needs (see verifyBeforeRestore). */
    keys?: CodecKeys;
    /** false: the last copy is returned unchecked, for a caller that verifies and reports it itself. */
    verifyLast?: boolean;
  },
): Promise<{ storage: Storage; manifest: Manifest; verified: boolean }> {
  const { copies } = found;
  if (copies.length === 1) {
    // The caller checks the checksums as it reads; the signature covers the whole manifest (a
    // restore reads a part of it), so it is checked here, unless the caller checks it too.
    if (opts.signedBy && opts.verifyLast !== false)
      await checkSigned(copies[0]!.storage, found.manifest, opts.signedBy, opts);
    return { storage: copies[0]!.storage, manifest: found.manifest, verified: false };
  }
  for (const [i, copy] of copies.entries()) {
    const next = copies[i + 1];
    // What the warning says failed: the check running when the integrity error came.
    let failing = 'its manifest check';
    try {
      const manifest = i === 0 ? found.manifest : await readManifest(copy.storage, copy.entry, opts.signal);
      if (!next && opts.verifyLast === false) return { storage: copy.storage, manifest, verified: false };
      failing = 'its signature check';
      if (opts.signedBy) await checkSigned(copy.storage, manifest, opts.signedBy, opts);
      failing = 'its checksum';
      await verifyBeforeRestore(copy.storage, manifest, { ...opts, signed: Boolean(opts.signedBy) });
      return { storage: copy.storage, manifest, verified: true };
    } catch (err) {
      if (!next || !isLifeboatError(err, 'integrity')) throw err;
      // Decrypting runs with the checksums (verifyBeforeRestore); its errors say decrypt FAILED.
      if (/decrypt FAILED/.test(err.message)) failing = 'to decrypt';
      opts.warn(
        `${found.manifest.job} ${found.manifest.id}: the copy in ${copy.storage.name} fails ${failing} (${oneLine(err)}); reading from ${next.storage.name} instead`,
      );
    }
  }
  throw new Error('unreachable');
}
