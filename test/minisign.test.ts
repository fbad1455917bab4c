/**
 * The minisign formats (src/util/minisign.ts) against the real `minisign` program: keys and
 * signatures go both ways, and each way a signature or key can be wrong is refused with its reason.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import {
  formatPublicKey,
  generateKeyPair,
  keyIdHex,
  parsePublicKey,
  parseSecretKey,
  signMessage,
  verifyMessage,
} from '../src/util/minisign.js';
import { tempDir } from './helpers/roundtrip.js';

const MESSAGE = Buffer.from('{"format":"lifeboat-manifest"}\n');

/** A key pair made by minisign itself, without a password. */
async function minisignKeys(dir: string) {
  execFileSync('minisign', ['-G', '-W', '-p', 'k.pub', '-s', 'k.key'], { cwd: dir, stdio: 'pipe' });
  return {
    secret: await readFile(path.join(dir, 'k.key'), 'utf8'),
    public: await readFile(path.join(dir, 'k.pub'), 'utf8'),
  };
}

test("minisign's key signs in Lifeboat, and minisign verifies it; minisign's signatures verify here", async (t) => {
  const dir = await tempDir(t);
  const keys = await minisignKeys(dir);
  const sk = parseSecretKey(keys.secret);
  const pk = parsePublicKey(keys.public);
  assert.deepEqual(pk.keyId, sk.keyId);
  await writeFile(path.join(dir, 'm.json'), MESSAGE);
  await writeFile(
    path.join(dir, 'm.json.minisig'),
    signMessage(MESSAGE, sk, { trustedComment: 'file:m.json' }),
  );
  const out = execFileSync('minisign', ['-Vm', 'm.json', '-p', 'k.pub'], { cwd: dir }).toString();
  assert.match(out, /Trusted comment: file:m\.json/);

  execFileSync('minisign', ['-S', '-s', 'k.key', '-m', 'm.json', '-x', 'pre.sig'], {
    cwd: dir,
    stdio: 'pipe',
  });
  assert.match(
    verifyMessage(MESSAGE, await readFile(path.join(dir, 'pre.sig'), 'utf8'), pk).trustedComment,
    /file:m\.json/,
  );
  // The legacy form (the message itself signed, "Ed") too.
  execFileSync('minisign', ['-S', '-l', '-s', 'k.key', '-m', 'm.json', '-x', 'legacy.sig'], {
    cwd: dir,
    stdio: 'pipe',
  });
  verifyMessage(MESSAGE, await readFile(path.join(dir, 'legacy.sig'), 'utf8'), pk);
});

test("Lifeboat's key pair works in minisign: it signs, and -R recreates the same public key", async (t) => {
  const dir = await tempDir(t);
  const pair = generateKeyPair();
  await writeFile(path.join(dir, 'l.key'), pair.secretKeyText);
  await writeFile(path.join(dir, 'l.pub'), formatPublicKey(pair.publicKey));
  await writeFile(path.join(dir, 'm.json'), MESSAGE);
  execFileSync('minisign', ['-S', '-s', 'l.key', '-m', 'm.json'], { cwd: dir, stdio: 'pipe' });
  execFileSync('minisign', ['-Vm', 'm.json', '-p', 'l.pub'], { cwd: dir, stdio: 'pipe' });
  execFileSync('minisign', ['-R', '-s', 'l.key', '-p', 'again.pub'], { cwd: dir, stdio: 'pipe' });
  assert.deepEqual(parsePublicKey(await readFile(path.join(dir, 'again.pub'), 'utf8')), pair.publicKey);
  assert.equal(keyIdHex(Buffer.from('0102030405060708', 'hex')), '0807060504030201');
});

test('each wrong signature is refused with its reason', () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const sk = parseSecretKey(a.secretKeyText);
  const sig = signMessage(MESSAGE, sk, { trustedComment: 'timestamp:1\tfile:m.json' });
  verifyMessage(MESSAGE, sig, a.publicKey);
  assert.throws(
    () => verifyMessage(Buffer.from('{}\n'), sig, a.publicKey),
    /the signature does not match the content/,
  );
  assert.throws(
    () => verifyMessage(MESSAGE, sig, b.publicKey),
    /signed with key [0-9A-F]{16}, expected key [0-9A-F]{16}/,
  );
  const comment = sig.replace('file:m.json', 'file:other.json');
  assert.throws(
    () => verifyMessage(MESSAGE, comment, a.publicKey),
    /the trusted comment does not match its signature/,
  );
  // Another key's signature under this key's id: the key id alone proves nothing.
  const forged = signMessage(
    MESSAGE,
    { ...parseSecretKey(b.secretKeyText), keyId: a.publicKey.keyId },
    {
      trustedComment: 'x',
    },
  );
  assert.throws(
    () => verifyMessage(MESSAGE, forged, a.publicKey),
    /the signature does not match the content/,
  );
  assert.throws(() => verifyMessage(MESSAGE, 'garbage', a.publicKey), /not a minisign signature file/);
  assert.throws(() => signMessage(MESSAGE, sk, { trustedComment: 'a\nb' }), /one line/);
});

test('a password-protected, damaged or foreign secret key is refused with its reason', async (t) => {
  const { secretKeyText } = generateKeyPair();
  const [comment, line] = secretKeyText.split('\n');
  const bytes = Buffer.from(line!, 'base64');
  const withKdf = Buffer.from(bytes);
  withKdf.write('Sc', 2, 'latin1');
  assert.throws(
    () => parseSecretKey(`${comment}\n${withKdf.toString('base64')}\n`),
    /the secret key is password-protected; use one without a password/,
  );
  const damaged = Buffer.from(bytes);
  damaged[100] = damaged[100]! ^ 1; // in the public half
  assert.throws(() => parseSecretKey(damaged.toString('base64')), /the secret key is damaged/);
  assert.throws(() => parseSecretKey('/etc/lifeboat/signing.key'), /not a minisign secret key/);
  assert.throws(
    () => parseSecretKey(bytes.subarray(0, 100).toString('base64')),
    /not a minisign Ed25519 secret key/,
  );
  assert.throws(() => parsePublicKey(line!), /not a minisign Ed25519 public key/);
  // minisign refuses the protected one too, so the test holds the real format.
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'p.key'), `${comment}\n${withKdf.toString('base64')}\n`);
  const r = spawnSync('minisign', ['-S', '-s', 'p.key', '-m', 'p.key'], { cwd: dir, input: '\n' });
  assert.notEqual(r.status, 0);
});
