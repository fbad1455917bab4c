/**
 * Signed manifests (SPEC §6): with `signing:` configured, each manifest gets a minisign signature of
 * its exact bytes at `.lifeboat/{job}/{id}.json.minisig`, written BEFORE the manifest, so a
 * committed manifest is never unsigned. The manifest holds every artifact's size and SHA-256, so
 * the signature covers the whole backup: rewriting an artifact, its sidecar and the manifest
 * together no longer passes verify, restore or a drill. By hand, in the catalog folder:
 * `minisign -Vm {id}.json -p lifeboat-signing.pub`.
 *
 * The signature is Lifeboat's file in Lifeboat's folder: a run that fails before its manifest is
 * committed removes it (backup.ts), prune removes it after its manifest (prune.ts), and a leftover
 * one of a killed run is removed with that run's intent. Its name matches neither the manifest
 * pattern of catalog.ts nor the intent's or drill report's, so it is never read as one of those.
 */
import { isLifeboatError, LifeboatError } from '../util/errors.js';
import { readText, putText, type Storage } from '../storages/storage.js';
import {
  keyIdHex,
  MinisignError,
  signMessage,
  verifyMessage,
  type PublicKey,
  type SecretKey,
} from '../util/minisign.js';
import { CATALOG_PREFIX, manifestKey, safeSegment } from './layout.js';
import { parseManifest, type Manifest } from './manifest.js';

export const SIGNATURE_SUFFIX = '.minisig';

const SIGNATURE_KEY = /^\.lifeboat\/([^/]+)\/([0-9]{8}T[0-9]{6}Z(?:-[0-9]+)?)\.json\.minisig$/;

export function signatureKey(job: string, id: string): string {
  return manifestKey(job, id) + SIGNATURE_SUFFIX;
}

/** The signature's text for a manifest's exact bytes; the trusted comment names the backup. */
export function signManifest(text: string, manifest: Manifest, key: SecretKey, now = new Date()): string {
  const trustedComment = `timestamp:${Math.floor(now.getTime() / 1000)}\tfile:${manifest.id}.json\tjob:${safeSegment(manifest.job)}`;
  return signMessage(Buffer.from(text, 'utf8'), key, {
    trustedComment,
    untrustedComment: `lifeboat manifest signature, key ${keyIdHex(key.keyId)}`,
  });
}

/** Create-only, like the manifest it goes with. */
export async function writeSignature(
  storage: Storage,
  manifest: Manifest,
  signature: string,
  signal?: AbortSignal,
): Promise<void> {
  const key = signatureKey(manifest.job, manifest.id);
  if (!storage.capabilities.atomicCreateOnly && (await storage.stat(key, { signal })))
    throw new LifeboatError(
      'exists',
      `sign ${manifestKey(manifest.job, manifest.id)}: ${key} already exists`,
    );
  await putText(storage, key, signature, { signal });
}

/**
 * Checks the stored manifest of `manifest` against its signature and the public key. Throws an
 * integrity error containing `signature FAILED` when it is unsigned, signed by another key, or
 * its bytes are not the ones signed; also when the stored manifest is not the one the caller
 * holds (it was replaced since the caller read it).
 */
export async function checkManifestSignature(
  storage: Storage,
  manifest: Manifest,
  publicKey: PublicKey,
  signal?: AbortSignal,
): Promise<void> {
  const key = manifestKey(manifest.job, manifest.id);
  const sigKey = signatureKey(manifest.job, manifest.id);
  const fail = (detail: string) =>
    new LifeboatError('integrity', `check signature of ${key}: signature FAILED: ${detail}`, {
      hint: 'signing is configured and this manifest is not signed by its key: do not restore from it',
    });
  const text = await readText(storage, key, { signal });
  let signature: string;
  try {
    signature = await readText(storage, sigKey, { signal });
  } catch (err) {
    if (isLifeboatError(err, 'not-found')) throw fail(`it is not signed (no ${sigKey})`);
    throw err;
  }
  try {
    verifyMessage(Buffer.from(text, 'utf8'), signature, publicKey);
  } catch (err) {
    if (err instanceof MinisignError) throw fail(err.message);
    throw err;
  }
  if (JSON.stringify(parseManifest(text, key)) !== JSON.stringify(manifest))
    throw fail('the manifest changed after it was read');
}

export interface SignatureEntry {
  key: string;
  job: string;
  id: string;
  modified: Date;
}

/** Signature files of a job (or of every job), whatever their manifest's state. */
export async function listSignatures(
  storage: Storage,
  job?: string,
  signal?: AbortSignal,
): Promise<SignatureEntry[]> {
  const prefix = job ? `${CATALOG_PREFIX}${safeSegment(job)}/` : CATALOG_PREFIX;
  const found: SignatureEntry[] = [];
  for await (const obj of storage.list(prefix, { signal })) {
    const m = SIGNATURE_KEY.exec(obj.key);
    if (m) found.push({ key: obj.key, job: decodeURIComponent(m[1]!), id: m[2]!, modified: obj.modified });
  }
  return found;
}
