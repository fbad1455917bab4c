/**
 * Unit tests for the pure parts of restore drills: the row-count policy (src/drill/row-counts.ts),
 * drill report names in the catalog, the drill config schema, and the outcome phrase `status` and
 * `list` show. The expectation language of user checks has its own file (expectation.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { drillReportKey, listDrillReports, listManifestKeys } from '../src/catalog/catalog.js';
import { parseConfig } from '../src/config/load.js';
import { LifeboatError } from '../src/util/errors.js';
import { drillOutcome, drillTimestamp, type DrillReport } from '../src/catalog/drill-report.js';
import { allowedDeviation, judgeRowCount } from '../src/drill/row-counts.js';
import type { ObjectInfo, Storage } from '../src/storages/storage.js';

describe('row counts', () => {
  const exact = (rows: number) => ({ schema: 'public', table: 't', rows, exact: true });
  const estimate = (rows: number) => ({ schema: 'public', table: 't', rows, exact: false });

  test('exact counts must match exactly', () => {
    assert.deepEqual(judgeRowCount(exact(3000), 3000), { ok: true, expected: '3000', actual: '3000' });
    assert.equal(judgeRowCount(exact(3000), 2999).ok, false);
    assert.equal(judgeRowCount(exact(0), 1).ok, false);
  });

  test('estimates pass within the larger of 10 % and 1000 rows', () => {
    assert.equal(allowedDeviation(500, { percent: 10, rows: 1000 }), 1000);
    assert.equal(allowedDeviation(1_000_000, { percent: 10, rows: 1000 }), 100_000);
    assert.equal(judgeRowCount(estimate(500), 1500).ok, true);
    assert.equal(judgeRowCount(estimate(500), 1501).ok, false);
    assert.equal(judgeRowCount(estimate(1_000_000), 1_099_000).ok, true);
    assert.equal(judgeRowCount(estimate(1_000_000), 880_000).ok, false);
    assert.equal(judgeRowCount(estimate(1_000_000), 900_000).expected, '1000000 ± 100000 (estimate)');
  });

  test('the tolerance is configurable', () => {
    const strict = { percent: 0, rows: 0 };
    assert.equal(judgeRowCount(estimate(100), 100, strict).ok, true);
    assert.equal(judgeRowCount(estimate(100), 101, strict).ok, false);
  });

  test('a missing table fails', () => {
    assert.deepEqual(judgeRowCount(exact(5), undefined), {
      ok: false,
      expected: '5',
      actual: 'missing',
      detail: 'table does not exist',
    });
  });

  test('an estimate of 0 (never analyzed) holds the copy to nothing', () => {
    const v = judgeRowCount(estimate(0), 5_000_000);
    assert.equal(v.ok, true);
    assert.match(v.detail ?? '', /never analyzed/);
  });
});

describe('drill reports in the catalog', () => {
  test('names sit beside the manifest and never count as backups', async () => {
    const key = drillReportKey(
      'pg',
      '20261122T023000Z',
      drillTimestamp(new Date(Date.UTC(2026, 10, 22, 3, 0, 0))),
    );
    assert.equal(key, '.lifeboat/pg/20261122T023000Z.drill-20261122T030000Z.json');
    const keys = [
      '.lifeboat/pg/20261122T023000Z.json',
      key,
      '.lifeboat/pg/20261122T023000Z.drill-20261122T030000Z-2.json',
      '.lifeboat/pg/20261121T023000Z.drill-20261123T030000Z.json',
    ];
    const storage = {
      name: 'mem',
      location: 'mem',
      capabilities: { atomicCreateOnly: true },
      async *list(prefix: string): AsyncIterable<ObjectInfo> {
        for (const k of keys) if (k.startsWith(prefix)) yield { key: k, size: 1, modified: new Date() };
      },
    } as unknown as Storage;
    assert.deepEqual(
      (await listManifestKeys(storage)).map((e) => e.id),
      ['20261122T023000Z'],
    );
    assert.deepEqual(
      (await listDrillReports(storage, 'pg')).map((e) => [e.backupId, e.timestamp]),
      [
        ['20261122T023000Z', '20261122T030000Z'],
        ['20261122T023000Z', '20261122T030000Z-2'],
        ['20261121T023000Z', '20261123T030000Z'],
      ],
    );
  });

  test('the outcome phrase names the marker that failed', () => {
    const base = { ok: false, checks: [{ name: 'users present', ok: false, expected: '>= 1', actual: '0' }] };
    const r = (failure: object) => ({ ...base, failure }) as unknown as DrillReport;
    assert.equal(drillOutcome({ ok: true } as DrillReport), 'passed');
    assert.equal(drillOutcome(r({ stage: 'checks', code: 'failed' })), 'FAILED: smoke FAILED: users present');
    assert.equal(drillOutcome(r({ stage: 'verify', code: 'integrity' })), 'FAILED: sha256 mismatch');
    assert.equal(drillOutcome(r({ stage: 'restore', code: 'failed' })), 'FAILED: restore FAILED');
    assert.equal(drillOutcome(r({ stage: 'scratch', code: 'config' })), 'FAILED: scratch failed');
  });
});

describe('drill config', () => {
  const job = (drill: unknown) => ({
    storages: { disk: { type: 'local', path: '/b' } },
    jobs: { pg: { source: { type: 'postgres', url: 'postgres://h/db' }, storages: ['disk'], drill } },
  });
  const configError = (drill: unknown, pattern: RegExp) =>
    assert.throws(
      () => parseConfig(job(drill)),
      (err: unknown) => err instanceof LifeboatError && err.code === 'config' && pattern.test(err.message),
    );

  test('the SPEC example parses, with defaults', () => {
    const drill = parseConfig(
      job({
        schedule: { cron: '0 3 * * 0', timezone: 'America/Sao_Paulo' },
        expect: { databases: ['grafana', 'authelia'] },
        checks: [
          { name: 'users present', database: 'app', sql: 'select count(*) from users', expect: '>= 1' },
        ],
        scratch: { url: 'postgres://scratch/postgres' },
        rowCountTolerance: { percent: 5 },
      }),
    ).jobs.pg!.drill!;
    assert.deepEqual(drill.scratch, { url: 'postgres://scratch/postgres', disposable: false, roles: [] });
    assert.deepEqual(drill.rowCountTolerance, { percent: 5, rows: 1000 });
    assert.equal(drill.checks[0]!.expect, '>= 1');
  });

  test('numbers and booleans are accepted as exact values', () => {
    const drill = parseConfig(
      job({
        checks: [
          { name: 'n', sql: 'select 42', expect: 42 },
          { name: 'b', sql: 'select true', expect: true },
        ],
      }),
    ).jobs.pg!.drill!;
    assert.deepEqual(
      drill.checks.map((c) => c.expect),
      ['42', 'true'],
    );
  });

  test('errors name the field', () => {
    configError(
      { checks: [{ name: 'x', sql: 'select 1', expect: 'between 1 and' }] },
      /jobs\.pg\.drill\.checks\[0\]\.expect: .*between LOW and HIGH/,
    );
    configError({ checks: [{ name: 'x', sql: 'select 1' }] }, /jobs\.pg\.drill\.checks\[0\]\.expect/);
    configError(
      {
        checks: [
          { name: 'x', sql: 'select 1', expect: '1' },
          { name: 'x', sql: 'select 2', expect: '2' },
        ],
      },
      /jobs\.pg\.drill\.checks\[1\]\.name: duplicate check name "x"/,
    );
    configError({ scratch: { disposable: 'yes' } }, /jobs\.pg\.drill\.scratch\.disposable/);
    configError({ scratch: { urll: 'x' } }, /jobs\.pg\.drill\.scratch: unknown field urll/);
    configError({ rowCountTolerance: { rows: -1 } }, /jobs\.pg\.drill\.rowCountTolerance\.rows/);
  });
});
