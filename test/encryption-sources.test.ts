/**
 * Encryption with every source kind that restores, on local disk (issue 12): one job with a
 * PostgreSQL, an SQLite and a files source, encrypted with age and signed, backs up, verifies,
 * restores and drills (test/helpers/encrypted-flow.ts); then each artifact is restored by hand with
 * the README's commands, `age -d -i key.txt X | zstd -d…`, and the signature checked with minisign.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { encryptedFlow, makeFlowKeys, MARKS } from './helpers/encrypted-flow.js';
import { filesUnder } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';

const execFileAsync = promisify(execFile);

test('local disk: an encrypted, signed backup of PostgreSQL, SQLite and files sources round-trips, and restores by hand', async (t) => {
  const [source, target] = await Promise.all([
    withCluster(t, { name: 'age-kinds-source' }),
    withCluster(t, { name: 'age-kinds-target' }),
  ]);
  const dir = await tempDir(t);
  const keys = await makeFlowKeys(dir);
  const storage = path.join(dir, 'backups');
  const stored = async () =>
    Promise.all(
      (await filesUnder(storage)).map(async (key) => ({
        key,
        bytes: await readFile(path.join(storage, key)),
      })),
    );
  await encryptedFlow(
    {
      dir,
      storagesYaml: `  disk: { type: local, path: ${JSON.stringify(storage)} }\n`,
      storage: 'disk',
      source,
      target,
      stored,
    },
    keys,
  );

  // By hand, in the folder of each artifact, as the README writes it.
  const files = await filesUnder(storage);
  const folderOf = (name: string) =>
    path.join(storage, path.dirname(files.find((f) => f.endsWith(`/${name}`))!));
  const shell = (command: string, cwd: string) =>
    execFileAsync('bash', ['-o', 'pipefail', '-c', command], {
      cwd,
      env: { ...process.env, PATH: `${source.binDir}:${process.env.PATH}` },
    });
  const key = keys.ageKey;

  await source.psql('create database byhand');
  const pg = await shell(
    `sha256sum -c app.sql.zst.age.sha256 && age -d -i ${key} app.sql.zst.age | zstd -dc | psql -q -v ON_ERROR_STOP=1 -d ${source.url('byhand')}`,
    folderOf('app.sql.zst.age'),
  );
  assert.match(pg.stdout, /app\.sql\.zst\.age: OK/);
  const sum = 'select count(*), sum(id), max(note) from items';
  assert.equal(await source.psql(sum, { database: 'byhand' }), await source.psql(sum, { database: 'app' }));

  const out = path.join(dir, 'by-hand');
  await mkdir(out);
  await shell(
    `sha256sum -c state.db.zst.age.sha256 && age -d -i ${key} state.db.zst.age | zstd -dc > ${out}/state.db`,
    folderOf('state.db.zst.age'),
  );
  const db = new DatabaseSync(path.join(out, 'state.db'), { readOnly: true });
  try {
    assert.equal(Object.values(db.prepare('pragma integrity_check').get()!)[0], 'ok');
    assert.equal((db.prepare('select count(*) as n from events').get() as { n: number }).n, 200);
  } finally {
    db.close();
  }

  const tokenFolder = folderOf('token.tar.zst.age');
  await shell(
    `sha256sum -c token.tar.zst.age.sha256 && age -d -i ${key} token.tar.zst.age | zstd -dc | tar -x -C ${out}`,
    tokenFolder,
  );
  const token = path.join(dir, 'data', 'token');
  assert.equal(await readFile(path.join(out, token.slice(1)), 'utf8'), `${MARKS.file}\n`);
  const index = await shell(`age -d -i ${key} token.index.jsonl.zst.age | zstd -dc`, tokenFolder);
  assert.ok(index.stdout.includes(`"path":"${token.slice(1)}"`), index.stdout);

  // The signature, by hand, where the manifest is.
  const catalog = path.join(storage, '.lifeboat', 'mixed');
  const [manifest] = (await filesUnder(catalog)).filter((f) => /^\d{8}T\d{6}Z(-\d+)?\.json$/.test(f));
  await shell(`minisign -Vm ${manifest} -p ${keys.signingPub}`, catalog);
});
