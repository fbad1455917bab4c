/** `lifeboat prune [JOB] [--dry-run]`: retention plus leftover cleanup, saying what and why. */
import { buildStorages, policyOf } from '../../config/compose.js';
import type { JobConfig } from '../../config/schema.js';
import { executePrune, planPrune } from '../../core/prune.js';
import type { Storage } from '../../storages/storage.js';
import { LifeboatError } from '../../core/errors.js';
import type { Context } from '../context.js';

export async function pruneJob(
  ctx: Context,
  job: { name: string; layout?: string },
  config: JobConfig,
  storage: Storage,
  opts: { dryRun: boolean; signal?: AbortSignal },
) {
  const out = ctx.output;
  const { policy, timeZone } = policyOf(config);
  const plan = await planPrune(storage, job, policy, { timeZone, signal: opts.signal });
  const verb = opts.dryRun ? 'would remove' : 'remove';
  for (const d of plan.decisions) {
    out.info(
      `prune ${job.name} ${storage.name}: ${d.keep ? 'keep' : verb} ${d.id}${d.keep ? ` (${d.reasons.join(', ')})` : ''}`,
    );
  }
  for (const key of plan.orphans)
    out.info(`prune ${job.name} ${storage.name}: ${verb} ${key} (not part of any committed backup)`);
  const outcome = opts.dryRun ? undefined : await executePrune(storage, plan, { signal: opts.signal });
  for (const r of outcome?.retained ?? []) {
    out.info(
      `prune ${job.name} ${storage.name}: keep ${r.id ?? r.key} (retained by Object Lock ${r.lock}; a later prune removes it)`,
    );
  }
  return {
    job: job.name,
    storage: storage.name,
    dryRun: opts.dryRun,
    keep: plan.decisions.filter((d) => d.keep).map((d) => ({ id: d.id, reasons: d.reasons })),
    remove: plan.decisions
      .filter((d) => !d.keep && !outcome?.retained.some((r) => r.id === d.id))
      .map((d) => d.id),
    orphans: plan.orphans,
    removedObjects: outcome?.removedObjects ?? [],
    retained: outcome?.retained ?? [],
  };
}

export async function pruneCommand(
  ctx: Context,
  jobName: string | undefined,
  opts: { dryRun?: boolean },
  signal: AbortSignal,
): Promise<number> {
  const config = await ctx.config();
  const storages = buildStorages(config);
  const names = jobName ? [jobName] : Object.keys(config.jobs);
  if (names.length === 0) throw new LifeboatError('config', `${ctx.configPath}: no jobs configured`);
  const results = [];
  for (const name of names) {
    const job = ctx.job(config, name);
    for (const s of job.storages) {
      results.push(
        await pruneJob(ctx, { name, layout: job.layout }, job, storages[s]!, {
          dryRun: Boolean(opts.dryRun),
          signal,
        }),
      );
    }
  }
  ctx.output.result(
    results.map(
      (r) =>
        `${r.job}\t${r.storage}\tkeep ${r.keep.length}\t${r.dryRun ? 'would remove' : 'removed'} ${r.remove.length} backup(s), ${r.orphans.length} leftover(s)${r.retained.length ? `\t${r.retained.length} retained by Object Lock` : ''}`,
    ),
    results,
  );
  return 0;
}
