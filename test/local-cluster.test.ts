/**
 * Throwaway local clusters (src/sources/postgres/local-cluster.ts) and the realistic fixture: start, run
 * as the right OS user, load data, survive a dump/restore, and leave nothing behind on stop().
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, readlink, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  reapOrphanedClusters,
  startLocalCluster,
  type LocalCluster,
} from '../src/sources/postgres/local-cluster.js';
import {
  FIXTURE_DATABASES,
  FIXTURE_LARGE_OBJECT_OID,
  FIXTURE_ROW_COUNTS,
  loadRealisticFixture,
} from './fixtures/realistic.js';
import { withCluster } from './helpers/cluster.js';
import { clusterTraces } from './helpers/cluster-traces.js';
import { waitFor } from './helpers/scenarios.js';

/** The uid the server must run as: the postgres account when we are root, else ourselves. */
const expectedUid =
  process.getuid?.() === 0
    ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }))
    : process.getuid?.();

async function postmasterPid(cluster: LocalCluster): Promise<number> {
  return postmasterPidOf(cluster.dataDir);
}

async function postmasterPidOf(dataDir: string): Promise<number> {
  return Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
}

/** "pid (comm) S ppid …" → state and ppid; undefined once the process is gone. */
async function procStat(pid: number): Promise<{ state: string; ppid: number } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const [state = '', ppid = ''] = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state, ppid: Number(ppid) };
}

/** Running (not zombie) processes, optionally only the children of one. */
async function livePids(parent?: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = await procStat(Number(name));
    if (st && st.state !== 'Z' && (parent === undefined || st.ppid === parent)) pids.push(Number(name));
  }
  return pids;
}

/** Live processes started on, or working in, the given data dir. */
async function processesUsing(dataDir: string): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await livePids()) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (cmdline.split('\0').includes(dataDir) || cwd.startsWith(dataDir)) found.push(pid);
  }
  return found;
}

async function countRows(cluster: LocalCluster, database: string, table: string): Promise<number> {
  return Number((await cluster.psql(`SELECT count(*) FROM ${table}`, { database })).trim());
}

/** Runs one of the cluster's programs (pg_dump, psql …) synchronously; fails the test on a non-zero exit. */
function runTool(cluster: LocalCluster, program: string, args: string[], input?: string): string {
  const result = spawnSync(path.join(cluster.binDir, program), args, {
    input,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  assert.equal(result.status, 0, `${program} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * What a restore must reproduce, in a form that compares equal for equal databases: the schema
 * (pg_dump --schema-only, minus the random `\restrict` key pg_dump 15.14+ writes into every dump),
 * each table's (and materialized view's) rows as an order-independent checksum (a restore may store rows in another order),
 * sequence positions and large objects.
 */
async function fingerprint(cluster: LocalCluster, database: string) {
  const schema = runTool(cluster, 'pg_dump', ['--schema-only', '-d', cluster.url(database)]).replace(
    /^\\(un)?restrict .*$/gm,
    '',
  );
  const tables = await cluster.psql(
    `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    { database },
  );
  const rows: Record<string, string> = {};
  for (const table of tables.trim().split('\n')) {
    rows[table] = await cluster.psql(
      `SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM ${table} t`,
      { database },
    );
  }
  const sequences = await cluster.psql(
    'SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2',
    { database },
  );
  const largeObjects = await cluster.psql(
    'SELECT oid, md5(lo_get(oid)) FROM pg_largeobject_metadata ORDER BY 1',
    { database },
  );
  return { schema, rows, sequences, largeObjects };
}

/** Restores a plain SQL script without ON_ERROR_STOP and returns the ERROR lines psql printed. */
function restoreScript(cluster: LocalCluster, sql: string, database = 'postgres'): string[] {
  const result = spawnSync(path.join(cluster.binDir, 'psql'), ['-X', '-q', '-d', cluster.url(database)], {
    input: sql,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  assert.equal(result.status, 0, result.stderr);
  return result.stderr.split('\n').filter((line) => /\bERROR:/.test(line));
}

test('a cluster starts, answers queries and runs as the postgres user', async (t) => {
  const started = Date.now();
  const pg = await withCluster(t, { name: 'basic' });
  t.diagnostic(`started PostgreSQL ${pg.version} in ${Date.now() - started} ms on port ${pg.port}`);

  assert.match(await pg.psql('SELECT version()'), new RegExp(`^PostgreSQL ${pg.major}\\.`));
  assert.equal(pg.host, '127.0.0.1');
  assert.equal(pg.url(), `postgres://postgres@127.0.0.1:${pg.port}/postgres`);
  assert.equal(pg.url('we"ird db'), `postgres://postgres@127.0.0.1:${pg.port}/we%22ird%20db`);
  assert.equal((await pg.psql("SELECT current_setting('data_directory')")).trim(), pg.dataDir);
  assert.equal((await pg.psql('SELECT current_user')).trim(), 'postgres');

  const pid = await postmasterPid(pg);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
  assert.equal(uid, expectedUid, 'postmaster runs as the service account');
  assert.equal((await stat(pg.dataDir)).uid, expectedUid, 'data dir belongs to the service account');
});

test('psql rejects with the server error text', async (t) => {
  const pg = await withCluster(t);
  await assert.rejects(pg.psql('SELECT no_such_column'), /column "no_such_column" does not exist/);
  await assert.rejects(pg.psql('SELECT 1', { database: 'nope' }), /database "nope" does not exist/);
});

test('stop() kills every server process, removes the temp dir, and can be called again', async () => {
  const pg = await startLocalCluster({ name: 'stop' });
  const base = path.dirname(pg.dataDir);
  const postmaster = await postmasterPid(pg);
  const children = await livePids(postmaster);
  assert.ok(children.length > 0, 'the postmaster has its background processes');
  // Not an exact list: autovacuum workers come and go.
  assert.ok(
    (await processesUsing(pg.dataDir)).includes(postmaster),
    'the postmaster is found by its data dir',
  );

  const started = Date.now();
  await pg.stop();
  const took = Date.now() - started;

  assert.equal(existsSync(base), false, 'temp dir removed');
  // Exited means gone or a zombie: reaping the detached postmaster is up to init, not to us.
  for (const pid of [postmaster, ...children])
    assert.match((await procStat(pid))?.state ?? 'gone', /^(gone|Z)$/);
  assert.deepEqual(await processesUsing(pg.dataDir), []);
  await pg.stop();
  await Promise.all([pg.stop(), pg.stop()]);
  await assert.rejects(pg.psql('SELECT 1'), /psql postgres: .*(connect|refused|No such file)/);
  assert.ok(took < 10_000, `stop took ${took} ms`);
});

test("a SIGKILLed owner's cluster keeps running until the next start reaps it; a live owner's is left alone", async (t) => {
  // A child process owns a cluster and is then killed outright: no clean-up of its own runs.
  const owner = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import { startLocalCluster } from ${JSON.stringify(path.resolve('src/sources/postgres/local-cluster.ts'))};
       const c = await startLocalCluster({ name: 'orphan' });
       console.log(c.dataDir);
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => owner.kill('SIGKILL'));
  const exited = new Promise((resolve) => owner.once('exit', resolve));
  let out = '';
  owner.stdout!.on('data', (d) => (out += d));
  const dataDir = await waitFor('the owner to start its cluster', async () => /^(\/.*)\n/.exec(out)?.[1]);
  const base = path.dirname(dataDir);
  assert.match(
    path.basename(base),
    new RegExp(`^lifeboat-pg-orphan-${owner.pid}-`),
    'the dir names its owner',
  );
  t.after(() => rm(base, { recursive: true, force: true })); // should this test fail half-way

  assert.deepEqual(await reapOrphanedClusters(), [], 'a live owner keeps its cluster');
  const postmaster = await postmasterPidOf(dataDir);
  const traces = await clusterTraces({ which: (p) => p === owner.pid });
  assert.ok(
    traces.some((x) => x.startsWith('dir ')) && traces.some((x) => x.startsWith('process ')),
    traces.join('\n'),
  );

  owner.kill('SIGKILL');
  await exited;
  assert.ok((await processesUsing(dataDir)).includes(postmaster), 'the orphan still runs');

  assert.deepEqual(await reapOrphanedClusters(), [base]);
  assert.equal(existsSync(base), false, 'its dir is removed');
  assert.match((await procStat(postmaster))?.state ?? 'gone', /^(gone|Z)$/, 'its postmaster is stopped');
  assert.deepEqual(await clusterTraces({ which: (p) => p === owner.pid }), []);
});

test('two clusters at once get different ports and data dirs', async (t) => {
  const [a, b] = await Promise.all([withCluster(t), withCluster(t)]);
  assert.notEqual(a.port, b.port);
  assert.notEqual(a.dataDir, b.dataDir);
  await a.psql('CREATE TABLE only_in_a (x int)');
  assert.equal((await b.psql("SELECT to_regclass('only_in_a') IS NULL")).trim(), 't');
});

test("listen: 'socket' serves a Unix socket only", async (t) => {
  const pg = await withCluster(t, { listen: 'socket' });
  assert.equal(pg.host, pg.socketDir);
  assert.equal(
    pg.url('app'),
    `postgres://postgres@/app?host=${encodeURIComponent(pg.socketDir)}&port=${pg.port}`,
  );
  assert.equal((await pg.psql("SELECT current_setting('listen_addresses')")).trim(), '');
  assert.equal((await pg.psql('SELECT inet_server_addr() IS NULL')).trim(), 't', 'connected over the socket');
});

describe('the realistic fixture', () => {
  let source: LocalCluster;

  // Hooks registered from inside a before() hook run too early, so the after() sits here.
  after(() => source?.stop());
  before(async () => {
    source = await startLocalCluster({ name: 'fixture' });
    const started = Date.now();
    const { databases } = await loadRealisticFixture(source);
    assert.deepEqual(databases, [...FIXTURE_DATABASES]);
    console.log(`fixture loaded in ${Date.now() - started} ms`);
  });

  test('creates the databases, roles, tables and rows it promises', async () => {
    const dbs = (await source.psql('SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1'))
      .trim()
      .split('\n');
    assert.deepEqual(dbs, ['analytics', 'app', 'postgres', 'we"ird db']);
    assert.equal(
      (await source.psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'")).trim(),
      'app_owner',
    );
    assert.equal(
      (await source.psql("SELECT pg_has_role('report_user', 'app_reader', 'MEMBER')")).trim(),
      't',
      'role membership',
    );

    for (const [database, tables] of Object.entries(FIXTURE_ROW_COUNTS)) {
      for (const [table, rows] of Object.entries(tables)) {
        assert.equal(await countRows(source, database, table), rows, `${database}: ${table}`);
      }
    }

    const app = (sql: string) => source.psql(sql, { database: 'app' }).then((s) => s.trim());
    assert.equal(
      await app("SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension"),
      'citext,pgcrypto,plpgsql',
    );
    assert.equal(
      await app('SELECT count(*) > 0 FROM billing.monthly_revenue'),
      't',
      'materialized view populated',
    );
    assert.equal(
      await app(`SELECT convert_from(lo_get(${FIXTURE_LARGE_OBJECT_OID}), 'UTF8')`),
      'Terms of service, version 1.',
    );
    assert.equal(
      await app("SELECT count(*) FROM audit.log WHERE operation = 'UPDATE'"),
      '25',
      'trigger fired',
    );
    assert.equal(await app("SELECT has_table_privilege('app_reader', 'billing.invoices', 'SELECT')"), 't');
    assert.equal(
      await app("SELECT count(*) FROM public.customers WHERE email = 'USER7@example.COM'"),
      '1',
      'citext',
    );
  });

  test('restores cleanly from pg_dumpall into a fresh cluster', async (t) => {
    const target = await withCluster(t);
    const script = runTool(source, 'pg_dumpall', ['-d', source.url()]);
    // pg_dumpall always recreates the bootstrap superuser, which a fresh cluster already has.
    const errors = restoreScript(target, script);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /role "postgres" already exists/);
    for (const database of FIXTURE_DATABASES) {
      assert.deepEqual(
        await fingerprint(target, database),
        await fingerprint(source, database),
        `${database} is identical after the restore`,
      );
    }
  });

  test('restores cleanly from per-database pg_dump (after the globals) into a fresh cluster', async (t) => {
    const target = await withCluster(t);
    const globals = runTool(source, 'pg_dumpall', ['--globals-only', '-d', source.url()]);
    const errors = restoreScript(target, globals);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /role "postgres" already exists/);
    for (const database of FIXTURE_DATABASES) {
      const dump = runTool(source, 'pg_dump', ['--create', '-d', source.url(database)]);
      assert.deepEqual(restoreScript(target, dump), [], `${database} restores without errors`);
      assert.deepEqual(
        await fingerprint(target, database),
        await fingerprint(source, database),
        `${database} is identical after the restore`,
      );
    }
  });
});
