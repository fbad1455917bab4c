/**
 * Row-count policy for drills: how a table's count in the scratch copy is judged against what the
 * backup recorded. Exact counts (count(*) in the dump's own snapshot) must match exactly; the
 * planner's estimates, recorded for big tables, only have to land within a tolerance. Pure.
 */
import type { TableCount } from '../catalog/manifest.js';

export interface RowCountTolerance {
  /** Allowed deviation of an estimate, in percent of the estimate. */
  percent: number;
  /** Allowed deviation of an estimate, in rows; the larger of the two allowances applies. */
  rows: number;
}

/** reltuples is routinely off by a few percent; small tables swing by more than that, hence the floor. */
export const DEFAULT_ROW_COUNT_TOLERANCE: RowCountTolerance = { percent: 10, rows: 1000 };

export function allowedDeviation(estimate: number, tolerance: RowCountTolerance): number {
  return Math.max(tolerance.rows, Math.ceil((Math.abs(estimate) * tolerance.percent) / 100));
}

export interface RowCountVerdict {
  ok: boolean;
  expected: string;
  actual: string;
  detail?: string;
}

/**
 * Judges one table. `actual` is the count in the scratch copy, or undefined when the table is not
 * there at all.
 */
export function judgeRowCount(
  recorded: TableCount,
  actual: number | undefined,
  tolerance: RowCountTolerance = DEFAULT_ROW_COUNT_TOLERANCE,
): RowCountVerdict {
  const allowed = allowedDeviation(recorded.rows, tolerance);
  const expected = recorded.exact ? String(recorded.rows) : `${recorded.rows} ± ${allowed} (estimate)`;
  if (actual === undefined) return { ok: false, expected, actual: 'missing', detail: 'table does not exist' };
  const got = String(actual);
  if (recorded.exact) return { ok: actual === recorded.rows, expected, actual: got };
  if (Math.abs(actual - recorded.rows) <= allowed) return { ok: true, expected, actual: got };
  // reltuples is 0 for a table that was never analyzed: the backup recorded no usable number for
  // it, so a big copy is not evidence of anything wrong.
  if (recorded.rows === 0)
    return { ok: true, expected, actual: got, detail: 'the recorded estimate was 0 (never analyzed?)' };
  return { ok: false, expected, actual: got, detail: `off by more than ${allowed} rows` };
}
