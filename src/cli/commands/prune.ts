/** `lifeboat prune [JOB] [--dry-run]`: retention plus leftover cleanup, saying what and why. */
import { buildStorages, policyOf } from '../../config/compose.js';
import type { JobConfig } from '../../config/schema.js';
import { executePrune, foreignLine, planPrune } from '../../core/prune.js';
import type { Storage } from '../../storages/storage.js';
import { LifeboatError } from '../../util/errors.js';
import type { Context } from '../context.js';

export async function pruneJob(
  ctx: Context,
  job: { name: string; layout?: string },
  config: JobConfig,
  storage: Storage,
  opts: { dryRun: boolean; signal?: AbortSignal; verified?: string[] },
) {
  const out = ctx.output;
  const where = `prune ${job.name} ${storage.name}`;
  const { policy, timeZone } = policyOf(config);
  const plan = await planPrune(storage, job, policy, {
    timeZone,
    signal: opts.signal,
    verified: opts.verified,
  });
  const verb = opts.dryRun ? 'would remove' : 'remove';
  for (const u of plan.invalid)
    out.warn(`${where}: leave ${u.key} alone (invalid manifest, not a backup: ${u.error})`);
  for (const d of plan.decisions) {
    if (d.problem?.startsWith('dated in the future')) out.warn(`${where}: ${d.id} is ${d.problem}`);
    const why = d.keep
      ? [...(d.problem ? [`not good: ${d.problem}`] : []), d.reasons.join(', ')].join('; ')
      : d.problem
        ? `not good: ${d.problem}; a newer good backup is kept`
        : 'no rule keeps it';
    out.info(`${where}: ${d.keep ? 'keep' : verb} ${d.id} (${why})`);
  }
  for (const p of plan.protected)
    out.warn(`${where}: keep ${p.key} (in the folder of ${p.manifest}, which cannot be read)`);
  for (const b of plan.badIntents)
    out.warn(`${where}: leave ${b.key} alone, and the files it names (${b.error})`);
  for (const key of plan.orphans)
    out.info(`${where}: ${verb} ${key} (written by a backup that never committed, per its intent)`);
  if (plan.foreign.length) out.info(`${where}: ${foreignLine(plan.foreign)}`);
  const outcome = opts.dryRun
    ? undefined
    : await executePrune(storage, plan, { signal: opts.signal, warn: (line) => out.warn(line) });
  for (const key of outcome?.removedIncomplete ?? [])
    out.info(`${where}: removed ${key} (an interrupted write older than the grace period)`);
  for (const r of outcome?.retained ?? []) {
    out.info(`${where}: keep ${r.id ?? r.key} (retained by Object Lock ${r.lock}; a later prune removes it)`);
  }
  return {
    job: job.name,
    storage: storage.name,
    dryRun: opts.dryRun,
    keep: plan.decisions
      .filter((d) => d.keep)
      .map((d) => ({ id: d.id, reasons: d.reasons, ...(d.problem && { problem: d.problem }) })),
    remove: plan.decisions
      .filter((d) => !d.keep && !outcome?.retained.some((r) => r.id === d.id))
      .map((d) => d.id),
    notGood: plan.decisions.filter((d) => d.problem).map((d) => ({ id: d.id, problem: d.problem! })),
    invalid: plan.invalid.map((u) => ({ key: u.key, error: u.error })),
    protected: plan.protected,
    orphans: plan.orphans,
    foreign: plan.foreign,
    badIntents: plan.badIntents,
    removedObjects: outcome?.removedObjects ?? [],
    removedIncomplete: outcome?.removedIncomplete ?? [],
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
    results.map((r) =>
      [
        r.job,
        r.storage,
        `keep ${r.keep.length}`,
        `${r.dryRun ? 'would remove' : 'removed'} ${r.remove.length} backup(s), ${r.orphans.length} leftover(s)` +
          (r.dryRun ? '' : `, ${r.removedIncomplete.length} temp file(s)`),
        ...(r.notGood.length ? [`${r.notGood.length} not good`] : []),
        ...(r.invalid.length ? [`${r.invalid.length} invalid manifest(s) left alone`] : []),
        ...(r.foreign.length ? [`${r.foreign.length} not Lifeboat's, left alone`] : []),
        ...(r.retained.length ? [`${r.retained.length} retained by Object Lock`] : []),
      ].join('\t'),
    ),
    results,
  );
  return 0;
}
