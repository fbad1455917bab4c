/**
 * The checks of a restore drill, each made to fail for real with the CLI and real clusters: row
 * counts that disagree with the manifest, a table missing from the restored copy, a B-tree index
 * that fails amcheck, an expected database the backup lacks; and what picks and shapes a drill:
 * `--backup ID`, `scratch.disposable: true`, `rowCountTolerance`. Each failure must exit 1 and print
 * `smoke FAILED: <check>`. One backup job, copied per test (drills store reports beside it); one
 * configured scratch server for all drills (no initdb per drill), checked to be empty after each.
 */
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import type { DrillReport } from '../src/catalog/drill-report.js';
import { withCluster } from './helpers/cluster.js';
import { drillReports, editManifest, readManifestFile, replaceWithValidGarbage } from './helpers/drill.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

type HasAfter = { after(fn: () => unknown): void };
type DrillJson = Array<DrillReport & { reportKey: string | null }>;

const ITEMS = (n: number) => `
  create table public.items (id int primary key, name text not null);
  insert into public.items select g, 'item ' || g from generate_series(1, ${n}) g;`;
const ORDERS = `
  create table public.orders (id int primary key, item int not null, qty int not null);
  insert into public.orders values (1, 1, 2), (2, 3, 1), (3, 5, 4);`;

describe('drill checks', async () => {
  const source = await withCluster({ after }, { name: 'drill-checks-source' });
  const scratch = await withCluster({ after }, { name: 'drill-checks-scratch' });
  await source.psql('create database shop');
  await source.psql(ITEMS(5) + ORDERS, { database: 'shop' });

  const home = await tempDir({ after }, 'lifeboat-drill-checks-');
  const storage = path.join(home, 'storage');
  const job = (drill = '') => `storages:
  disk: { type: local, path: ${storage} }
jobs:
  shop:
    source: { type: postgres, url: "${source.url()}", databases: [shop] }
    storages: [disk]
    drill:
      scratch: { url: "${scratch.url()}" }
${drill}`;
  const baseConfig = await writeConfig(home, job());
  async function backup(): Promise<string> {
    const r = await lifeboat(['--config', baseConfig, 'backup', 'shop', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as [{ id: string }])[0].id;
  }
  // Two backups: the first with 5 items, the latest with 7.
  const first = await backup();
  await source.psql(`insert into items values (6, 'item 6'), (7, 'item 7')`, { database: 'shop' });
  const latest = await backup();
  assert.notEqual(first, latest);

  /** A copy of the job's storage for one test, and a config drilling from it with `drill` added. */
  async function setup(t: HasAfter, drill = '', scratchExtra = '') {
    const dir = await tempDir(t, 'lifeboat-drill-checks-');
    const copy = path.join(dir, 'storage');
    await cp(storage, copy, { recursive: true });
    const yaml = job(drill)
      .replace(`path: ${storage}`, `path: ${copy}`)
      .replace(`scratch: { url: "${scratch.url()}" }`, `scratch: { url: "${scratch.url()}"${scratchExtra} }`);
    return { storage: copy, config: await writeConfig(dir, yaml) };
  }

  async function drill(config: string, ...args: string[]) {
    const r = await lifeboat(['--config', config, 'drill', 'shop', '--json', ...args]);
    const [report, ...more] = JSON.parse(r.stdout || '[]') as DrillJson;
    assert.deepEqual(more, []);
    assert.ok(report, r.stderr);
    return { ...r, report, check: (name: string) => report.checks.find((c) => c.name === name) };
  }

  /** The one-line failure contract of a drill that failed at its checks. */
  function failedAt(r: { code: number | null; stderr: string }, checks: string[]) {
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^restore OK$/m);
    assert.doesNotMatch(r.stderr, /smoke OK/);
    assert.deepEqual(
      r.stderr.split('\n').filter((l) => l.startsWith('smoke FAILED: ')),
      checks.map((c) => `smoke FAILED: ${c}`),
    );
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      new RegExp(`failed at checks: ${checks.length} of \\d+ checks failed: ${checks.join(', ')} \\(hint: `),
    );
  }

  const databasesOf = async () =>
    (await scratch.psql(`select string_agg(datname, ',' order by datname) from pg_database`)).trim();
  // Every drill leaves the scratch server as it found it: empty.
  afterEach(async () => {
    assert.equal(await databasesOf(), 'postgres,template0,template1');
  });

  test('row counts that disagree with the manifest fail the drill', async (t) => {
    const { storage: copy, config } = await setup(t);
    await editManifest(copy, 'shop', latest, (m) => {
      m.artifacts.find((a) => a.database === 'shop')!.tables!.find((x) => x.table === 'items')!.rows = 8;
    });
    const r = await drill(config);
    failedAt(r, ['rows shop: public.items']);
    assert.deepEqual(r.check('rows shop: public.items'), {
      name: 'rows shop: public.items',
      ok: false,
      expected: '8',
      actual: '7',
    });
    assert.equal(r.check('rows shop: public.orders')?.ok, true);
    assert.equal(r.report.result, 'failed');
    assert.equal(r.report.failure?.stage, 'checks');
  });

  test('a table missing after the restore fails the drill', async (t) => {
    const { storage: copy, config } = await setup(t);
    // A dump that restores cleanly (its checksums match) but lacks the orders table.
    const key = (await readManifestFile(copy, 'shop', latest)).artifacts.find(
      (a) => a.database === 'shop',
    )!.key;
    await replaceWithValidGarbage(copy, 'shop', latest, key, ITEMS(7));
    const r = await drill(config);
    failedAt(r, ['rows shop: public.orders']);
    assert.deepEqual(r.check('rows shop: public.orders'), {
      name: 'rows shop: public.orders',
      ok: false,
      expected: '3',
      actual: 'missing',
      detail: 'table does not exist',
    });
    assert.equal(r.check('rows shop: public.items')?.actual, '7');
  });

  test('an index that fails amcheck fails the drill', async (t) => {
    const { storage: copy, config } = await setup(t);
    // A dump that builds a B-tree index under one ordering and then changes the ordering's
    // comparison function, as a collation change under a restored index would: the index is
    // genuinely out of order, and only amcheck can tell. Row counts all match.
    const corrupt = `${ITEMS(7)}${ORDERS}
      create function public.flip_cmp(int, int) returns int language sql immutable as 'select btint4cmp($1, $2)';
      create operator class public.flip_ops for type int using btree as
        operator 1 <, operator 2 <=, operator 3 =, operator 4 >=, operator 5 >, function 1 public.flip_cmp(int, int);
      create index items_flip on public.items (id public.flip_ops);
      create or replace function public.flip_cmp(int, int) returns int language sql immutable as 'select btint4cmp($2, $1)';`;
    const key = (await readManifestFile(copy, 'shop', latest)).artifacts.find(
      (a) => a.database === 'shop',
    )!.key;
    await replaceWithValidGarbage(copy, 'shop', latest, key, corrupt);
    const r = await drill(config);
    failedAt(r, ['amcheck shop']);
    const amcheck = r.check('amcheck shop')!;
    assert.equal(amcheck.skipped, undefined);
    assert.match(amcheck.actual, /^1 of 3 failed: items_flip: .*item order invariant violated/);
    for (const table of ['items', 'orders']) assert.equal(r.check(`rows shop: public.${table}`)?.ok, true);
  });

  test('an expected database the backup lacks fails the drill', async (t) => {
    const { config } = await setup(t, `      expect: { databases: [shop, archive] }\n`);
    const r = await drill(config);
    failedAt(r, ['databases']);
    assert.equal(r.check('databases')?.expected, 'shop, archive');
    assert.match(r.check('databases')!.actual, /^missing archive \(present: .*\bshop\b.*\)$/);
  });

  test('--backup ID drills that backup, not the latest', async (t) => {
    const { storage: copy, config } = await setup(t);
    const r = await drill(config, '--backup', first);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^smoke OK$/m);
    assert.equal(r.report.backupId, first);
    assert.equal(r.check('rows shop: public.items')?.actual, '5', 'the first backup held 5 items');
    assert.deepEqual(
      (await drillReports(copy)).map((x) => x.key),
      [r.report.reportKey],
    );
    assert.ok(r.report.reportKey!.startsWith(`.lifeboat/shop/${first}.drill-`), r.report.reportKey!);
  });

  test('scratch.disposable: true takes a scratch server that holds databases, and replaces only what it restores', async (t) => {
    await scratch.psql('create database shop; create database keepme');
    t.after(() => scratch.psql('drop database if exists keepme; drop database if exists shop'));
    await scratch.psql(`create table stale (x int); insert into stale values (1)`, { database: 'shop' });
    const { config } = await setup(
      t,
      `      checks:
        - { name: no stale table, database: shop, sql: "select count(*) from pg_tables where tablename = 'stale'", expect: "= 0" }
`,
      ', disposable: true',
    );
    const r = await drill(config);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^scratch: .*\(disposable\)$/m);
    assert.match(r.stderr, /^scratch: drop database shop \(disposable scratch server\)$/m);
    assert.match(r.stderr, /^smoke OK$/m);
    assert.equal(r.check('no stale table')?.ok, true);
    assert.equal(r.check('rows shop: public.items')?.actual, '7');
    assert.equal(r.report.cleanup, undefined);
    // The restored shop is gone again; keepme, which the backup does not hold, is left alone.
    assert.equal(await databasesOf(), 'keepme,postgres,template0,template1');
    await scratch.psql('drop database keepme');
  });

  test('rowCountTolerance: an estimate within it passes, one outside it fails', async (t) => {
    // The manifest records the planner's estimate (10) for items, as it does for tables over 64 MB;
    // the copy holds 7, off by 3.
    const estimate = async (tolerance: string) => {
      const { storage: copy, config } = await setup(t, `      rowCountTolerance: ${tolerance}\n`);
      await editManifest(copy, 'shop', latest, (m) => {
        const items = m.artifacts
          .find((a) => a.database === 'shop')!
          .tables!.find((x) => x.table === 'items')!;
        Object.assign(items, { rows: 10, exact: false });
      });
      return drill(config);
    };
    const within = await estimate('{ percent: 30, rows: 0 }');
    assert.equal(within.code, 0, within.stderr);
    assert.deepEqual(within.check('rows shop: public.items'), {
      name: 'rows shop: public.items',
      ok: true,
      expected: '10 ± 3 (estimate)',
      actual: '7',
    });

    const outside = await estimate('{ percent: 20, rows: 2 }');
    failedAt(outside, ['rows shop: public.items']);
    assert.deepEqual(outside.check('rows shop: public.items'), {
      name: 'rows shop: public.items',
      ok: false,
      expected: '10 ± 2 (estimate)',
      actual: '7',
      detail: 'off by more than 2 rows',
    });
  });
});
