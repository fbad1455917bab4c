/**
 * The signing key is a secret (issue 12 item 6): with `signing.key` from `${LIFEBOAT_SIGNING_KEY}`
 * and from a file, no form of the private key (the key file's line, the Ed25519 seed in base64 or
 * hex) appears in any CLI output (stdout and stderr, text and JSON logs), in `serve`'s API
 * responses and log, or in any file stored in the repository or the run history; nor does a
 * damaged key given inline, in the error that refuses it.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../src/sources/postgres/local-cluster.js';
import { withCluster } from './helpers/cluster.js';
import { filesUnder, lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { waitFor, writeConfig } from './helpers/scenarios.js';

/** Every text form of a minisign secret key's private material. */
function secretForms(keyText: string): string[] {
  const line = keyText.split('\n')[1]!.trim();
  const bytes = Buffer.from(line, 'base64');
  const seed = bytes.subarray(62, 94);
  const sk = bytes.subarray(62, 126);
  return [
    line,
    seed.toString('base64').replace(/=+$/, ''),
    seed.toString('base64url'),
    seed.toString('hex'),
    sk.toString('base64').replace(/=+$/, ''),
    sk.toString('hex'),
  ];
}

function assertClean(what: string, text: string | Buffer, forms: string[]) {
  for (const form of forms)
    assert.ok(!text.includes(form), `${what} contains private key material (${form.slice(0, 8)}…)`);
}

test('no form of the signing key in outputs, logs, API responses or stored files', async (t) => {
  const pg = await withCluster(t, { name: 'signing-secrets' });
  await pg.psql('create database app');
  await pg.psql('create table t (x int); insert into t values (1);', { database: 'app' });
  const dir = await tempDir(t);
  const keygen = await lifeboat(['keygen', '--out', dir]);
  assert.equal(keygen.code, 0, keygen.stderr);
  const keyFile = path.join(dir, 'lifeboat-signing.key');
  const keyText = await readFile(keyFile, 'utf8');
  const forms = secretForms(keyText);
  assertClean('keygen', keygen.stdout + keygen.stderr, forms);

  const storage = path.join(dir, 'storage');
  const port = await freePort();
  const jobs = `jobs:\n  pg:\n    source: { type: postgres, url: "${pg.url()}", databases: [app] }\n    storages: [disk]\n`;
  const config = await writeConfig(
    dir,
    `storages:\n  disk: { type: local, path: ${storage} }\n${jobs}signing: { key: "\${LIFEBOAT_SIGNING_KEY}" }\nserver: { port: ${port}, token: signing-secrets-token, historyFile: ${path.join(dir, 'history.db')} }\n`,
  );
  const fromFile = path.join(dir, 'from-file.yaml');
  await writeFile(
    fromFile,
    `storages:\n  disk: { type: local, path: ${storage} }\n${jobs}signing: { key: ${keyFile} }\n`,
  );
  const env = { LIFEBOAT_SIGNING_KEY: keyText };

  // Each run's exit code: a command that died early must not pass for one that kept the secret.
  const runs: Array<[string[], number]> = [
    [['--config', config, 'backup', 'pg'], 0],
    [['--config', config, '--log-format', 'json', 'backup', 'pg', '--json'], 0],
    [['--config', fromFile, 'backup', 'pg'], 0],
    [['--config', config, 'list', '--json'], 0],
    [['--config', config, 'verify', '--all'], 0],
    [['--config', fromFile, '--log-format', 'json', 'verify', '--all', '--json'], 0],
    [['--config', config, 'check', '--json'], 0],
    [['--config', config, 'status'], 0],
    [['--config', config, '--log-format', 'json', 'drill', 'pg', '--json'], 0],
    // Refused by the target (app is not empty), after the signature was checked.
    [['--config', config, 'restore', 'latest', '--to', pg.url(), '--create'], 1],
  ];
  for (const [args, code] of runs) {
    const r = await lifeboat(args, { env });
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assertClean(args.join(' '), r.stdout + r.stderr, forms);
  }
  // A damaged key given inline (its public half altered, its seed intact) is refused without
  // being printed.
  const bytes = Buffer.from(forms[0]!, 'base64');
  bytes[100] = bytes[100]! ^ 0xff;
  const damagedLine = bytes.toString('base64');
  const damaged = await lifeboat(['--config', config, 'backup', 'pg'], {
    env: { LIFEBOAT_SIGNING_KEY: `untrusted comment: x\n${damagedLine}\n` },
  });
  assert.equal(damaged.code, 2, damaged.stderr);
  assert.match(damaged.stderr, /signing\.key: the secret key is damaged/);
  assertClean('a damaged key', damaged.stdout + damaged.stderr, [...forms, damagedLine]);

  const serve = startLifeboat(['--config', config, 'serve'], { env });
  t.after(() => serve.child.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  await waitFor('healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
  const headers = { authorization: 'Bearer signing-secrets-token' };
  assert.equal((await fetch(`${base}/api/jobs/pg/backup`, { method: 'POST', headers })).status, 202);
  type Runs = { runs: Array<{ kind: string; result: string }> };
  await waitFor(
    'the API backup',
    async () =>
      ((await (await fetch(`${base}/api/runs?job=pg`)).json()) as Runs).runs.find((r) => r.kind === 'backup')
        ?.result === 'success',
    30_000,
  );
  for (const endpoint of [
    '/api/jobs',
    '/api/backups?job=pg',
    '/api/runs',
    '/status/summary',
    '/metrics',
    '/',
  ])
    assertClean(endpoint, await (await fetch(`${base}${endpoint}`)).text(), forms);
  serve.child.kill('SIGTERM');
  const served = await serve.done;
  assert.equal(served.code, 0, served.stderr);
  assertClean('serve', served.stdout + served.stderr, forms);

  // Stored: the repository (manifests, signatures, artifacts, drill reports) and the run history.
  const stored = await filesUnder(storage);
  assert.ok(stored.some((f) => f.endsWith('.json.minisig')));
  for (const file of [...stored.map((f) => path.join(storage, f)), path.join(dir, 'history.db')])
    assertClean(file, await readFile(file), forms);
});
