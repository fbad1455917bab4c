/**
 * The drill of an SQLite source (its kind's `drill`): restore it into a scratch directory, then
 * check it: integrity_check, every recorded table's exact row count, and the job's SQL checks
 * against the restored file.
 */
import type { CheckResult } from '../../catalog/drill-report.js';
import { drillInDirectory } from '../dir-drill.js';
import type { SourceDrillContext, SourceDrillResult, SourceRestoreResult } from '../kind.js';
import { expectedBy, judgeQueryCheck } from '../query-check.js';
import { queryFirstValue } from './online-copy.js';
import type { SqliteBackup } from './record.js';
import { restoreSqlite } from './restore.js';

export function drillSqlite(ctx: SourceDrillContext): Promise<SourceDrillResult> {
  const part = ctx.part as SqliteBackup;
  const { signal, log } = ctx;
  return drillInDirectory(ctx, {
    restore: (to) => restoreSqlite(ctx.storage, part, { to, verified: true, keys: ctx.keys, signal, log }),
    check: (restored) => sqliteChecks(part, restored, ctx),
  });
}

async function sqliteChecks(
  part: SqliteBackup,
  restored: SourceRestoreResult,
  ctx: SourceDrillContext,
): Promise<CheckResult[]> {
  const written = restored.written ?? [];
  const tables = restored.tables ?? {};
  const checks: CheckResult[] = [];
  const files = part.artifacts.filter((a) => a.role === 'file');
  const fileOf = new Map(files.map((a, i) => [a.database ?? '', written[i]!]));
  for (const a of files) {
    const db = a.database ?? '';
    // restoreSqlite refuses a file that fails integrity_check, so reaching here means it passed.
    checks.push({ name: `integrity_check ${db}`, ok: true, expected: 'ok', actual: 'ok' });
    const now = new Map((tables[db] ?? []).map((t) => [t.table, t.rows]));
    for (const t of a.tables ?? []) {
      const actual = now.get(t.table);
      checks.push({
        name: `rows ${db}: ${t.table}`,
        ok: actual === t.rows,
        expected: String(t.rows),
        actual: actual === undefined ? 'table missing' : String(actual),
      });
    }
  }
  for (const check of ctx.drill?.checks ?? []) {
    const file = check.database ? fileOf.get(check.database) : written[0];
    if (!file) {
      checks.push({
        name: check.name,
        ok: false,
        expected: expectedBy(ctx.judge, check.expect),
        actual: `no database ${check.database} in this source`,
      });
      continue;
    }
    const query = () =>
      queryFirstValue(file, check.sql, { signal: ctx.signal, what: `drill check ${check.name}` });
    checks.push(await judgeQueryCheck(ctx.judge, check.name, check.expect, query, ctx.signal));
  }
  return checks;
}
