/**
 * The checks a drill of a PostgreSQL source runs against its restored copy, in order: connect (`select 1`), the expected
 * databases exist, every table the manifest recorded exists with its row count, amcheck on the
 * B-tree indexes, then the user's checks from `drill.checks`. Each yields a named result with
 * expected and actual; a check that errors fails with the error as its actual value, and the rest
 * still run, so one report shows everything that is wrong.
 */
import type { CheckResult } from '../../catalog/drill-report.js';
import type { TableCount } from '../../catalog/manifest.js';
import { quoteIdent } from '../../util/quote-ident.js';
import type { Scratch } from '../drill-scratch.js';
import type { SourceDrillContext } from '../kind.js';
import { failedCheck as failed, judgeQueryCheck } from '../query-check.js';
import { amcheckDatabase } from './amcheck.js';
import type { PostgresBackup } from './record.js';
import { firstValue, withScratchClient } from './scratch-query.js';

export interface CheckPlan {
  scratch: Pick<Scratch, 'url'>;
  /** The source restored (one PostgreSQL source of the backup). */
  manifest: PostgresBackup;
  /** The databases the restore put on the scratch server. */
  restored: string[];
  /** The job's drill settings; its `checks` only those for this source. */
  drill?: SourceDrillContext['drill'];
  /** The drill's judges: a user check's value against its expectation, a row count against the recorded one. */
  judge: SourceDrillContext['judge'];
  judgeRows: SourceDrillContext['judgeRows'];
  signal?: AbortSignal;
}

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
    results.push(...(await rowCountChecks(scratch.url(db), db, artifact.tables, plan)));
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
    results.push(await userCheck(scratch.url(check.database ?? home), check, plan));
  }
  return results;
}

async function rowCountChecks(
  url: string,
  db: string,
  tables: TableCount[],
  { judgeRows, signal }: CheckPlan,
): Promise<CheckResult[]> {
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
        const verdict = judgeRows(t, actual);
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
  check: NonNullable<CheckPlan['drill']>['checks'][number],
  { judge, signal }: CheckPlan,
): Promise<CheckResult> {
  return judgeQueryCheck(
    judge,
    check.name,
    check.expect,
    () => withScratchClient(url, signal, (c) => firstValue(c, check.sql)),
    signal,
  );
}
