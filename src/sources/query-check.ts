/**
 * A user's drill check as every kind that runs SQL judges it: the query's first value held to the
 * check's `expect` by the drill's own expectation language (the context's `judge`). No row, or an
 * error, fails the check; an abort is rethrown, so a stopped drill stays stopped.
 */
import type { CheckResult } from '../catalog/drill-report.js';
import { oneLine } from '../util/errors.js';
import type { SourceDrillContext } from './kind.js';

/** A check that could not be run: the error is its actual value. */
export const failedCheck = (name: string, expected: string, err: unknown): CheckResult => ({
  name,
  ok: false,
  expected,
  actual: `error: ${oneLine(err)}`,
});

/** What `expect` asks for, in words ("≥ 1"); it does not depend on a value. */
export const expectedBy = (judge: SourceDrillContext['judge'], expect: string): string =>
  judge(expect, null).expected;

export async function judgeQueryCheck(
  judge: SourceDrillContext['judge'],
  name: string,
  expect: string,
  query: () => Promise<string | null | undefined>,
  signal: AbortSignal | undefined,
): Promise<CheckResult> {
  const expected = expectedBy(judge, expect);
  try {
    const value = await query();
    if (value === undefined) return { name, ok: false, expected, actual: '(no rows)' };
    const verdict = judge(expect, value);
    return {
      name,
      ok: verdict.ok,
      expected,
      actual: value ?? 'NULL',
      ...(verdict.detail ? { detail: verdict.detail } : {}),
    };
  } catch (err) {
    signal?.throwIfAborted();
    return failedCheck(name, expected, err);
  }
}
