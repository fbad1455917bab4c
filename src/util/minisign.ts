/**
 * The minisign file formats (https://jedisct1.github.io/minisign/), so that a signature Lifeboat
 * writes is checked by hand with `minisign -Vm FILE -p KEY.pub`, and a key made with
 * `minisign -G -W` works in Lifeboat. Node's crypto has everything it needs: Ed25519 and
 * BLAKE2b-512 (the "ED" pre-hashed signature, minisign's default).
 *
 *   public key:  "Ed" ‖ key id (8) ‖ Ed25519 public key (32)
 *   secret key:  "Ed" ‖ kdf (2) ‖ "B2" ‖ salt (32) ‖ opslimit (8) ‖ memlimit (8) ‖
 *                key id (8) ‖ Ed25519 secret key: seed (32) ‖ public key (32) ‖ checksum (32)
 *   signature:   "ED" ‖ key id (8) ‖ Ed25519(BLAKE2b-512(message)) (64), then a trusted comment
 *                and Ed25519(signature ‖ trusted comment) (64)
 *
 * Only unencrypted secret keys (kdf "\0\0", as `minisign -G -W` writes them, with salt, limits
 * and checksum zero) are read: an encrypted one needs a password and a 1 GiB scrypt run.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

const UNTRUSTED = 'untrusted comment: ';
const TRUSTED = 'trusted comment: ';
const ALG = Buffer.from('Ed');
const ALG_HASHED = Buffer.from('ED');
const KDF_NONE = Buffer.from([0, 0]);
const KDF_SCRYPT = Buffer.from('Sc');
const CHK_ALG = Buffer.from('B2');
const SECRET_LENGTH = 158;

/** A malformed key or signature, or one that does not verify; the message says which. */
export class MinisignError extends Error {}

export interface PublicKey {
  keyId: Buffer;
  key: Buffer;
}

export interface SecretKey {
  keyId: Buffer;
  /** Never printed or stored by Lifeboat: only used to sign. */
  privateKey: KeyObject;
  publicKey: PublicKey;
}

/** The id minisign prints: the 8 id bytes as a little-endian number in upper-case hex. */
export function keyIdHex(keyId: Buffer): string {
  return Buffer.from(keyId).reverse().toString('hex').toUpperCase();
}

const b64url = (b: Buffer) => b.toString('base64url');

function ed25519Private(seed: Buffer, pub: Buffer): KeyObject {
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(pub) },
    format: 'jwk',
  });
}

function ed25519Public(pub: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pub) }, format: 'jwk' });
}

/** The base64 line of a key file: the line after the untrusted comment, or the whole text. */
function dataLine(text: string, what: string): Buffer {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const line = lines.find((l) => l !== '' && !l.startsWith(UNTRUSTED));
  if (!line || !/^[A-Za-z0-9+/]+={0,2}$/.test(line)) throw new MinisignError(`not a minisign ${what}`);
  return Buffer.from(line, 'base64');
}

export function parsePublicKey(text: string): PublicKey {
  const bytes = dataLine(text, 'public key');
  if (bytes.length !== 42 || !bytes.subarray(0, 2).equals(ALG))
    throw new MinisignError('not a minisign Ed25519 public key');
  return { keyId: bytes.subarray(2, 10), key: bytes.subarray(10, 42) };
}

export function parseSecretKey(text: string): SecretKey {
  const bytes = dataLine(text, 'secret key');
  if (
    bytes.length !== SECRET_LENGTH ||
    !bytes.subarray(0, 2).equals(ALG) ||
    !bytes.subarray(4, 6).equals(CHK_ALG)
  )
    throw new MinisignError('not a minisign Ed25519 secret key');
  const kdf = bytes.subarray(2, 4);
  if (kdf.equals(KDF_SCRYPT))
    throw new MinisignError(
      'the secret key is password-protected; use one without a password (minisign -G -W, or lifeboat keygen)',
    );
  if (!kdf.equals(KDF_NONE)) throw new MinisignError('unknown key derivation in the secret key');
  const keyId = bytes.subarray(54, 62);
  const seed = bytes.subarray(62, 94);
  const pub = bytes.subarray(94, 126);
  let privateKey: KeyObject;
  try {
    privateKey = ed25519Private(seed, pub);
    // The stored public half must be the seed's: a damaged key would sign what nobody can verify.
    const derived = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
    if (!derived.equals(pub)) throw new Error('mismatch');
  } catch {
    throw new MinisignError('the secret key is damaged (its public half does not match)');
  }
  return { keyId, privateKey, publicKey: { keyId, key: pub } };
}

export function formatPublicKey(pk: PublicKey): string {
  return `${UNTRUSTED}minisign public key ${keyIdHex(pk.keyId)}\n${publicKeyLine(pk)}\n`;
}

/** The single base64 line, as `minisign -P` takes it. */
export function publicKeyLine(pk: PublicKey): string {
  return Buffer.concat([ALG, pk.keyId, pk.key]).toString('base64');
}

/** A new key pair: the secret key file's text (unencrypted, as `minisign -G -W`) and the public key. */
export function generateKeyPair(): { secretKeyText: string; secretKeyLine: string; publicKey: PublicKey } {
  const keyId = randomBytes(8);
  const seed = randomBytes(32);
  const priv = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const pub = Buffer.from(createPublicKey(priv).export({ format: 'jwk' }).x!, 'base64url');
  const bytes = Buffer.concat([ALG, KDF_NONE, CHK_ALG, Buffer.alloc(48), keyId, seed, pub, Buffer.alloc(32)]);
  const secretKeyLine = bytes.toString('base64');
  return {
    secretKeyText: `${UNTRUSTED}minisign secret key ${keyIdHex(keyId)} (unencrypted)\n${secretKeyLine}\n`,
    secretKeyLine,
    publicKey: { keyId, key: pub },
  };
}

const prehash = (message: Buffer) => createHash('blake2b512').update(message).digest();

/** A `.minisig` file's text for `message`. The trusted comment is signed too: one line, no newline. */
export function signMessage(
  message: Buffer,
  sk: SecretKey,
  opts: { trustedComment: string; untrustedComment?: string },
): string {
  if (/[\r\n]/.test(opts.trustedComment)) throw new MinisignError('a trusted comment is one line');
  const sig = sign(null, prehash(message), sk.privateKey);
  const globalSig = sign(null, Buffer.concat([sig, Buffer.from(opts.trustedComment, 'utf8')]), sk.privateKey);
  return (
    `${UNTRUSTED}${opts.untrustedComment ?? 'signature from minisign secret key'}\n` +
    `${Buffer.concat([ALG_HASHED, sk.keyId, sig]).toString('base64')}\n` +
    `${TRUSTED}${opts.trustedComment}\n${globalSig.toString('base64')}\n`
  );
}

/**
 * Checks a `.minisig` text against `message` and the public key, as `minisign -V` does (the
 * pre-hashed "ED" form; the legacy "Ed" form too). Returns the trusted comment; throws a
 * MinisignError saying what failed.
 */
export function verifyMessage(message: Buffer, sigText: string, pk: PublicKey): { trustedComment: string } {
  const lines = sigText.split(/\r?\n/);
  if (lines.length < 4 || !lines[0]!.startsWith(UNTRUSTED) || !lines[2]!.startsWith(TRUSTED))
    throw new MinisignError('not a minisign signature file');
  const sigBytes = Buffer.from(lines[1]!.trim(), 'base64');
  const globalSig = Buffer.from(lines[3]!.trim(), 'base64');
  const alg = sigBytes.subarray(0, 2);
  if (sigBytes.length !== 74 || globalSig.length !== 64 || !(alg.equals(ALG_HASHED) || alg.equals(ALG)))
    throw new MinisignError('not a minisign signature file');
  const keyId = sigBytes.subarray(2, 10);
  if (!keyId.equals(pk.keyId))
    throw new MinisignError(`signed with key ${keyIdHex(keyId)}, expected key ${keyIdHex(pk.keyId)}`);
  const key = ed25519Public(pk.key);
  const sig = sigBytes.subarray(10);
  if (!verify(null, alg.equals(ALG_HASHED) ? prehash(message) : message, key, sig))
    throw new MinisignError('the signature does not match the content');
  const trustedComment = lines[2]!.slice(TRUSTED.length);
  if (!verify(null, Buffer.concat([sig, Buffer.from(trustedComment, 'utf8')]), key, globalSig))
    throw new MinisignError('the trusted comment does not match its signature');
  return { trustedComment };
}
