/**
 * A single-database backup restores onto a fresh server (the disaster case): the manifest names the
 * roles the dump's objects are owned by or granted to; `restore` stops before changing anything
 * when the target lacks them, hinting --create-roles, and with the flag creates them NOLOGIN and
 * says so. Names only: no password travels into the manifest.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { Manifest } from '../src/catalog/manifest.js';
import { withCluster } from './helpers/cluster.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';

describe('roles of a single-database backup', async () => {
  const source = await withCluster({ after }, { name: 'roles-source' });
  await source.psql(
    `create role shop_owner login password 'owner-pw-never-stored';
     create role shop_reader nologin; create role shop_writer nologin; create role unrelated nologin;
     create database shop owner shop_owner;`,
  );
  await source.psql(
    `set role shop_owner;
     create schema sales;
     create type sales.state as enum ('open', 'paid');
     create table sales.orders (id serial primary key, state sales.state not null default 'open', note text);
     insert into sales.orders (note) values ('a'), ('b');
     create function sales.open_orders() returns bigint language sql as 'select count(*) from sales.orders';
     reset role;
     grant usage on schema sales to shop_reader;
     grant select on sales.orders to shop_reader;
     grant update (note) on sales.orders to shop_writer;`,
    { database: 'shop' },
  );
  const dir = await tempDir({ after }, 'lifeboat-roles-');
  const backup = await lifeboat([
    'backup',
    '--source',
    source.url('shop'),
    '--to',
    dir,
    '--job',
    'shop',
    '--json',
  ]);
  assert.equal(backup.code, 0, backup.stderr);
  const [{ id }] = JSON.parse(backup.stdout) as [{ id: string }];

  test('the manifest names the owners and grantees, nothing else', async () => {
    const text = await readFile(path.join(dir, '.lifeboat', 'shop', `${id}.json`), 'utf8');
    const manifest = JSON.parse(text) as Manifest;
    // postgres owns the public schema before PostgreSQL 15 (pg_database_owner since), so it may be named.
    assert.deepEqual(
      manifest.artifacts[0]!.roles!.filter((r) => r !== 'postgres'),
      ['shop_owner', 'shop_reader', 'shop_writer'],
    );
    assert.doesNotMatch(text, /owner-pw-never-stored|SCRAM/);
  });

  test('restore onto a fresh server: refused without --create-roles, complete with it', async (t) => {
    const target = await withCluster(t, { name: 'roles-target' });
    const args = ['restore', 'latest', '--from', dir, '--to', target.url('shop'), '--create'];
    const bare = await lifeboat(args);
    assert.equal(bare.code, 1, bare.stderr);
    assert.deepEqual(errorLines(bare.stderr), [
      `error: restore ${id}: the target lacks roles shop_owner, shop_reader, shop_writer that the backup's objects are owned by or granted to (hint: add --create-roles to create them (NOLOGIN), or create them first)`,
    ]);
    // Refused before anything changed: no database was created.
    assert.equal(await target.psql(`select count(*) from pg_database where datname = 'shop'`), '0\n');

    const withRoles = await lifeboat([...args, '--create-roles', '--json']);
    assert.equal(withRoles.code, 0, withRoles.stderr);
    assert.match(withRoles.stderr, /create role shop_owner NOLOGIN \(--create-roles\)/);
    assert.deepEqual((JSON.parse(withRoles.stdout) as { createdRoles: string[] }).createdRoles, [
      'shop_owner',
      'shop_reader',
      'shop_writer',
    ]);
    const check = await target.psql(
      `select tableowner, has_table_privilege('shop_reader', 'sales.orders', 'select'),
              has_column_privilege('shop_writer', 'sales.orders', 'note', 'update'), sales.open_orders()
         from pg_tables where tablename = 'orders'`,
      { database: 'shop' },
    );
    assert.equal(check, 'shop_owner|t|t|2\n');
    assert.equal(
      await target.psql(`select rolcanlogin from pg_roles where rolname = 'shop_owner'`),
      'f\n',
      'created NOLOGIN',
    );
  });
});
