/**
 * `lifeboat restore ID|latest [--source NAME] --to URL [--clean] [--create] [--force] [--create-roles] [--jobs N]`.
 * A backup of several sources restores one at a time, named by --source; a kubernetes source
 * restores with --to-cluster (restore-cluster.ts).
 */
import { findAcross } from '../../catalog/copies.js';
import { codecKeysOf } from '../../config/compose.js';
import { sourceIfResolved } from '../../config/unresolved.js';
import { verifyingKey } from '../../config/signing.js';
import { intactCopy } from '../../core/intact-copy.js';
import { restorePlan } from '../../core/restore-source.js';
import { sourceKind } from '../../sources/registry.js';
import { LifeboatError } from '../../util/errors.js';
import { chooseSource } from '../../catalog/manifest.js';
import type { Context } from '../context.js';
import { restoreFileSource } from './restore-file-source.js';
import { formatBytes, formatDuration, progressReporter } from '../progress.js';
import { runAfterHooks, runBeforeHooks } from '../../jobs/hooks.js';
import { describeError } from '../errors.js';

export interface RestoreCliOptions {
  job?: string;
  source?: string;
  to?: string;
  from?: string;
  clean?: boolean;
  create?: boolean;
  force?: boolean;
  createRoles?: boolean;
  jobs?: string;
  path?: string[];
  toCluster?: boolean;
  context?: string;
  namespaceMap?: string[];
  dryRun?: boolean;
  /** false with --no-hooks: the job's beforeRestore/afterRestore hooks do not run. */
  hooks?: boolean;
}

export async function restoreCommand(
  ctx: Context,
  ref: string,
  opts: RestoreCliOptions,
  signal: AbortSignal,
): Promise<number> {
  if (opts.toCluster && opts.to)
    throw new LifeboatError('usage', 'restore: --to and --to-cluster exclude each other');
  if (!opts.toCluster && (opts.context || opts.namespaceMap || opts.dryRun))
    throw new LifeboatError(
      'usage',
      'restore: --context, --namespace-map and --dry-run go with --to-cluster',
    );
  if (!opts.to && !opts.toCluster)
    throw new LifeboatError(
      'usage',
      'restore: --to is required (postgres://user@host:5432/dbname, a file path or a directory), or --to-cluster',
    );
  if (opts.to) ctx.redactor.addUrl(opts.to);
  const jobs = opts.jobs === undefined ? undefined : Number(opts.jobs);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1))
    throw new LifeboatError('usage', `--jobs: expected a whole number ≥ 1`);
  if (opts.clean && opts.force)
    throw new LifeboatError('usage', 'restore: --clean and --force exclude each other');
  const { storages, config } = await ctx.readStorages(opts.from, opts.job);
  // Once signing is configured, the manifest must be signed by its key (checked before any byte).
  const signedBy = config ? await verifyingKey(config, ctx.redactor) : undefined;
  const found = await findAcross(storages, ref, opts.job, signal);
  const log = (line: string) => ctx.output.info(line);
  // With several copies, the first intact one (configured order) is read; a bad one is reported.
  const keys = codecKeysOf(config, found.manifest.job);
  // A signed manifest's checksums are authentic: an encrypted artifact is decrypted once, as restored.
  const signed = Boolean(signedBy);
  const { storage, manifest, verified } = await intactCopy(found, {
    keys,
    signal,
    log,
    warn: (line) => ctx.output.warn(`restore ${line}`),
    signedBy,
  });
  // The job's hooks (unless --no-hooks): beforeRestore before anything is written, afterRestore always.
  const hooks = opts.hooks === false ? undefined : config?.jobs[manifest.job]?.hooks;
  const hookRun = { job: manifest.job, backupId: manifest.id, log, signal };
  let code: number;
  try {
    await runBeforeHooks(hooks, 'beforeRestore', hookRun);
    code = await restoreIt();
  } catch (err) {
    const after = await runAfterHooks(hooks, 'afterRestore', { ...hookRun, result: 'failure' });
    if (after) ctx.output.log('error', `restore ${manifest.job} ${manifest.id}: ${describeError(after)}`);
    throw err;
  }
  const after = await runAfterHooks(hooks, 'afterRestore', {
    ...hookRun,
    result: code === 0 ? 'success' : 'failure',
  });
  if (!after) return code;
  ctx.output.log('error', `restore ${manifest.job} ${manifest.id}: ${describeError(after)}`);
  return code || 1;

  async function restoreIt(): Promise<number> {
    if (opts.toCluster)
      return (await import('./restore-cluster.js')).restoreToCluster(
        ctx,
        storage,
        manifest,
        config,
        { ...opts, keys },
        verified,
        signal,
      );
    if (!opts.to) throw new LifeboatError('usage', 'restore: --to is required');
    // Kinds restored to a path or directory (sqlite, files) print what they wrote there.
    if (sourceKind(chooseSource(manifest, opts.source).source.kind)?.restoresToPath)
      return restoreFileSource(
        ctx,
        storage,
        manifest,
        { ...opts, to: opts.to, keys, signed },
        verified,
        signal,
      );
    const { part, run } = restorePlan(manifest, opts.source);
    const several = Object.keys(manifest.sources).length > 1;
    const source = sourceIfResolved(config?.jobs[manifest.job]?.sources[part.name]) as
      { binDir?: string } | undefined;
    ctx.output.info(
      `restore ${manifest.job} ${manifest.id}${several ? ` source ${part.name}` : ''} from ${storage.location}`,
    );
    const progress = progressReporter(ctx.output, 'read');
    const result = await run(storage, {
      verified,
      keys,
      signed,
      to: opts.to,
      clean: opts.clean,
      create: opts.create,
      force: opts.force,
      createRoles: opts.createRoles,
      jobs,
      binDir: source?.binDir,
      paths: opts.path,
      config: source,
      // A storage's name (a bucket source restores into its bucket and prefix, or its directory).
      ...(config?.storages[opts.to]
        ? { toStorage: { name: opts.to, config: config.storages[opts.to] } }
        : {}),
      signal,
      log,
      onBytes: ctx.output.interactive ? progress : undefined,
    });
    ctx.output.result(
      `restored ${manifest.job} ${manifest.id}${several ? ` source ${part.name}` : ''} (${result.databases.join(', ')}): ${formatBytes(result.bytes)} in ${formatDuration(result.durationMs)}` +
        (result.createdRoles.length ? `; created roles ${result.createdRoles.join(', ')}` : ''),
      { job: manifest.job, id: manifest.id, source: part.name, storage: storage.name, ...result },
    );
    return 0;
  }
}
