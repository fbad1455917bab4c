/**
 * age encryption (https://age-encryption.org), the last stage of the chain: the standard `age`
 * program encrypts to the job's recipients on backup and decrypts with an identity file on
 * restore. Measured against the `age-encryption` npm package it is about 8× faster and keeps
 * the bytes out of Node (README, "Encryption"). Only public recipients are ever recorded; the
 * identity is read by age itself from a file named by config or LIFEBOAT_AGE_IDENTITY_FILE, so
 * its contents never pass through Lifeboat.
 */
import { existsSync } from 'node:fs';
import { LifeboatError } from '../util/errors.js';
import type { Codec } from './codec.js';

export const IDENTITY_ENV = 'LIFEBOAT_AGE_IDENTITY_FILE';

export interface AgeSettings {
  type?: 'age';
  /** X25519 (age1…) or SSH (ssh-ed25519 / ssh-rsa) public keys; any one identity decrypts. */
  recipients: string[];
}

export interface AgeKeys {
  /** A file of age identities (AGE-SECRET-KEY-1…) or an SSH private key. */
  identityFile?: string;
  /** The config setting that names the identity file, for messages (jobs.app.encryption.identityFile). */
  setting?: string;
}

const X25519 = /^age1[02-9ac-hj-np-z]{58}$/;
const SSH = /^ssh-(ed25519|rsa) [A-Za-z0-9+/]+={0,2}( .*)?$/;

export const RECIPIENT_EXPECTED =
  'expected an age recipient (age1…) or an SSH public key (ssh-ed25519 … or ssh-rsa …)';

/** What is wrong with a recipient string, if anything (checked with the config). */
export function recipientProblem(recipient: string): string | undefined {
  return X25519.test(recipient) || SSH.test(recipient) ? undefined : RECIPIENT_EXPECTED;
}

/** A recipient short enough for one error line: SSH keys keep their type, start and end. */
function shortRecipient(r: string): string {
  const [type, key, ...comment] = r.split(' ');
  if (!key || key.length <= 24) return r;
  return [type, `${key.slice(0, 12)}…${key.slice(-8)}`, ...comment].join(' ');
}

export function ageCodec(settings: AgeSettings, keys: AgeKeys = {}): Codec {
  const identityFile = keys.identityFile ?? process.env[IDENTITY_ENV];
  const recipients = settings.recipients.map(shortRecipient).join(', ');
  const where = [keys.setting, IDENTITY_ENV].filter(Boolean).join(' or ');
  return {
    name: 'age',
    extension: '.age',
    encode: () => ({
      command: 'age',
      args: settings.recipients.flatMap((r) => ['-r', r]),
      label: 'age',
      fatal: /^age: error:/,
    }),
    decode: (file) => ({
      command: 'age',
      args: ['-d', '-i', identityFile ?? '', ...(file ? ['--', file] : [])],
      label: 'age -d',
      fatal: /^age: error:/,
    }),
    byHand: 'age -d -i key.txt',
    // The header opened (the identity matched) and the payload then stopped: "failed to decrypt
    // and authenticate payload chunk" for a prefix, as for altered bytes.
    cutShort: (err) => /^decrypt FAILED: .*payload/.test(err.message),
    authenticates: true,
    decodeProblem: () => {
      // The setting is named in the message, not only the hint: serve's run records and alerts
      // carry the message alone.
      if (!identityFile)
        return new LifeboatError(
          'config',
          `decrypt backup: it is encrypted with age and no identity is set (${where})`,
          { hint: 'give a file holding the age identity (AGE-SECRET-KEY-1…) or SSH private key' },
        );
      if (!existsSync(identityFile))
        return new LifeboatError('config', `decrypt backup: identity file ${identityFile} does not exist`, {
          hint: `check ${where}`,
        });
      return undefined;
    },
    decodeError: (err, stderr) => {
      const line = stderr.find((l) => l.startsWith('age: error:'))?.slice('age: error: '.length);
      if (!line) return err;
      if (/no identity matched/.test(line))
        return new LifeboatError(
          'integrity',
          `decrypt FAILED: no identity matches (recipients: ${recipients})`,
          {
            hint: `the identity in ${where} is not one of the backup's recipients`,
          },
        );
      if (/^reading ".*": /.test(line))
        return new LifeboatError('config', `decrypt FAILED: cannot read the identity file (${where})`);
      return new LifeboatError('integrity', `decrypt FAILED: ${line}`, {
        hint: 'the stored ciphertext was altered or cut short; nothing of it was restored',
      });
    },
  };
}
