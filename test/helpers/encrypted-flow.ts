/**
 * One encrypted and signed job with a source of every kind that restores (PostgreSQL, SQLite and
 * files), run end to end with the real CLI against whatever storage the caller configures (local
 * disk, Ceph S3): backup, list, verify without a key, restore each source, drill; no identity and a
 * wrong one each give one error line and leave the targets untouched; and no stored byte holds
 * the sample rows, the file's text or an identity.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { HEADER_BYTES } from '../../src/codecs/chain.js';
import type { LocalCluster } from '../../src/sources/postgres/local-cluster.js';
import { errorLines, exists, lifeboat, type RunResult } from './lifeboat.js';
import { writeConfig } from './scenarios.js';

/** Text that is in every source and so, in plaintext, would be in the stored (compressed) bytes. */
export const MARKS = {
  pg: 'pg-sample-row-c0ffee',
  sqlite: 'sqlite-sample-row-beef',
  file: 'files-sample-secret-f00d',
};

export interface EncryptedFlowOptions {
  dir: string;
  /** The `storages:` entries (YAML, indented two spaces) and the name the job uses. */
  storagesYaml: string;
  storage: string;
  env?: NodeJS.ProcessEnv;
  source: LocalCluster;
  target: LocalCluster;
  /** Every object the storage holds, with its bytes (read behind Lifeboat's back). */
  stored: () => Promise<Array<{ key: string; bytes: Buffer }>>;
}

export interface Keys {
  ageKey: string;
  ageSecret: string;
  ageRecipient: string;
  otherKey: string;
  signingKey: string;
  signingPub: string;
}

/** An age identity, another one that is no recipient, and a minisign pair (lifeboat keygen). */
export async function makeFlowKeys(dir: string): Promise<Keys> {
  const ageKey = path.join(dir, 'key.txt');
  execFileSync('age-keygen', ['-o', ageKey], { stdio: 'ignore' });
  const otherKey = path.join(dir, 'other.txt');
  execFileSync('age-keygen', ['-o', otherKey], { stdio: 'ignore' });
  const keygen = await lifeboat(['keygen', '--out', dir]);
  assert.equal(keygen.code, 0, keygen.stderr);
  return {
    ageKey,
    ageSecret: (await readFile(ageKey, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!,
    ageRecipient: execFileSync('age-keygen', ['-y', ageKey]).toString().trim(),
    otherKey,
    signingKey: path.join(dir, 'lifeboat-signing.key'),
    signingPub: path.join(dir, 'lifeboat-signing.pub'),
  };
}

/** Sample data in the PostgreSQL source (database app), an SQLite file and a plain file. */
export async function makeSources(dir: string, pg: LocalCluster) {
  await pg.psql('create database app');
  await pg.psql(
    `create table items (id int primary key, note text);
     insert into items select g, '${MARKS.pg}-' || md5(g::text) from generate_series(1, 20000) g;`,
    { database: 'app' },
  );
  const data = path.join(dir, 'data');
  await mkdir(data, { recursive: true });
  const db = path.join(data, 'state.db');
  const sqlite = new DatabaseSync(db);
  sqlite.exec(`create table events (id integer primary key, note text);`);
  const insert = sqlite.prepare('insert into events (note) values (?)');
  for (let i = 1; i <= 200; i++) insert.run(`${MARKS.sqlite}-${i}`);
  sqlite.close();
  const token = path.join(data, 'token');
  await writeFile(token, `${MARKS.file}\n`, { mode: 0o600 });
  return { db, token };
}

export async function encryptedFlow(opts: EncryptedFlowOptions, keys: Keys): Promise<void> {
  const { dir, source, target } = opts;
  const { db, token } = await makeSources(dir, source);
  const config = await writeConfig(
    dir,
    `storages:\n${opts.storagesYaml}` +
      `jobs:\n  mixed:\n    sources:\n` +
      `      pg: { type: postgres, url: "${source.url('app')}", sensitive: true }\n` +
      `      state: { type: sqlite, path: ${JSON.stringify(db)} }\n` +
      `      token: { type: files, paths: [${JSON.stringify(token)}] }\n` +
      `    storages: [${opts.storage}]\n` +
      `    encryption: { type: age, recipients: [${keys.ageRecipient}] }\n` +
      `    drill:\n      checks:\n` +
      `        - { name: items present, source: pg, sql: "select count(*) from items", expect: "= 20000" }\n` +
      `        - { name: events present, source: state, sql: "select count(*) from events", expect: "= 200" }\n` +
      `signing: { key: ${keys.signingKey} }\n`,
  );
  const outputs: RunResult[] = [];
  const run = async (args: string[], identity?: string) => {
    const env = { ...opts.env, LIFEBOAT_AGE_IDENTITY_FILE: identity ?? '' };
    const r = await lifeboat(['--config', config, ...args], { env });
    outputs.push(r);
    return r;
  };

  const backup = await run(['backup', '--json']);
  assert.equal(backup.code, 0, backup.stderr);
  const [{ id, artifacts }] = JSON.parse(backup.stdout) as [
    { id: string; artifacts: Array<{ key: string }> },
  ];
  assert.deepEqual(artifacts.map((a) => path.posix.basename(a.key)).sort(), [
    'app.sql.zst.age',
    'state.db.zst.age',
    'token.index.jsonl.zst.age',
    'token.tar.zst.age',
  ]);

  // Nothing stored is plaintext: no sample row, no file text, no identity, in any object.
  const stored = await opts.stored();
  // Larger than what the identity check of a signed backup reads (its header only).
  const dump = stored.find((s) => s.key.endsWith('/app.sql.zst.age'))!;
  assert.ok(dump.bytes.length > 2 * HEADER_BYTES, `${dump.bytes.length} bytes`);
  assert.ok(stored.length >= 10, stored.map((s) => s.key).join(' '));
  for (const { key, bytes } of stored) {
    for (const mark of [...Object.values(MARKS), keys.ageSecret])
      assert.ok(!bytes.includes(Buffer.from(mark)), `${key} holds ${mark}`);
    if (artifacts.some((a) => a.key === key))
      assert.equal(bytes.subarray(0, 21).toString(), 'age-encryption.org/v1', key);
  }
  assert.ok(
    stored.some((s) => s.key.endsWith(`${id}.json.minisig`)),
    'the manifest is signed',
  );

  const list = await run(['list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const { backups } = JSON.parse(list.stdout) as { backups: Array<{ id: string; sources: object }> };
  assert.deepEqual(
    backups.map((b) => [b.id, Object.keys(b.sources)]),
    [[id, ['pg', 'state', 'token']]],
  );

  // verify needs no key: the checksums cover the ciphertext, the signature the manifest.
  const verify = await run(['verify', 'latest']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stderr, /sha256 OK \(4 artifact\(s\)\), signature OK/);

  // Without an identity, and with one that is no recipient: one line each, nothing restored.
  const out = path.join(dir, 'restored');
  const restoreArgs = (name: string, to: string) => ['restore', 'latest', '--source', name, '--to', to];
  const pgArgs = [...restoreArgs('pg', target.url('app')), '--create'];
  for (const [args, what] of [
    [pgArgs, 'pg'],
    [restoreArgs('state', path.join(out, 'state.db')), 'state'],
    [restoreArgs('token', path.join(out, 'token')), 'token'],
  ] as const) {
    const none = await run([...args]);
    assert.equal(none.code, 2, `${what}: ${none.stderr}`);
    assert.deepEqual(errorLines(none.stderr).length, 1, none.stderr);
    assert.match(none.stderr, /^error: decrypt backup: it is encrypted with age and no identity is set/m);
    const wrong = await run([...args], keys.otherKey);
    assert.equal(wrong.code, 4, `${what}: ${wrong.stderr}`);
    assert.deepEqual(errorLines(wrong.stderr), [
      `error: decrypt FAILED: no identity matches (recipients: ${keys.ageRecipient}) (hint: the identity in jobs.mixed.encryption.identityFile or LIFEBOAT_AGE_IDENTITY_FILE is not one of the backup's recipients)`,
    ]);
  }
  assert.equal(
    (await target.psql(`select count(*) from pg_database where datname = 'app'`)).trim(),
    '0',
    'nothing reached the target',
  );
  assert.ok(!(await exists(out)), 'nothing was restored to disk');
  const noDrill = await run(['drill', 'mixed']);
  assert.equal(noDrill.code, 2, noDrill.stderr);
  assert.match(noDrill.stderr, /no identity is set/);

  // With the identity: every source comes back.
  for (const args of [
    pgArgs,
    restoreArgs('state', path.join(out, 'state.db')),
    restoreArgs('token', path.join(out, 'token')),
  ]) {
    const r = await run(args, keys.ageKey);
    assert.equal(r.code, 0, r.stderr);
    // Signed: the identity is checked on each header, and the artifact decrypted once, as restored.
    assert.match(
      r.stderr,
      /signature OK[^]*sha256 OK, identity OK \(signed: decrypted as it is restored\)[^]*restore OK/,
    );
  }
  const sum = 'select count(*), sum(id), max(note) from items';
  assert.equal(await target.psql(sum, { database: 'app' }), await source.psql(sum, { database: 'app' }));
  const copy = new DatabaseSync(path.join(out, 'state.db'), { readOnly: true });
  try {
    const row = copy.prepare('select count(*) as n, max(note) as note from events').get() as {
      n: number;
      note: string;
    };
    assert.deepEqual({ ...row }, { n: 200, note: `${MARKS.sqlite}-99` });
  } finally {
    copy.close();
  }
  assert.equal(await readFile(path.join(out, 'token', token.slice(1)), 'utf8'), `${MARKS.file}\n`);

  const drill = await run(['drill', 'mixed', '--json'], keys.ageKey);
  assert.equal(drill.code, 0, drill.stderr);
  assert.match(drill.stderr, /signature OK[^]*sha256 OK, identity OK \(signed/);
  const [report] = JSON.parse(drill.stdout) as Array<{ checks: Array<{ name: string; ok: boolean }> }>;
  const checks = report!.checks.map((c) => `${c.name}:${c.ok}`);
  for (const c of [
    'pg: items present:true',
    'state: events present:true',
    'token: files match the index:true',
  ])
    assert.ok(checks.includes(c), `${c} in ${checks.join(', ')}`);

  for (const r of outputs)
    assert.ok(!`${r.stdout}${r.stderr}`.includes(keys.ageSecret), 'the identity was printed');
}
