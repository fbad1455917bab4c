/**
 * `lifeboat keygen [--out DIR] [--force]`: a signing key pair for `signing:` (minisign format, so
 * `minisign -V` checks Lifeboat's signatures by hand). The secret key file is created 0600 and
 * never printed; only the public key and the file names are shown.
 */
import { chmod, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError } from '../../util/errors.js';
import { formatPublicKey, generateKeyPair, keyIdHex, publicKeyLine } from '../../util/minisign.js';
import type { Context } from '../context.js';

export const SECRET_KEY_FILE = 'lifeboat-signing.key';
export const PUBLIC_KEY_FILE = 'lifeboat-signing.pub';

/** Creates `file` with `text` and `mode`, never over an existing file unless `force`. */
async function writeNew(file: string, text: string, mode: number, force: boolean): Promise<void> {
  if (force) await rm(file, { force: true });
  let fh;
  try {
    fh = await open(file, 'wx', mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new LifeboatError('exists', `write ${file}: it already exists`, {
        hint: 'keep the existing key pair, or pass --force to replace it (backups signed with the old key then fail to verify)',
      });
    throw new LifeboatError('failed', `write ${file}: ${code ?? 'failed'}`);
  }
  try {
    // The umask may have widened nothing, but make the mode exact whatever it is.
    await chmod(file, mode);
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function keygenCommand(ctx: Context, opts: { out?: string; force?: boolean }): Promise<number> {
  const dir = opts.out ?? '.';
  const secretFile = path.join(dir, SECRET_KEY_FILE);
  const publicFile = path.join(dir, PUBLIC_KEY_FILE);
  const pair = generateKeyPair();
  // Masked everywhere from here on, should anything ever try to print it.
  ctx.redactor.add(pair.secretKeyLine);
  await writeNew(secretFile, pair.secretKeyText, 0o600, Boolean(opts.force));
  await writeNew(publicFile, formatPublicKey(pair.publicKey), 0o644, Boolean(opts.force));
  const keyId = keyIdHex(pair.publicKey.keyId);
  const line = publicKeyLine(pair.publicKey);
  ctx.output.result(
    [
      `secret key: ${secretFile} (mode 0600; it signs backups: keep it secret, e.g. in a Kubernetes Secret)`,
      `public key: ${publicFile} (key id ${keyId})`,
      line,
      `config:     signing: { key: ${secretFile} }   (or key: \${LIFEBOAT_SIGNING_KEY} holding the file's text)`,
      `by hand:    minisign -Vm .lifeboat/JOB/ID.json -P ${line}`,
    ],
    { secretKeyFile: secretFile, publicKeyFile: publicFile, keyId, publicKey: line },
  );
  return 0;
}
