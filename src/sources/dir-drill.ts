/**
 * The drill frame of the kinds restored to files (SQLite, files): a scratch directory (removed
 * afterwards, also on failure), the kind's restore into it, then its checks. Never throws for a
 * failed drill: the result says where it stopped and why.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CheckResult } from '../catalog/drill-report.js';
import { oneLine } from '../util/errors.js';
import type { SourceDrillContext, SourceDrillResult } from './kind.js';

export async function drillInDirectory<R>(
  ctx: SourceDrillContext,
  steps: {
    /** Restores the part to `to` (a path inside the scratch directory). */
    restore(to: string): Promise<R>;
    check(restored: R, to: string): Promise<CheckResult[]>;
  },
): Promise<SourceDrillResult> {
  const { part, log } = ctx;
  const timings = { scratchMs: 0, restoreMs: 0, checksMs: 0 };
  const t0 = Date.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-drill-'));
  const scratch = { kind: 'local' as const, where: dir, serverVersion: '' };
  timings.scratchMs = Date.now() - t0;
  const bytes = part.artifacts.reduce((n, a) => n + a.size, 0);
  const result = (
    stage: SourceDrillResult['stage'],
    checks: CheckResult[],
    restored: boolean,
    error?: unknown,
  ) => ({
    stage,
    scratch,
    checks,
    bytes,
    restored,
    cleanup: [],
    timings,
    ...(error !== undefined ? { error } : {}),
  });
  try {
    const t1 = Date.now();
    const to = path.join(dir, part.name);
    let restored: R;
    try {
      restored = await steps.restore(to);
      timings.restoreMs = Date.now() - t1;
    } catch (err) {
      log('restore FAILED');
      return result('restore', [], false, err);
    }
    const t2 = Date.now();
    const checks = await steps.check(restored, to);
    timings.checksMs = Date.now() - t2;
    return result('checks', checks, true);
  } catch (err) {
    return result('checks', [], true, err);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch((err: unknown) =>
      ctx.warn(`remove drill scratch ${dir}: ${oneLine(err)}`),
    );
  }
}
