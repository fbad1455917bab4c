/**
 * `lifeboat restore` into a target that already holds data, with the real CLI and real clusters: a
 * non-empty database is refused (and left as it was) unless --clean (drop, recreate: the copy equals
 * the backup) or --force (restore over it as it is); --jobs N hands pg_restore -j N for a
 * custom-format backup; a dumpall backup is refused --force over databases it creates and --clean
 * replaces them and postgres; and `source.exclude` keeps databases out of a backup (`all`, `dumpall`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { dumpForCompare } from '../src/sources/postgres/compare.js';
import { withCluster } from './helpers/cluster.js';
import { readManifestFile } from './helpers/drill.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

type HasAfter = { after(fn: () => unknown): void };

const SHOP = `
  create table items (id int primary key, name text not null);
  insert into items select g, 'item ' || g from generate_series(1, 5) g;
  create table orders (id int primary key, item int not null references items, qty int not null);
  insert into orders values (1, 1, 2), (2, 3, 1), (3, 5, 4);`;

describe('restore into a target; source selection', async () => {
  const source = await withCluster({ after }, { name: 'restore-source' });
  const target = await withCluster({ after }, { name: 'restore-target' });
  await source.psql(`create database shop; create database other; create database shop_cache;
                     create database "Shop_Archive"; create database "shop.v2"`);
  await source.psql(SHOP, { database: 'shop' });
  for (const db of ['other', 'shop_cache', 'Shop_Archive', 'shop.v2'])
    await source.psql(`create table notes (t text); insert into notes values ('${db}')`, { database: db });
  await source.psql(`create table pgt (id int primary key); insert into pgt values (1), (2)`);
  const shopDump = await dumpForCompare(source.url('shop'));

  // One plain single-database backup of shop, shared by the target tests (nothing writes to it).
  const plain = await tempDir({ after }, 'lifeboat-restore-test-');
  const backup = await lifeboat(['backup', '--source', source.url('shop'), '--to', plain, '--job', 'shop']);
  assert.equal(backup.code, 0, backup.stderr);

  const restore = (...args: string[]) =>
    lifeboat(['restore', 'latest', '--from', plain, '--to', target.url('shop'), ...args]);

  /** The target's shop, recreated holding a table of its own (and whatever `extra` adds). */
  async function occupiedTarget(extra = ''): Promise<string> {
    await target.psql('drop database if exists shop with (force)');
    await target.psql('create database shop');
    await target.psql(`create table local_only (x int); insert into local_only values (42); ${extra}`, {
      database: 'shop',
    });
    return dumpForCompare(target.url('shop'));
  }

  const rows = (cluster: typeof source, sql: string) => cluster.psql(sql, { database: 'shop' });

  test('a non-empty target is refused without --clean or --force, and left untouched', async () => {
    const before = await occupiedTarget();
    const r = await restore();
    assert.equal(r.code, 1, r.stderr);
    const [line, ...more] = errorLines(r.stderr);
    assert.deepEqual(more, [], r.stderr);
    assert.match(
      line!,
      /^error: restore \S+: database "shop" on the target is not empty \(hint: add --clean to drop and recreate it, or --force to restore over it\)$/,
    );
    assert.doesNotMatch(r.stderr, /restore OK|restore database|drop database/);
    assert.equal(await dumpForCompare(target.url('shop')), before, 'the target is as it was');

    const both = await restore('--clean', '--force');
    assert.equal(both.code, 2, both.stderr);
    assert.match(errorLines(both.stderr)[0]!, /--clean and --force exclude each other/);
    assert.equal(await dumpForCompare(target.url('shop')), before);
  });

  test('--force restores over a non-empty database as it is', async () => {
    await occupiedTarget();
    const r = await restore('--force');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^restore OK$/m);
    assert.doesNotMatch(r.stderr, /drop database/);
    // What was there stays; what the backup holds is added beside it.
    assert.equal(await rows(target, 'select x from local_only'), '42\n');
    for (const sql of ['table items order by id', 'table orders order by id'])
      assert.equal(await rows(target, sql), await rows(source, sql), sql);
  });

  test('--clean drops and recreates a non-empty database; the copy equals the backup', async () => {
    // A conflicting items table too: restoring over it (--force) could not work.
    await occupiedTarget(`create table items (id int, name text); insert into items values (99, 'stale');`);
    const r = await restore('--clean');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^drop database shop \(--clean\)$/m);
    assert.match(r.stderr, /^restore OK$/m);
    assert.equal(await dumpForCompare(target.url('shop')), shopDump);
  });

  test('--jobs N runs pg_restore -j N for a custom-format backup; a bad N is a usage error', async (t) => {
    const dir = await tempDir(t, 'lifeboat-restore-test-');
    // pg_restore as found in source.binDir: records its arguments, then runs the real one.
    const binDir = path.join(dir, 'bin');
    const calls = path.join(dir, 'pg_restore.calls');
    execFileSync('mkdir', [binDir]);
    await writeFile(
      path.join(binDir, 'pg_restore'),
      `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${path.join(source.binDir, 'pg_restore')}' "$@"\n`,
    );
    await chmod(path.join(binDir, 'pg_restore'), 0o755);
    const config = await writeConfig(
      dir,
      `storages:
  disk: { type: local, path: ${path.join(dir, 'storage')} }
jobs:
  par:
    source: { type: postgres, url: "${source.url('shop')}", format: custom, binDir: ${binDir} }
    storages: [disk]
`,
    );
    assert.equal((await lifeboat(['--config', config, 'backup', 'par'])).code, 0);

    const parallel = (n: string, db: string) =>
      lifeboat([
        '--config',
        config,
        'restore',
        'latest',
        '--job',
        'par',
        '--to',
        target.url(db),
        '--create',
        '--jobs',
        n,
      ]);

    for (const bad of ['0', 'two', '1.5', '']) {
      const r = await parallel(bad, 'shop_bad');
      assert.equal(r.code, 2, `--jobs "${bad}": ${r.stderr}`);
      assert.match(errorLines(r.stderr)[0]!, /--jobs: expected a whole number ≥ 1/);
    }
    assert.equal(await target.psql(`select count(*) from pg_database where datname = 'shop_bad'`), '0\n');

    const r = await parallel('2', 'shop_par');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^restore OK$/m);
    const restores = (await readFile(calls, 'utf8')).split('\n').filter((l) => l.includes('--dbname'));
    assert.equal(restores.length, 1, restores.join('\n'));
    assert.match(restores[0]!, /(^| )--jobs=2( |$)/);
    assert.match(restores[0]!, /(^| )--exit-on-error( |$)/);
    assert.equal(await dumpForCompare(target.url('shop_par')), shopDump);
  });

  async function backupWith(t: HasAfter, source_: string) {
    const dir = await tempDir(t, 'lifeboat-restore-test-');
    const storage = path.join(dir, 'storage');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${storage} }\njobs:\n  sel:\n    source: ${source_}\n    storages: [disk]\n`,
    );
    const r = await lifeboat(['--config', config, 'backup', 'sel', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const [{ id }] = JSON.parse(r.stdout) as [{ id: string }];
    return { storage, manifest: await readManifestFile(storage, 'sel', id) };
  }

  // Upper case and a dot: pg_dumpall's psql patterns would read both differently from the globs.
  const EXCLUDE = `["*_cache", "Shop_*", "*.v2"]`;

  test('source.exclude: excluded databases are not in the backup, the others are', async (t) => {
    const { manifest } = await backupWith(
      t,
      `{ type: postgres, url: "${source.url()}", databases: all, exclude: ${EXCLUDE} }`,
    );
    assert.deepEqual(manifest.sources.main!.databases, ['other', 'postgres', 'shop']);
    assert.deepEqual(
      manifest.artifacts.map((a) => [a.role, a.database ?? null]),
      [
        ['globals', null],
        ['database', 'other'],
        ['database', 'postgres'],
        ['database', 'shop'],
      ],
    );
  });

  test('source.exclude with dumpall: pg_dumpall leaves out exactly the excluded databases', async (t) => {
    const { storage, manifest } = await backupWith(
      t,
      `{ type: postgres, url: "${source.url()}", dumpall: true, exclude: ${EXCLUDE} }`,
    );
    assert.deepEqual(manifest.sources.main!.databases, ['other', 'postgres', 'shop']);
    const sql = execFileSync('zstd', ['-dc', path.join(storage, manifest.artifacts[0]!.key)], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const created = [...sql.matchAll(/^CREATE DATABASE ("(?:[^"]|"")+"|\S+)/gm)].map((m) => m[1]).sort();
    // postgres is not created (it exists everywhere) but is connected to and filled.
    assert.deepEqual(created, ['other', 'shop']);
    assert.match(sql, /^\\connect postgres$/m);
  });

  test('a dumpall backup over a target holding its databases: --force is refused, --clean replaces them and postgres', async (t) => {
    const { storage } = await backupWith(
      t,
      `{ type: postgres, url: "${source.url()}", dumpall: true, exclude: ${EXCLUDE} }`,
    );
    await occupiedTarget(`create table items (id int, name text); insert into items values (99, 'stale');`);
    await target.psql(`drop database if exists keepme; create database keepme;
                       drop table if exists pgt; create table pgt (id int); insert into pgt values (99)`);
    const state = async () => ({
      shop: await dumpForCompare(target.url('shop')),
      postgres: await dumpForCompare(target.url('postgres')),
    });
    const before = await state();
    const run = (flag: string) =>
      lifeboat(['restore', 'latest', '--from', storage, '--job', 'sel', '--to', target.url(), flag]);

    // pg_dumpall's script would stop at CREATE DATABASE shop, after changing roles and postgres.
    const force = await run('--force');
    assert.equal(force.code, 1, force.stderr);
    assert.match(
      errorLines(force.stderr)[0]!,
      /^error: restore \S+: target already holds shop, postgres; a dumpall backup creates its databases itself, so --force cannot restore over them \(hint: add --clean/,
    );
    assert.doesNotMatch(force.stderr, /restore full|restore OK|restore FAILED/);
    assert.deepEqual(await state(), before, 'the target is as it was');

    const clean = await run('--clean');
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stderr, /^drop database shop \(--clean\)$/m);
    assert.match(clean.stderr, /^drop database postgres \(--clean\)$/m);
    assert.match(clean.stderr, /^restore OK$/m);
    for (const db of ['shop', 'other', 'postgres'])
      assert.equal(await dumpForCompare(target.url(db)), await dumpForCompare(source.url(db)), db);
    assert.equal(
      await target.psql(`select count(*) from pg_database where datname = 'keepme'`),
      '1\n',
      'a database the backup does not hold is left alone',
    );
  });
});
