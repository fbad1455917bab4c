/** `lifeboat backup [JOB...]` and the one-off `lifeboat backup --source URL --to DEST`. */
import { buildJob, buildStorages, oneOffJob } from '../../config/compose.js';
import { signingKey } from '../../config/signing.js';
import type { JobConfig } from '../../config/schema.js';
import type { BackupJob } from '../../core/backup.js';
import { LifeboatError, exitCodeFor, oneLine } from '../../util/errors.js';
import { jobBackupError, runJobBackup } from '../../jobs/backup.js';
import type { Context } from '../context.js';
import { describeError } from '../errors.js';
import { report, rowLine, type Row } from '../backup-report.js';
import { progressReporter } from '../progress.js';
import { pruneReporter } from '../prune-report.js';
import { runAlerts } from '../run-alerts.js';

export interface BackupOptions {
  source?: string;
  to?: string;
  job?: string;
  format?: string;
  compression?: string;
  databases?: string;
  dumpall?: boolean;
}

export async function backupCommand(
  ctx: Context,
  names: string[],
  opts: BackupOptions,
  signal: AbortSignal,
): Promise<number> {
  const out = ctx.output;
  const runs: Array<{ job: BackupJob; config?: JobConfig }> = [];
  let alerts = runAlerts(ctx, undefined);
  if (opts.source || opts.to) {
    if (!opts.source || !opts.to) throw new LifeboatError('usage', 'backup: --source and --to go together');
    if (names.length) throw new LifeboatError('usage', 'backup: name jobs or use --source/--to, not both');
    runs.push({ job: oneOffJob({ ...opts, source: opts.source, to: opts.to }, ctx.redactor) });
  } else {
    const config = await ctx.config();
    alerts = runAlerts(ctx, config);
    const storages = buildStorages(config);
    const selected = names.length ? names : Object.keys(config.jobs);
    if (selected.length === 0) throw new LifeboatError('config', `${ctx.configPath}: no jobs configured`);
    // Loaded before any dump: a key that cannot be read fails the command, not each run at its end.
    const key = await signingKey(config, ctx.redactor);
    for (const name of selected)
      runs.push({
        job: { ...buildJob(name, ctx.job(config, name), storages), signingKey: key },
        config: config.jobs[name],
      });
  }

  const results: Row[] = [];
  let exit = 0;
  for (const { job, config } of runs) {
    await alerts.begin(job.name, 'backup', job.storages);
    out.info(
      `backup ${job.name}: ${job.sources.map((s) => s.source.description).join(', ')} → ${job.storages.map((s) => s.location).join(', ')}`,
    );
    const progress = progressReporter(out, 'backup');
    try {
      const result = await runJobBackup(job, config, {
        signal,
        log: (line) => out.info(line),
        onArtifactStart: (key) => out.info(`  dump ${key}`),
        onBytes: (key, n) => progress(key, n),
        ...pruneReporter(out, job.name),
        // Reported before retention runs, which may still fail the run.
        onBackup: (result) => results.push(report(out, job.name, result)),
      });
      if (!result.ok) exit ||= 1;
      const error = jobBackupError(job.name, result);
      await alerts.end(job.name, 'backup', error ? { result: 'failure', error } : { result: 'success' });
    } catch (err) {
      out.clearProgress();
      out.log('error', `backup ${job.name} failed: ${describeError(err)}`);
      results.push({ job: job.name, ok: false, error: oneLine(err) });
      exit ||= exitCodeFor(err);
      await alerts.end(job.name, 'backup', { result: 'failure', error: err });
      if (signal.aborted) break;
    }
  }
  // Alerts and pings are delivered (or given up on) before the process exits.
  await alerts.settle();
  out.result(results.map(rowLine), results);
  return exit;
}
