/** `lifeboat drill [JOB] [--backup ID] [--all] [--from STORAGE]`: restore drills into a scratch server. */
import { verifyingKey } from '../../config/signing.js';
import { exitCodeFor } from '../../util/errors.js';
import type { DrillReport } from '../../catalog/drill-report.js';
import { runJobDrill } from '../../jobs/drill.js';
import type { Context } from '../context.js';
import { reportDrill, worst } from '../drill-report.js';
import { selectTargets, type DrillCliOptions } from '../drill-targets.js';
import { describeError } from '../errors.js';
import { progressReporter } from '../progress.js';
import { runAlerts } from '../run-alerts.js';

export type { DrillCliOptions } from '../drill-targets.js';

export async function drillCommand(
  ctx: Context,
  job: string | undefined,
  opts: DrillCliOptions,
  signal: AbortSignal,
): Promise<number> {
  const out = ctx.output;
  const { targets, config } = await selectTargets(ctx, job, opts, signal);
  // Once signing is configured, every drilled manifest must be signed by its key.
  const signedBy = config ? await verifyingKey(config, ctx.redactor) : undefined;
  const human: string[] = [];
  const results: Array<DrillReport & { reportKey: string | null }> = [];
  const alerts = runAlerts(ctx, config);
  let exit = 0;
  for (const target of targets) {
    if (signal.aborted) break;
    await alerts.begin(target.job, 'drill', target.storages);
    try {
      const progress = progressReporter(out, 'verify');
      // --all drills the jobs that have a backup; one without is not a failure of the drill.
      const drilled = await runJobDrill({
        ...target,
        backup: opts.backup,
        skipIfNone: Boolean(opts.all && opts.backup === undefined),
        config,
        signedBy,
        signal,
        log: (line) => out.info(line),
        warn: (line) => out.warn(line),
        onBytes: out.interactive ? progress : undefined,
        onStart: (storage, manifest) =>
          out.info(`drill ${manifest.job} ${manifest.id} from ${storage.location}`),
      });
      out.clearProgress();
      if (!drilled) {
        const where = target.storages.map((s) => s.location).join(', ');
        out.info(`drill ${target.job}: no committed backup in ${where}, skipped`);
        await alerts.end(target.job, 'drill', { result: 'success', skipped: true });
        continue;
      }
      const { outcome } = drilled;
      const { code, lines } = reportDrill(out, outcome);
      human.push(...lines);
      results.push({ ...outcome.report, reportKey: outcome.key ?? null });
      exit = worst(exit, code);
      await alerts.end(
        target.job,
        'drill',
        // As serve words it: the report's own line (the failed stage or check), else what stopped it.
        outcome.report.ok && outcome.error === undefined
          ? { result: 'success' }
          : { result: 'failure', error: outcome.report.failure?.message ?? outcome.error ?? 'drill failed' },
      );
    } catch (err) {
      out.log('error', `drill ${target.job} failed: ${describeError(err)}`);
      exit = worst(exit, exitCodeFor(err));
      await alerts.end(target.job, 'drill', { result: 'failure', error: err });
    }
  }
  // Alerts and pings are delivered (or given up on) before the process exits.
  await alerts.settle();
  if (targets.length && !results.length && exit === 0 && !signal.aborted)
    out.info('drill: no job has a committed backup yet');
  out.result(human, results);
  return exit;
}
