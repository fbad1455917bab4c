/**
 * `signing:` in lifeboat.yaml: the keys that sign manifests (backup) and check them (verify,
 * restore, drills). Each value is either a file path or the key itself, so that
 * `key: ${LIFEBOAT_SIGNING_KEY}` works with the key in the environment (a Kubernetes Secret) and
 * `key: /etc/lifeboat/signing.key` with a mounted file. Keys are in minisign's format
 * (util/minisign.ts): `lifeboat keygen` or `minisign -G -W` makes them.
 *
 * The secret key is a secret: its text is registered with the redactor the moment it is known,
 * never put in an error message, and never leaves this process except as signatures.
 */
import { readFile } from 'node:fs/promises';
import { LifeboatError } from '../util/errors.js';
import type { Redactor } from '../util/redact.js';
import {
  keyIdHex,
  MinisignError,
  parsePublicKey,
  parseSecretKey,
  publicKeyLine,
  type PublicKey,
  type SecretKey,
} from '../util/minisign.js';
import type { Config, SigningConfig } from './schema.js';
import { unresolvedField } from './unresolved.js';

/** The key itself rather than a path: several lines, or one long base64 line (no "." or "-"). */
function isKeyText(value: string): boolean {
  const text = value.trim();
  return text.includes('\n') || /^[A-Za-z0-9+/]{40,}={0,2}$/.test(text);
}

/** Lines of key text that are key material (not the comment line). */
function materialLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('untrusted comment:'));
}

/** Masks a secret key given inline in the config, before anything could print it. */
export function registerSigningSecrets(signing: SigningConfig | undefined, redactor: Redactor): void {
  if (signing?.key && isKeyText(signing.key))
    for (const line of materialLines(signing.key)) redactor.add(line);
}

async function keyText(
  signing: SigningConfig,
  field: 'key' | 'publicKey',
): Promise<{ text: string; where: string }> {
  const problem = unresolvedField(signing, field);
  if (problem) throw problem;
  const value = signing[field]!;
  if (isKeyText(value)) return { text: value, where: `signing.${field}` };
  try {
    return { text: await readFile(value, 'utf8'), where: `signing.${field} (${value})` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LifeboatError(
      'config',
      `read signing.${field} ${value}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')}`,
      {
        hint: 'signing keys are files (or the key itself, e.g. ${LIFEBOAT_SIGNING_KEY}); lifeboat keygen makes a pair',
      },
    );
  }
}

function parsed<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof MinisignError) throw new LifeboatError('config', `${where}: ${err.message}`);
    throw err;
  }
}

const secretKeys = new WeakMap<object, Promise<SecretKey>>();

/** The secret key that signs manifests, or undefined when signing is not configured. */
export async function signingKey(config: Config, redactor: Redactor): Promise<SecretKey | undefined> {
  const signing = config.signing;
  if (!signing) return undefined;
  if (signing.key === undefined) {
    throw new LifeboatError(
      'config',
      'signing.key: not set, so backups cannot be signed (signing.publicKey alone only checks signatures)',
      { hint: 'set signing.key on the machine that backs up, e.g. key: ${LIFEBOAT_SIGNING_KEY}' },
    );
  }
  let loading = secretKeys.get(signing);
  if (!loading) {
    loading = keyText(signing, 'key').then(({ text, where }) => {
      for (const line of materialLines(text)) redactor.add(line);
      return parsed(where, () => parseSecretKey(text));
    });
    secretKeys.set(signing, loading);
  }
  const key = await loading;
  if (signing.publicKey !== undefined && !unresolvedField(signing, 'publicKey'))
    await matchingPublicKey(signing, key);
  return key;
}

async function matchingPublicKey(signing: SigningConfig, key: SecretKey): Promise<void> {
  const { text, where } = await keyText(signing, 'publicKey');
  const pk = parsed(where, () => parsePublicKey(text));
  if (publicKeyLine(pk) !== publicKeyLine(key.publicKey))
    throw new LifeboatError('config', `${where}: not the public key of signing.key`, {
      hint: 'drop signing.publicKey (it is derived from the key), or set the matching one',
    });
}

/**
 * The public key that manifests must be signed with, or undefined when signing is not configured:
 * signing.publicKey, else derived from signing.key. Once signing is configured, a key that cannot
 * be read is an error here, never a reason to accept unsigned manifests.
 */
export async function verifyingKey(config: Config, redactor: Redactor): Promise<PublicKey | undefined> {
  const signing = config.signing;
  if (!signing) return undefined;
  if (signing.publicKey !== undefined && !unresolvedField(signing, 'publicKey')) {
    const { text, where } = await keyText(signing, 'publicKey');
    return parsed(where, () => parsePublicKey(text));
  }
  if (signing.key !== undefined && !unresolvedField(signing, 'key'))
    return (await signingKey(config, redactor))!.publicKey;
  // Both unresolved (or the only one set is): the missing variable is the error.
  throw unresolvedField(signing, signing.publicKey !== undefined ? 'publicKey' : 'key')!;
}

/** For `check`: which key signs and which checks, read and matched as a backup and a restore would. */
export async function describeSigning(config: Config, redactor: Redactor): Promise<string> {
  const pk = await verifyingKey(config, redactor);
  const id = keyIdHex(pk!.keyId);
  if (config.signing?.key === undefined)
    return `manifests must be signed by key ${id} (signing.publicKey only: this machine cannot sign backups)`;
  await signingKey(config, redactor);
  return `manifests are signed and checked with key ${id}`;
}
