/** `lifeboat drill [JOB] [--backup ID] [--all] [--from STORAGE]`: restore drills into a scratch server. */
import { listManifestKeys } from '../../catalog/catalog.js';
import { findAcross } from '../../catalog/copies.js';
import { buildStorages, drillSettingsOf, readableStorageFromArg } from '../../config/compose.js';
import type { Config } from '../../config/schema.js';
import { verifyingKey } from '../../config/signing.js';
import { exitCodeFor, LifeboatError, oneLine } from '../../util/errors.js';
import { intactCopy } from '../../core/intact-copy.js';
import type { DrillReport } from '../../catalog/drill-report.js';
import { runDrill } from '../../drill/run.js';
import type { Storage } from '../../storages/storage.js';
import type { Context } from '../context.js';
import { describeError } from '../errors.js';
import { formatBytes, formatDuration, progressReporter } from '../progress.js';

export interface DrillCliOptions {
  backup?: string;
  all?: boolean;
  from?: string;
}

interface Target {
  job: string;
  /** Where its backups are, in configured order: the first intact copy is drilled. */
  storages: Storage[];
}

/** Exit codes by precedence: an integrity failure outranks a failed drill, which outranks the rest. */
const PRECEDENCE = [4, 1, 3, 2];
function worst(a: number, b: number): number {
  const rank = (c: number) =>
    c === 0 ? Infinity : PRECEDENCE.indexOf(c) === -1 ? 99 : PRECEDENCE.indexOf(c);
  return rank(b) < rank(a) ? b : a;
}

async function jobsInStorage(storage: Storage, signal: AbortSignal): Promise<string[]> {
  return [...new Set((await listManifestKeys(storage, undefined, signal)).map((e) => e.job))];
}

/** Which job(s) to drill, and from which storage: the job's first storage unless --from says otherwise. */
async function selectTargets(
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

function checkLines(report: DrillReport): string[] {
  return report.checks.map((c) => {
    const status = c.skipped ? 'skip' : c.ok ? 'ok' : 'FAIL';
    return `  ${status}\t${c.name}\texpected ${c.expected}\tgot ${c.actual}${c.detail ? ` (${c.detail})` : ''}`;
  });
}

function summaryLine(report: DrillReport): string {
  const parts = [
    `RPO ${formatDuration(report.rpoSeconds * 1000)}`,
    report.rtoSeconds === null ? 'not restored' : `RTO ${formatDuration(report.rtoSeconds * 1000)}`,
    `${formatBytes(report.bytesRestored)} restored`,
    `${report.checks.filter((c) => c.ok).length}/${report.checks.length} checks passed`,
  ];
  const result = report.ok ? 'passed' : `FAILED at ${report.failure?.stage}`;
  return `drill ${report.job} ${report.backupId}: ${result} — ${parts.join(', ')}`;
}

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
  let exit = 0;
  for (const target of targets) {
    if (signal.aborted) break;
    try {
      let found;
      try {
        found = await findAcross(target.storages, opts.backup ?? 'latest', target.job, signal);
      } catch (err) {
        // --all drills the jobs that have a backup; one without is not a failure of the drill.
        if (
          opts.all &&
          opts.backup === undefined &&
          err instanceof LifeboatError &&
          err.code === 'not-found'
        ) {
          out.info(
            `drill ${target.job}: no committed backup in ${target.storages.map((s) => s.location).join(', ')}, skipped`,
          );
          continue;
        }
        throw err;
      }
      // A copy failing its checksums is reported and the next one drilled; the last one is drilled
      // (and its failure reported) as it is.
      const { storage, manifest, verified } = await intactCopy(found, {
        signal,
        log: (line) => out.info(line),
        warn: (line) => out.warn(`drill ${line}`),
        verifyLast: false,
        signedBy,
      });
      const jobConfig = config?.jobs[manifest.job];
      // The drill keeps off the sources' servers, so it needs their settings (a missing variable fails here).
      const sources = jobConfig ? drillSettingsOf(jobConfig) : undefined;
      ctx.redactor.addUrl(jobConfig?.drill?.scratch?.url);
      out.info(`drill ${manifest.job} ${manifest.id} from ${storage.location}`);
      const progress = progressReporter(out, 'verify');
      const outcome = await runDrill({
        storage,
        manifest,
        verified,
        signedBy,
        drill: jobConfig?.drill,
        sources,
        signal,
        log: (line) => out.info(line),
        warn: (line) => out.warn(line),
        onBytes: out.interactive ? progress : undefined,
      });
      out.clearProgress();
      const { report } = outcome;
      const code = outcome.error !== undefined ? exitCodeFor(outcome.error) : report.ok ? 0 : 1;
      if (!report.ok) {
        const where = outcome.key ? `; report: ${outcome.key}` : '';
        const hint =
          report.failure?.hint ??
          (report.failure?.stage === 'checks' ? 'the report lists expected and actual values' : undefined);
        out.log(
          'error',
          `drill ${report.job} ${report.backupId} failed at ${report.failure?.stage}: ${report.failure?.message}${hint ? ` (hint: ${hint})` : ''}${where}`,
        );
      } else if (outcome.error !== undefined) {
        out.log('error', `drill ${report.job} ${report.backupId}: ${oneLine(outcome.error)}`);
      }
      human.push(summaryLine(report), ...checkLines(report), `  report: ${outcome.key ?? 'not stored'}`);
      results.push({ ...report, reportKey: outcome.key ?? null });
      exit = worst(exit, code);
    } catch (err) {
      out.log('error', `drill ${target.job} failed: ${describeError(err)}`);
      exit = worst(exit, exitCodeFor(err));
    }
  }
  if (targets.length && !results.length && exit === 0 && !signal.aborted)
    out.info('drill: no job has a committed backup yet');
  out.result(human, results);
  return exit;
}
