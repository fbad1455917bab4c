/** `lifeboat backup [JOB...]` and the one-off `lifeboat backup --source URL --to DEST`. */
import { buildJob, buildStorages, oneOffJob } from '../../config/compose.js';
import { signingKey } from '../../config/signing.js';
import type { JobConfig } from '../../config/schema.js';
import { runBackup, type BackupJob } from '../../core/backup.js';
import { LifeboatError, exitCodeFor, oneLine } from '../../util/errors.js';
import { totalSize } from '../../catalog/manifest.js';
import type { Context } from '../context.js';
import { formatBytes, formatDuration, progressReporter } from '../progress.js';
import { describeError } from '../errors.js';
import { pruneJob } from './prune.js';

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
  if (opts.source || opts.to) {
    if (!opts.source || !opts.to) throw new LifeboatError('usage', 'backup: --source and --to go together');
    if (names.length) throw new LifeboatError('usage', 'backup: name jobs or use --source/--to, not both');
    runs.push({ job: oneOffJob({ ...opts, source: opts.source, to: opts.to }, ctx.redactor) });
  } else {
    const config = await ctx.config();
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

  const results: unknown[] = [];
  let exit = 0;
  for (const { job, config } of runs) {
    out.info(
      `backup ${job.name}: ${job.sources.map((s) => s.source.description).join(', ')} → ${job.storages.map((s) => s.location).join(', ')}`,
    );
    const progress = progressReporter(out, 'backup');
    try {
      const { manifest, outcomes } = await runBackup(job, {
        signal,
        onArtifactStart: (key) => out.info(`  dump ${key}`),
        onBytes: (key, n) => progress(key, n),
        warn: (line) => out.warn(line),
      });
      out.clearProgress();
      const failed = outcomes.filter((o) => !o.ok);
      for (const f of failed)
        out.log('error', `backup ${job.name} to ${f.storage} failed: ${describeError(f.error)}`);
      const missing = manifest.missing ?? [];
      if (missing.length) {
        out.log(
          'error',
          `backup ${job.name} ${manifest.id} is partial: ${missing.map((m) => `database ${m.database} is missing (${m.error})`).join('; ')}`,
        );
      }
      const size = totalSize(manifest);
      out.info(
        `backup ${job.name} ${manifest.id}: ${manifest.artifacts.length} artifact(s), ${formatBytes(size)} in ${formatDuration(manifest.durationMs)}` +
          ` → ${outcomes
            .filter((o) => o.ok)
            .map((o) => o.storage)
            .join(', ')}`,
      );
      results.push({
        job: job.name,
        ok: failed.length === 0 && missing.length === 0,
        ...(missing.length ? { partial: true, missing } : {}),
        id: manifest.id,
        size,
        durationMs: manifest.durationMs,
        artifacts: manifest.artifacts.map((a) => ({ key: a.key, size: a.size, sha256: a.sha256 })),
        storages: outcomes.map((o) => ({
          storage: o.storage,
          ok: o.ok,
          ...(o.error ? { error: oneLine(o.error) } : {}),
        })),
      });
      if (failed.length || missing.length) {
        exit ||= 1;
        continue;
      }
      // Retention runs only after a fully successful backup: not after a failed or partial one.
      if (config?.retention) {
        for (const storage of job.storages)
          await pruneJob(ctx, job, config, storage, { dryRun: false, signal, verified: [manifest.id] });
      }
    } catch (err) {
      out.clearProgress();
      out.log('error', `backup ${job.name} failed: ${describeError(err)}`);
      results.push({ job: job.name, ok: false, error: oneLine(err) });
      exit ||= exitCodeFor(err);
      if (signal.aborted) break;
    }
  }
  out.result(
    results.map((r) => {
      const x = r as {
        job: string;
        ok: boolean;
        id?: string;
        size?: number;
        error?: string;
        partial?: boolean;
      };
      if (x.partial) return `${x.job}\t${x.id}\t${formatBytes(x.size ?? 0)}\tPARTIAL`;
      return x.ok
        ? `${x.job}\t${x.id}\t${formatBytes(x.size ?? 0)}\tok`
        : `${x.job}\t${x.id ?? '-'}\tFAILED\t${x.error ?? ''}`;
    }),
    results,
  );
  return exit;
}
