/**
 * The checks a drill runs against its restored copy, in order: connect (`select 1`), the expected
 * databases exist, every table the manifest recorded exists with its row count, amcheck on the
 * B-tree indexes, then the user's checks from `drill.checks`. Each yields a named result with
 * expected and actual; a check that errors fails with the error as its actual value, and the rest
 * still run, so one report shows everything that is wrong.
 */
import type { TableCount } from '../catalog/manifest.js';
import type { DrillConfig } from '../config/schema.js';
import type { PostgresBackup } from '../sources/postgres/record.js';
import { oneLine } from '../util/errors.js';
import { amcheckDatabase } from './amcheck.js';
import { checkExpectation, describeExpectation, parseExpectation } from '../config/expectation.js';
import { quoteIdent } from '../util/quote-ident.js';
import { firstValue, withScratchClient } from './query.js';
import type { CheckResult } from '../catalog/drill-report.js';
import { DEFAULT_ROW_COUNT_TOLERANCE, judgeRowCount } from './row-counts.js';
import type { Scratch } from './scratch.js';

export interface CheckPlan {
  scratch: Pick<Scratch, 'url'>;
  /** The source restored (one PostgreSQL source of the backup). */
  manifest: PostgresBackup;
  /** The databases the restore put on the scratch server. */
  restored: string[];
  /** The job's drill settings; its `checks` only those for this source. */
  drill?: DrillConfig;
  signal?: AbortSignal;
}

const failed = (name: string, expected: string, err: unknown): CheckResult => ({
  name,
  ok: false,
  expected,
  actual: `error: ${oneLine(err)}`,
});

/** Where checks without a `database` run: a single-database backup's database, else postgres. */
export function defaultDatabase(manifest: PostgresBackup, restored: string[]): string {
  return manifest.source.mode === 'database' ? restored[0]! : 'postgres';
}

export async function runChecks(plan: CheckPlan): Promise<CheckResult[]> {
  const { scratch, manifest, restored, drill, signal } = plan;
  const home = defaultDatabase(manifest, restored);
  const results: CheckResult[] = [];

  try {
    const one = await withScratchClient(scratch.url(home), signal, (c) => firstValue(c, 'select 1'));
    results.push({ name: 'connect', ok: one === '1', expected: '1', actual: String(one) });
  } catch (err) {
    signal?.throwIfAborted();
    // Nothing else can run on a server we cannot reach.
    results.push(failed('connect', '1', err));
    return results;
  }

  const expectedDbs = drill?.expect?.databases ?? restored;
  let present: string[] = [];
  try {
    present = await withScratchClient(scratch.url(home), signal, async (c) => {
      const { rows } = await c.query<{ datname: string }>(
        'select datname from pg_database where not datistemplate order by 1',
      );
      return rows.map((r) => r.datname);
    });
    const missing = expectedDbs.filter((d) => !present.includes(d));
    results.push({
      name: 'databases',
      ok: missing.length === 0,
      expected: expectedDbs.join(', '),
      actual: missing.length
        ? `missing ${missing.join(', ')} (present: ${present.join(', ')})`
        : expectedDbs.join(', '),
    });
  } catch (err) {
    signal?.throwIfAborted();
    results.push(failed('databases', expectedDbs.join(', '), err));
  }

  for (const artifact of manifest.artifacts) {
    if (!artifact.tables?.length) continue;
    const db = manifest.source.mode === 'database' ? restored[0]! : artifact.database!;
    results.push(...(await rowCountChecks(scratch.url(db), db, artifact.tables, drill, signal)));
  }

  for (const db of restored) {
    try {
      results.push(await amcheckDatabase(scratch.url(db), db, signal));
    } catch (err) {
      signal?.throwIfAborted();
      results.push(failed(`amcheck ${db}`, 'every btree index passes bt_index_check', err));
    }
  }

  for (const check of drill?.checks ?? []) {
    results.push(await userCheck(scratch.url(check.database ?? home), check, signal));
  }
  return results;
}

async function rowCountChecks(
  url: string,
  db: string,
  tables: TableCount[],
  drill: DrillConfig | undefined,
  signal: AbortSignal | undefined,
): Promise<CheckResult[]> {
  const tolerance = { ...DEFAULT_ROW_COUNT_TOLERANCE, ...drill?.rowCountTolerance };
  const nameOf = (t: { schema: string; table: string }) => `rows ${db}: ${t.schema}.${t.table}`;
  try {
    return await withScratchClient(url, signal, async (c) => {
      const out: CheckResult[] = [];
      for (const t of tables) {
        const qualified = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
        let actual: number | undefined;
        try {
          const exists = await firstValue(c, 'select to_regclass($1) is not null', [qualified]);
          if (exists === 't') actual = Number(await firstValue(c, `select count(*) from ${qualified}`));
        } catch (err) {
          signal?.throwIfAborted();
          out.push(failed(nameOf(t), String(t.rows), err));
          continue;
        }
        const verdict = judgeRowCount(t, actual, tolerance);
        out.push({ name: nameOf(t), ...verdict });
      }
      return out;
    });
  } catch (err) {
    signal?.throwIfAborted();
    return tables.map((t) => failed(nameOf(t), String(t.rows), err));
  }
}

async function userCheck(
  url: string,
  check: NonNullable<DrillConfig['checks']>[number],
  signal: AbortSignal | undefined,
): Promise<CheckResult> {
  return judgeQueryCheck(
    check.name,
    check.expect,
    () => withScratchClient(url, signal, (c) => firstValue(c, check.sql)),
    signal,
  );
}

/**
 * A user check's verdict, whatever the source kind runs its query against: the query's first
 * value judged by the check's expectation; no row, or an error, fails the check (an abort is
 * rethrown, so a stopped drill stays stopped).
 */
export async function judgeQueryCheck(
  name: string,
  expect: string,
  query: () => Promise<string | null | undefined>,
  signal: AbortSignal | undefined,
): Promise<CheckResult> {
  // Validated when the config was loaded; parsing again here cannot fail.
  const expectation = parseExpectation(expect);
  const expected = describeExpectation(expectation);
  try {
    const value = await query();
    if (value === undefined) return { name, ok: false, expected, actual: '(no rows)' };
    const verdict = checkExpectation(expectation, value);
    return {
      name,
      ok: verdict.ok,
      expected,
      actual: value ?? 'NULL',
      ...(verdict.detail ? { detail: verdict.detail } : {}),
    };
  } catch (err) {
    signal?.throwIfAborted();
    return failed(name, expected, err);
  }
}
