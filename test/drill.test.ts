/**
 * Restore drills end to end with the real CLI and real clusters: the realistic fixture drills clean
 * with every table's row count; a flipped byte, a dump that cannot restore, a single-database dump
 * from before roles were recorded and a failing user check each fail with their marker and exit code; SIGTERM
 * mid-restore stops the drill; a configured scratch server is refused when it holds data and left
 * as found when used. After every drill, no scratch cluster dir or process is left.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Manifest } from '../src/catalog/manifest.js';
import type { DrillReport } from '../src/catalog/drill-report.js';
import { withCluster } from './helpers/cluster.js';
import {
  drillReports,
  flipByte,
  newScratchTraces,
  replaceWithValidGarbage,
  scratchTraces,
  scratchTracesOf,
} from './helpers/drill.js';
import { errorLines, lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { createBigTable, writeConfig } from './helpers/scenarios.js';
import { FIXTURE_ROW_COUNTS, loadRealisticFixture } from './fixtures/realistic.js';

type HasAfter = { after(fn: () => unknown): void };
type DrillJson = Array<DrillReport & { reportKey: string | null }>;

describe('restore drills', async () => {
  const source = await withCluster({ after }, { name: 'drill-source' });
  await loadRealisticFixture(source);
  await source.psql('create database big');
  // ~25 MB of dump: restoring it takes long enough to be interrupted.
  await createBigTable(source, 'big');

  let baseline = new Set<string>();
  before(async () => {
    baseline = await scratchTraces();
  });
  // The drill's own promise, checked after each test: nothing of a scratch cluster survives it.
  afterEach(async () => {
    assert.deepEqual(await newScratchTraces(baseline), [], 'scratch cluster leftovers');
  });

  /** A one-off backup into a fresh directory; returns the directory and the backup's id and artifacts. */
  async function oneOff(t: HasAfter, args: string[], job = 'pg') {
    const dir = await tempDir(t, 'lifeboat-drill-test-');
    const r = await lifeboat(['backup', ...args, '--to', dir, '--job', job, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const [res] = JSON.parse(r.stdout) as Array<{ id: string; artifacts: Array<{ key: string }> }>;
    return { dir, id: res!.id, keys: res!.artifacts.map((a) => a.key) };
  }

  async function configFor(t: HasAfter, jobs: string) {
    const dir = await tempDir(t, 'lifeboat-drill-test-');
    const storage = path.join(dir, 'storage');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${storage} }\njobs:\n${jobs}`,
    );
    return { storage, config };
  }

  const stripQuotes = (s: string) => s.replace(/"/g, '');

  test('the realistic fixture drills clean; the report, list and status show it', async (t) => {
    const { storage, config } = await configFor(
      t,
      `  pg:
    source: { type: postgres, url: "${source.url()}", databases: all, exclude: [big] }
    storages: [disk]
    drill:
      checks:
        - { name: customers present, database: app, sql: "select count(*) from customers", expect: ">= 1" }
        - { name: invoice numbers, database: app, sql: "select min(number) from billing.invoices", expect: "between 100000 and 100010" }
  never:
    source: { type: postgres, url: "${source.url('app')}" }
    storages: [disk]
`,
    );
    const backup = await lifeboat(['--config', config, 'backup', 'pg']);
    assert.equal(backup.code, 0, backup.stderr);

    // --all drills every job that has a backup, and skips the one that has none.
    const drill = await lifeboat(['--config', config, 'drill', '--all', '--json']);
    assert.equal(drill.code, 0, drill.stderr);
    for (const marker of ['sha256 OK', 'restore OK', 'smoke OK'])
      assert.ok(drill.stderr.includes(marker), marker);
    assert.match(drill.stderr, /drill never: no committed backup .* skipped/);
    const [report, ...others] = JSON.parse(drill.stdout) as DrillJson;
    assert.equal(others.length, 0);
    assert.equal(report!.ok, true);
    assert.equal(report!.result, 'passed');
    assert.equal(report!.scratch?.kind, 'local');
    assert.ok(
      report!.rpoSeconds >= 0 && report!.rtoSeconds! > 0 && report!.bytesRestored > 0,
      JSON.stringify(report),
    );

    // Every table the manifest recorded, with the count the fixture loaded.
    const rows = report!.checks.filter((c) => c.name.startsWith('rows '));
    const recorded = (await readManifestTables(storage, report!.backupId)).map((x) => `rows ${x}`);
    assert.deepEqual(rows.map((c) => c.name).sort(), recorded.sort());
    let compared = 0;
    for (const [db, tables] of Object.entries(FIXTURE_ROW_COUNTS)) {
      for (const [table, count] of Object.entries(tables)) {
        const check = rows.find((c) => c.name === `rows ${db}: ${stripQuotes(table)}`);
        if (!check) continue; // a partitioned parent holds no rows itself; its partitions are listed
        assert.equal(check.actual, String(count), check.name);
        assert.ok(check.ok, check.name);
        compared++;
      }
    }
    assert.equal(compared, 10);
    for (const name of ['connect', 'databases', 'amcheck app', 'customers present', 'invoice numbers'])
      assert.ok(report!.checks.find((c) => c.name === name)?.ok, name);
    assert.ok(!report!.checks.find((c) => c.name === 'amcheck app')?.skipped, 'amcheck ran');

    const stored = await drillReports(storage);
    assert.deepEqual(
      stored.map((s) => s.key),
      [report!.reportKey],
    );
    assert.match(
      report!.reportKey!,
      new RegExp(`^\\.lifeboat/pg/${report!.backupId}\\.drill-\\d{8}T\\d{6}Z\\.json$`),
    );

    const list = await lifeboat(['--config', config, 'list', 'pg', '--json']);
    const listed = JSON.parse(list.stdout) as {
      backups: Array<{ lastDrill: { ok: boolean; outcome: string } | null }>;
    };
    assert.equal(listed.backups[0]!.lastDrill?.outcome, 'passed');
    const status = await lifeboat(['--config', config, 'status']);
    assert.match(status.stdout, /^pg\t.*\tdrill: passed .* ago \(\d{8}T\d{6}Z(?:-\d+)?\)\t/m);
    assert.match(status.stdout, /^never\t.*\tdrill: never\t/m);
  });

  async function readManifestTables(storage: string, id: string): Promise<string[]> {
    const m = JSON.parse(await readFile(path.join(storage, '.lifeboat/pg', `${id}.json`), 'utf8')) as {
      artifacts: Array<{ database?: string; tables?: Array<{ schema: string; table: string }> }>;
    };
    return m.artifacts.flatMap((a) => (a.tables ?? []).map((x) => `${a.database}: ${x.schema}.${x.table}`));
  }

  test('a failing user check: smoke FAILED, exit 1, expected and actual in the report', async (t) => {
    const { config } = await configFor(
      t,
      `  pg:
    source: { type: postgres, url: "${source.url()}", databases: [app] }
    storages: [disk]
    drill:
      checks:
        - { name: no customers, database: app, sql: "select count(*) from customers", expect: "= 0" }
        - { name: still fine, database: app, sql: "select 'ok'", expect: ok }
`,
    );
    assert.equal((await lifeboat(['--config', config, 'backup'])).code, 0);
    const drill = await lifeboat(['--config', config, 'drill', 'pg', '--json']);
    assert.equal(drill.code, 1, drill.stderr);
    assert.match(drill.stderr, /restore OK/);
    assert.match(drill.stderr, /^smoke FAILED: no customers$/m);
    assert.doesNotMatch(drill.stderr, /smoke OK|smoke FAILED: still fine/);
    assert.equal(errorLines(drill.stderr).length, 1, drill.stderr);
    assert.match(
      errorLines(drill.stderr)[0]!,
      /drill pg \S+ failed at checks: 1 of \d+ checks failed: no customers/,
    );
    const [report] = JSON.parse(drill.stdout) as DrillJson;
    assert.deepEqual(
      report!.checks.find((c) => c.name === 'no customers'),
      { name: 'no customers', ok: false, expected: '= 0', actual: '2000' },
    );
    assert.equal(report!.result, 'failed');
    const status = await lifeboat(['--config', config, 'status']);
    assert.match(status.stdout, /drill: FAILED: smoke FAILED: no customers/);
  });

  test('a flipped byte: sha256 mismatch, exit 4, nothing restored', async (t) => {
    const { dir, keys } = await oneOff(t, ['--source', source.url(), '--databases', 'app,analytics']);
    const key = keys.find((k) => k.includes('/app.sql'))!;
    await flipByte(path.join(dir, key));
    const drill = await lifeboat(['drill', '--from', dir, '--json']);
    assert.equal(drill.code, 4, drill.stderr);
    assert.ok(drill.stderr.includes(`sha256 mismatch: ${key}`), drill.stderr);
    assert.doesNotMatch(drill.stderr, /restore OK|restore (globals|database)|smoke/);
    const [report] = JSON.parse(drill.stdout) as DrillJson;
    assert.equal(report!.failure?.stage, 'verify');
    assert.equal(report!.failure?.code, 'integrity');
    assert.equal(report!.scratch, null, 'checksums come first: no scratch server was even started');
    assert.doesNotMatch(drill.stderr, /scratch:/);
    assert.equal(report!.bytesRestored, 0);
    assert.equal(report!.rtoSeconds, null);
    assert.deepEqual(report!.checks, []);
    assert.equal((await drillReports(dir)).length, 1, 'a failed drill is recorded too');
  });

  test('a dump that cannot restore (valid checksums, garbage inside): restore FAILED, exit 1', async (t) => {
    const { dir, id, keys } = await oneOff(t, ['--source', source.url(), '--databases', 'app,analytics']);
    const key = keys.find((k) => k.includes('/analytics.sql'))!;
    await replaceWithValidGarbage(dir, 'pg', id, key, 'this is not SQL;\n');
    const drill = await lifeboat(['drill', '--from', dir, '--json']);
    assert.equal(drill.code, 1, drill.stderr);
    assert.match(drill.stderr, /sha256 OK/);
    assert.match(drill.stderr, /^restore FAILED$/m);
    assert.doesNotMatch(drill.stderr, /restore OK|smoke/);
    assert.match(errorLines(drill.stderr).join('\n'), /failed at restore: .*syntax error/);
    const [report] = JSON.parse(drill.stdout) as DrillJson;
    assert.equal(report!.failure?.stage, 'restore');
    assert.equal(report!.rtoSeconds, null);
  });

  test('a single-database dump names its roles: the drill creates them; drill.scratch.roles adds extras', async (t) => {
    const { dir, id } = await oneOff(t, ['--source', source.url('app')], 'app');
    const manifestFile = path.join(dir, '.lifeboat', 'app', `${id}.json`);
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Manifest;
    // postgres, the dumping superuser, exists on every scratch server; report_user owns nothing here.
    assert.deepEqual(
      manifest.artifacts[0]!.roles!.filter((r) => r !== 'postgres'),
      ['app_owner', 'app_reader'],
    );

    const { config } = await configFor(
      t,
      `  app:
    source: { type: postgres, url: "${source.url('app')}" }
    storages: [disk]
    drill:
      scratch: { roles: [auditor] }
`,
    );
    const drill = await lifeboat(['--config', config, 'drill', 'app', '--from', dir, '--json']);
    assert.equal(drill.code, 0, drill.stderr);
    assert.match(drill.stderr, /scratch: create role app_owner NOLOGIN \(named by the backup\)/);
    assert.match(drill.stderr, /scratch: create role app_reader NOLOGIN \(named by the backup\)/);
    assert.match(drill.stderr, /scratch: create role auditor NOLOGIN \(drill.scratch.roles\)/);
    const [report] = JSON.parse(drill.stdout) as DrillJson;
    assert.ok(report!.checks.some((c) => c.name === 'rows app: billing.invoices' && c.actual === '3000'));

    // A backup from before roles were recorded: restore FAILED, with the hint to list them.
    const { roles: _roles, ...oldArtifact } = manifest.artifacts[0]!;
    await writeFile(manifestFile, JSON.stringify({ ...manifest, artifacts: [oldArtifact] }));
    const old = await lifeboat(['drill', '--from', dir]);
    assert.equal(old.code, 1, old.stderr);
    assert.match(old.stderr, /^restore FAILED$/m);
    assert.match(old.stderr, /role "app_owner" does not exist.*hint: .*drill\.scratch\.roles/);
  });

  test('SIGTERM mid-restore stops the drill and removes the scratch cluster', async (t) => {
    const { dir } = await oneOff(t, ['--source', source.url('big'), '--compression', 'none'], 'big');
    const run = startLifeboat(['drill', '--from', dir]);
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      run.child.stderr!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (/restore database big/.test(seen)) resolve();
      });
      run.child.once('close', () => reject(new Error(`drill ended before the restore started:\n${seen}`)));
    });
    // The helper that finds leftovers sees this drill's live scratch cluster: dir and server processes.
    const live = [...(await scratchTracesOf((owner) => owner === run.child.pid))];
    assert.ok(
      live.some((x) => x.startsWith('dir ')) && live.some((x) => x.startsWith('process ')),
      live.join('\n'),
    );
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /SIGTERM/);
    assert.match(r.stderr, /^restore FAILED$/m);
    assert.doesNotMatch(r.stderr, /restore OK|smoke OK/);
    const [stored] = await drillReports(dir);
    assert.equal(stored?.report.failure?.code, 'aborted');
  });

  test('a configured scratch server: refused when it holds data or is the source; left as found when used', async (t) => {
    const scratch = await withCluster(t, { name: 'scratch-server' });
    await scratch.psql('create database keepme');
    const job = (url: string) => `  pg:
    source: { type: postgres, url: "${source.url()}", databases: [app, analytics] }
    storages: [disk]
    drill:
      scratch: { url: "${url}" }
`;
    const { storage, config } = await configFor(t, job(scratch.url()));
    assert.equal((await lifeboat(['--config', config, 'backup'])).code, 0);

    const refused = await lifeboat(['--config', config, 'drill']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      errorLines(refused.stderr)[0]!,
      /use scratch server 127\.0\.0\.1:\d+: it holds databases keepme; refusing .*hint: .*disposable: true/,
    );
    assert.doesNotMatch(refused.stderr, /restore (OK|FAILED|globals|database)/);
    assert.ok(
      (await scratch.psql(`select 1 from pg_database where datname = 'keepme'`)).trim(),
      'keepme untouched',
    );

    const { config: atSource } = await configFor(t, job(source.url()));
    const own = await lifeboat(['--config', atSource, 'drill', '--from', storage]);
    assert.equal(own.code, 2, own.stderr);
    assert.match(own.stderr, /it is the source server of job pg; a drill never touches the source/);

    await scratch.psql('drop database keepme');
    // A role the backup's globals also define: restoring them rewrites it (login, password), and
    // the drill must put it back as it was.
    await scratch.psql(`create role app_owner nologin password 'scratch-only'`);
    const roles = `select string_agg(concat_ws(':', rolname, rolcanlogin, rolpassword), ',' order by rolname) from pg_authid`;
    const rolesBefore = await scratch.psql(roles);
    const used = await lifeboat(['--config', config, 'drill', '--json']);
    assert.equal(used.code, 0, used.stderr);
    const [report] = JSON.parse(used.stdout) as DrillJson;
    assert.equal(report!.scratch?.kind, 'server');
    assert.equal(report!.cleanup, undefined);
    assert.equal(
      (await scratch.psql(`select string_agg(datname, ',' order by datname) from pg_database`)).trim(),
      'postgres,template0,template1',
    );
    assert.equal(await scratch.psql(roles), rolesBefore);
    assert.match(used.stderr, /restore globals/, 'the globals (and so app_owner) were restored');
  });
});
