/** Which job(s) `lifeboat drill` drills, and from which storages. */
import { listManifestKeys } from '../catalog/catalog.js';
import { buildStorages, readableStorageFromArg } from '../config/compose.js';
import type { Config } from '../config/schema.js';
import { LifeboatError } from '../util/errors.js';
import type { Storage } from '../storages/storage.js';
import type { Context } from './context.js';

export interface DrillCliOptions {
  backup?: string;
  all?: boolean;
  from?: string;
}

export interface Target {
  job: string;
  /** Where its backups are, in configured order: the first intact copy is drilled. */
  storages: Storage[];
}

async function jobsInStorage(storage: Storage, signal: AbortSignal): Promise<string[]> {
  return [...new Set((await listManifestKeys(storage, undefined, signal)).map((e) => e.job))];
}

/** The job's storages, or the one --from names (then without a job: the one job it holds, or all with --all). */
export async function selectTargets(
  ctx: Context,
  job: string | undefined,
  opts: DrillCliOptions,
  signal: AbortSignal,
): Promise<{ targets: Target[]; config?: Config }> {
  if (opts.all && (job || opts.backup))
    throw new LifeboatError(
      'usage',
      'drill: --all drills the latest backup of every job; drop JOB and --backup',
    );
  const config = opts.from ? await ctx.optionalConfig() : await ctx.config();
  if (opts.from) {
    const storage = await readableStorageFromArg(opts.from, config);
    if (job) return { targets: [{ job, storages: [storage] }], config };
    const jobs = await jobsInStorage(storage, signal);
    if (opts.all || jobs.length === 1)
      return { targets: jobs.map((j) => ({ job: j, storages: [storage] })), config };
    if (jobs.length === 0)
      throw new LifeboatError('not-found', `drill: no committed backup in ${storage.location}`);
    throw new LifeboatError('usage', `drill: ${storage.location} holds several jobs (${jobs.join(', ')})`, {
      hint: 'name a job, or add --all',
    });
  }
  const storages = buildStorages(config!);
  const names = job ? [job] : Object.keys(config!.jobs);
  if (!job && !opts.all && names.length !== 1)
    throw new LifeboatError(
      'usage',
      `drill: ${ctx.configPath} has ${names.length} jobs (${names.join(', ')})`,
      {
        hint: 'name a job, or add --all',
      },
    );
  return {
    targets: names.map((name) => ({
      job: name,
      storages: ctx.job(config!, name).storages.map((s) => storages[s]!),
    })),
    config,
  };
}
