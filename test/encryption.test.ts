/**
 * age encryption end to end on local disk (issue 12, items 1–3 and 5): artifacts `….sql.zst.age`
 * for X25519 and SSH recipients, checksums over the ciphertext (verify needs no key), restores and
 * drills with the identity from LIFEBOAT_AGE_IDENTITY_FILE or identityFile, the errors without it
 * or with the wrong one, ciphertext altered with its checksums rewritten, the by-hand chain, and
 * sensitive sources. Every output is grepped for the identities at the end.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import type { Manifest } from '../src/catalog/manifest.js';
import type { LocalCluster } from '../src/sources/postgres/local-cluster.js';
import { withCluster } from './helpers/cluster.js';
import { filesUnder, lifeboat, type RunResult } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

const execFileAsync = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An age identity and SSH key pairs (Ed25519, RSA) in `dir`; the secrets are what no output may ever show. */
export function makeKeys(dir: string) {
  const ageKey = path.join(dir, 'key.txt');
  execFileSync('age-keygen', ['-o', ageKey], { stdio: 'ignore' });
  const ageSecret = execFileSync('grep', ['^AGE-SECRET-KEY-', ageKey]).toString().trim();
  const ageRecipient = execFileSync('age-keygen', ['-y', ageKey]).toString().trim();
  const sshKey = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'backup@test', '-f', sshKey]);
  const sshRecipient = execFileSync('cat', [`${sshKey}.pub`])
    .toString()
    .trim();
  const rsaKey = path.join(dir, 'id_rsa');
  execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-C', 'rsa@test', '-f', rsaKey]);
  const rsaRecipient = execFileSync('cat', [`${rsaKey}.pub`])
    .toString()
    .trim();
  const otherKey = path.join(dir, 'other.txt');
  execFileSync('age-keygen', ['-o', otherKey], { stdio: 'ignore' });
  return { ageKey, ageSecret, ageRecipient, sshKey, sshRecipient, rsaKey, rsaRecipient, otherKey };
}

/**
 * Lines of the SSH private key's base64 body: none may appear in any output. The body also carries
 * the public key, so a line that is part of the public key's text (an RSA key's first lines can
 * be) is public, and left out.
 */
async function sshSecretLines(file: string): Promise<string[]> {
  const pub = await readFile(`${file}.pub`, 'utf8');
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l && !l.startsWith('-----') && !pub.includes(l));
}

describe('age encryption', async () => {
  const cluster = await withCluster({ after }, { name: 'age' });
  // Random text, so the compressed dump spans several 64 KiB age chunks and a late one can be altered.
  await cluster.psql('create database app');
  await cluster.psql(
    `create table items (id int primary key, note text);
     insert into items select g, md5(g::text) || md5((g * 7)::text) from generate_series(1, 20000) g;`,
    { database: 'app' },
  );
  const base = await tempDir({ after }, 'lifeboat-age-');
  const keys = makeKeys(base);
  const outputs: RunResult[] = [];
  let storedFiles = 0;
  /** Nothing a backup stores may hold an identity (only recipients, which are public). */
  async function assertNoIdentityStored(dir: string) {
    const secrets = [
      keys.ageSecret,
      ...(await sshSecretLines(keys.sshKey)),
      ...(await sshSecretLines(keys.rsaKey)),
    ];
    for (const f of await filesUnder(dir)) {
      const stored = await readFile(path.join(dir, f), 'latin1');
      storedFiles++;
      for (const s of secrets) assert.ok(!stored.includes(s), `an identity was stored in ${f}`);
    }
  }
  const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = await lifeboat(args, { env: { LIFEBOAT_AGE_IDENTITY_FILE: '', ...env } });
    outputs.push(r);
    return r;
  };
  const rows = (c: LocalCluster, db: string) =>
    c.psql('select count(*), sum(id) from items', { database: db });
  const databases = async () => (await cluster.psql('select datname from pg_database')).split('\n');

  /** A job `app` backing up database app into `dir/backups`, encrypted to both recipients. */
  async function encryptedBackup(dir: string) {
    const backups = path.join(dir, 'backups');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${JSON.stringify(backups)} }\n` +
        `jobs:\n  app:\n    source: { type: postgres, url: "${cluster.url('app')}" }\n` +
        `    encryption:\n      type: age\n      recipients:\n        - ${keys.ageRecipient}\n        - "${keys.sshRecipient}"\n        - "${keys.rsaRecipient}"\n` +
        `    storages: [disk]\n`,
    );
    const r = await run(['--config', config, 'backup', '--json']);
    assert.equal(r.code, 0, r.stderr);
    await assertNoIdentityStored(backups);
    const manifestFile = (await filesUnder(backups)).find((f) => f.startsWith('.lifeboat/app/'))!;
    const manifest = JSON.parse(await readFile(path.join(backups, manifestFile), 'utf8')) as Manifest;
    return { backups, config, manifest, manifestFile: path.join(backups, manifestFile) };
  }

  test('round trip: ….sql.zst.age, recipients in the manifest, verify without a key, restore with X25519, SSH Ed25519 and SSH RSA identities', async (t) => {
    const dir = await tempDir(t);
    const { backups, config, manifest } = await encryptedBackup(dir);
    const key = manifest.artifacts[0]!.key;
    assert.match(key, /\/app\.sql\.zst\.age$/);
    assert.deepEqual(manifest.encryption, {
      type: 'age',
      recipients: [keys.ageRecipient, keys.sshRecipient, keys.rsaRecipient],
    });
    // The stored bytes are age ciphertext, and the sidecar and manifest cover exactly them.
    const stored = await readFile(path.join(backups, key));
    assert.equal(stored.subarray(0, 21).toString(), 'age-encryption.org/v1');
    assert.equal(manifest.artifacts[0]!.sha256, sha256(stored));
    assert.equal(
      await readFile(path.join(backups, `${key}.sha256`), 'utf8'),
      `${sha256(stored)}  ${path.basename(key)}\n`,
    );

    const verify = await run(['--config', config, 'verify', 'latest', '--job', 'app']);
    assert.equal(verify.code, 0, verify.stderr);

    /** Restores the latest backup with `withConfig` into a new database `db`, which then holds app's rows. */
    const restoreInto = async (withConfig: string, db: string, env?: NodeJS.ProcessEnv) => {
      const r = await run(
        ['--config', withConfig, 'restore', 'latest', '--job', 'app', '--to', cluster.url(db), '--create'],
        env,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await rows(cluster, db), await rows(cluster, 'app'));
      return r;
    };
    const restore = await restoreInto(config, 'viaenv', { LIFEBOAT_AGE_IDENTITY_FILE: keys.ageKey });
    assert.match(restore.stderr, /decrypt OK/);

    // identityFile in the config, an SSH private key this time.
    const withFile = await writeConfig(
      dir,
      (await readFile(config, 'utf8')).replace(
        `        - "${keys.rsaRecipient}"\n`,
        `        - "${keys.rsaRecipient}"\n      identityFile: ${keys.sshKey}\n`,
      ),
    );
    await restoreInto(withFile, 'viafile');

    // And an SSH RSA private key (the same config file, its identityFile swapped).
    const withRsa = await writeConfig(
      dir,
      (await readFile(withFile, 'utf8')).replace(
        `identityFile: ${keys.sshKey}\n`,
        `identityFile: ${keys.rsaKey}\n`,
      ),
    );
    await restoreInto(withRsa, 'viarsa');
  });

  test('no identity: exit 2 naming the settings; a wrong one: exit 4 "decrypt FAILED: no identity matches"; the target is untouched', async (t) => {
    const dir = await tempDir(t);
    const { backups } = await encryptedBackup(dir);
    const from = ['restore', 'latest', '--from', backups, '--job', 'app', '--create'];

    const none = await run([...from, '--to', cluster.url('noid')]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /encrypted with age and no identity is set/);
    assert.match(none.stderr, /LIFEBOAT_AGE_IDENTITY_FILE/);
    assert.match(none.stderr, /jobs\.app\.encryption\.identityFile/);

    const wrong = await run([...from, '--to', cluster.url('wrongid')], {
      LIFEBOAT_AGE_IDENTITY_FILE: keys.otherKey,
    });
    assert.equal(wrong.code, 4, wrong.stderr);
    assert.match(
      wrong.stderr,
      new RegExp(`decrypt FAILED: no identity matches \\(recipients: ${keys.ageRecipient}, ssh-ed25519 `),
    );
    const dbs = await databases();
    assert.ok(!dbs.includes('noid') && !dbs.includes('wrongid'), dbs.join(' '));
  });

  test('ciphertext altered late in the file, checksums rewritten to match: verify passes, restore fails by age authentication (exit 4) before anything reaches the target', async (t) => {
    const dir = await tempDir(t);
    const { backups, manifest, manifestFile } = await encryptedBackup(dir);
    const key = manifest.artifacts[0]!.key;
    const file = path.join(backups, key);
    const bytes = await readFile(file);
    assert.ok(bytes.length > 3 * 65536, `${bytes.length} bytes: the test needs several age chunks`);
    bytes[bytes.length - 100]! ^= 0x01;
    await writeFile(file, bytes);
    await writeFile(`${file}.sha256`, `${sha256(bytes)}  ${path.basename(key)}\n`);
    manifest.artifacts[0]!.sha256 = sha256(bytes);
    await writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n');

    const verify = await run(['verify', 'latest', '--from', backups, '--job', 'app']);
    assert.equal(verify.code, 0, verify.stderr);
    const restore = await run(
      ['restore', 'latest', '--from', backups, '--job', 'app', '--to', cluster.url('altered'), '--create'],
      { LIFEBOAT_AGE_IDENTITY_FILE: keys.ageKey },
    );
    assert.equal(restore.code, 4, restore.stderr);
    assert.match(restore.stderr, /decrypt FAILED: failed to decrypt and authenticate payload chunk/);
    assert.ok(!(await databases()).includes('altered'));
  });

  test('drill of an encrypted backup passes with the identity and fails loudly without it', async (t) => {
    const dir = await tempDir(t);
    const { config } = await encryptedBackup(dir);
    const without = await run(['--config', config, 'drill', 'app']);
    assert.equal(without.code, 2, without.stderr);
    assert.match(without.stderr, /no identity is set/);
    const withKey = await run(['--config', config, 'drill', 'app'], {
      LIFEBOAT_AGE_IDENTITY_FILE: keys.ageKey,
    });
    assert.equal(withKey.code, 0, withKey.stderr);
    assert.match(withKey.stderr, /sha256 OK, decrypt OK[^]*restore OK[^]*smoke OK/);
  });

  test('by hand: sha256sum -c X.sha256 && age -d -i key.txt X | zstd -dc | psql -v ON_ERROR_STOP=1', async (t) => {
    const dir = await tempDir(t);
    const { backups, manifest } = await encryptedBackup(dir);
    const key = manifest.artifacts[0]!.key;
    const file = path.basename(key);
    await cluster.psql('create database byhand');
    const { stdout } = await execFileAsync(
      'bash',
      [
        '-o',
        'pipefail',
        '-c',
        `sha256sum -c ${file}.sha256 && age -d -i ${keys.ageKey} ${file} | zstd -dc | psql -q -v ON_ERROR_STOP=1 -d ${cluster.url('byhand')}`,
      ],
      {
        cwd: path.join(backups, path.dirname(key)),
        env: { ...process.env, PATH: `${cluster.binDir}:${process.env.PATH}` },
      },
    );
    assert.match(stdout, new RegExp(`${file.replace(/\./g, '\\.')}: OK`));
    assert.equal(await rows(cluster, 'byhand'), await rows(cluster, 'app'));
  });

  test('a sensitive source refuses to run unencrypted unless allowPlaintext, which warns on every run; check reports both', async (t) => {
    const dir = await tempDir(t);
    const backups = path.join(dir, 'backups');
    const yaml = (source: string) =>
      `storages:\n  disk: { type: local, path: ${JSON.stringify(backups)} }\n` +
      `jobs:\n  secrets:\n    source: { type: postgres, url: "${cluster.url('app')}", ${source} }\n    storages: [disk]\n`;
    const refused = await writeConfig(dir, yaml('sensitive: true'));
    const backup = await run(['--config', refused, 'backup']);
    assert.equal(backup.code, 2, backup.stderr);
    assert.match(backup.stderr, /jobs\.secrets\.encryption: the source is marked sensitive: true/);
    assert.deepEqual(await filesUnder(backups), []);
    const check = await run(['--config', refused, 'check']);
    assert.equal(check.code, 2, check.stderr);
    assert.match(
      check.stderr,
      /FAIL encryption secrets: jobs\.secrets\.encryption: the source is marked sensitive/,
    );

    const allowed = await writeConfig(dir, yaml('sensitive: true, allowPlaintext: true'));
    for (let i = 0; i < 2; i++) {
      const r = await run(['--config', allowed, 'backup']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /the source is sensitive and its backups are NOT encrypted \(allowPlaintext: true\)/,
      );
    }
    const checkAllowed = await run(['--config', allowed, 'check']);
    assert.match(
      checkAllowed.stderr,
      /ok +encryption secrets: WARNING: jobs\.secrets: the source is sensitive/,
    );
  });

  test('a recipient that is not an age or SSH public key is a config error naming it', async (t) => {
    const dir = await tempDir(t);
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${JSON.stringify(dir)} }\n` +
        `jobs:\n  app:\n    source: { type: postgres, url: "${cluster.url('app')}" }\n` +
        `    encryption: { recipients: [${keys.ageRecipient}, "AGE-SECRET-KEY-1QQQ"] }\n    storages: [disk]\n`,
    );
    const r = await run(['--config', config, 'backup']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /jobs\.app\.encryption\.recipients\[1\]: expected an age recipient \(age1…\) or an SSH public key/,
    );
  });

  test('no identity is ever printed (every output above) or stored (every backup above)', async () => {
    const secrets = [
      keys.ageSecret,
      ...(await sshSecretLines(keys.sshKey)),
      ...(await sshSecretLines(keys.rsaKey)),
    ];
    assert.ok(outputs.length >= 10, `${outputs.length} runs`);
    for (const r of outputs)
      for (const s of secrets) assert.ok(!`${r.stdout}${r.stderr}`.includes(s), 'an identity was printed');
    assert.ok(storedFiles >= 10, `${storedFiles} stored files checked`);
  });
});
