/** `lifeboat prune [JOB] [--dry-run]`: retention plus leftover cleanup, saying what and why. */
import { buildStorages } from '../../config/compose.js';
import { verifyingKey } from '../../config/signing.js';
import { LifeboatError } from '../../util/errors.js';
import { pruneStorage } from '../../jobs/prune.js';
import type { Context } from '../context.js';
import { pruneLine, pruneReporter, pruneSummary } from '../prune-report.js';

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
  const dryRun = Boolean(opts.dryRun);
  // With signing configured, a backup without a good signature is not good: it never counts as
  // the newest good backup that retention must keep.
  const signedBy = await verifyingKey(config, ctx.redactor);
  const results = [];
  for (const name of names) {
    const job = ctx.job(config, name);
    for (const s of job.storages) {
      const storage = storages[s]!;
      const hooks = { ...pruneReporter(ctx.output, name, dryRun), dryRun, signal, signedBy };
      const pruned = await pruneStorage(storage, { name, layout: job.layout }, job, hooks);
      results.push(pruneSummary(name, storage, pruned));
    }
  }
  ctx.output.result(results.map(pruneLine), results);
  return 0;
}
