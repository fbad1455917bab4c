/**
 * How the CLI shows a prune, for `lifeboat prune` and a backup's retention step alike: every
 * decision with its reason as the plan is made, what was removed once it is done, and the summary
 * that --json prints.
 */
import { foreignLine, type PruneOutcome, type PrunePlan } from '../core/prune.js';
import type { PruneHooks, StoragePrune } from '../jobs/prune.js';
import type { Storage } from '../storages/storage.js';
import type { SweepOutcome } from '../core/prune-blobs.js';
import type { Output } from './output.js';
import { formatBytes } from './progress.js';

/** Hooks that print a prune of `job` as it goes. */
export function pruneReporter(
  out: Output,
  job: string,
  dryRun = false,
): Required<Pick<PruneHooks, 'onPlan' | 'onPreview' | 'onPruned' | 'warn'>> {
  return {
    warn: (line) => out.warn(line),
    onPlan: (storage, plan) => planLines(out, `prune ${job} ${storage.name}`, plan, dryRun),
    onPreview: (storage, blobs) => blobLines(out, `prune ${job} ${storage.name}`, blobs, true),
    onPruned: (storage, _plan, outcome) => outcomeLines(out, `prune ${job} ${storage.name}`, outcome),
  };
}

/** A bucket source's blobs: each one a dry run would remove, then the counts (or why none goes). */
function blobLines(out: Output, where: string, blobs: SweepOutcome | undefined, dryRun: boolean): void {
  if (!blobs) return;
  if (blobs.stopped) return out.warn(`${where}: ${blobs.stopped}`);
  if (dryRun)
    for (const key of blobs.removed)
      out.info(`${where}: would remove ${key} (a blob no backup would use, older than the grace period)`);
  out.info(
    `${where}: ${dryRun ? 'would remove' : 'removed'} ${blobs.removed.length} unreferenced blob(s) (${formatBytes(blobs.removedBytes)}); ${blobs.referenced} in use, ${blobs.young} newer than the grace period kept`,
  );
}

function planLines(out: Output, where: string, plan: PrunePlan, dryRun: boolean): void {
  const verb = dryRun ? 'would remove' : 'remove';
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
}

function outcomeLines(out: Output, where: string, outcome: PruneOutcome): void {
  for (const key of outcome.removedIncomplete)
    out.info(`${where}: removed ${key} (an interrupted write older than the grace period)`);
  blobLines(out, where, outcome.blobs, false);
  for (const r of outcome.retained) {
    out.info(`${where}: keep ${r.id ?? r.key} (retained by Object Lock ${r.lock}; a later prune removes it)`);
  }
}

/** One storage's prune as `lifeboat prune --json` reports it. */
export function pruneSummary(job: string, storage: Storage, { plan, outcome, blobs }: StoragePrune) {
  const swept = outcome ? outcome.blobs : blobs;
  return {
    job,
    storage: storage.name,
    dryRun: outcome === undefined,
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
    ...(swept ? { blobs: swept } : {}),
  };
}

/** The human line of one storage's prune. */
export function pruneLine(r: ReturnType<typeof pruneSummary>): string {
  return [
    r.job,
    r.storage,
    `keep ${r.keep.length}`,
    `${r.dryRun ? 'would remove' : 'removed'} ${r.remove.length} backup(s), ${r.orphans.length} leftover(s)` +
      (r.dryRun ? '' : `, ${r.removedIncomplete.length} temp file(s)`),
    ...(r.blobs && !r.blobs.stopped
      ? [
          `${r.dryRun ? 'would remove' : 'removed'} ${r.blobs.removed.length} blob(s) (${formatBytes(r.blobs.removedBytes)})`,
        ]
      : []),
    ...(r.blobs?.stopped ? ['blobs not swept'] : []),
    ...(r.notGood.length ? [`${r.notGood.length} not good`] : []),
    ...(r.invalid.length ? [`${r.invalid.length} invalid manifest(s) left alone`] : []),
    ...(r.foreign.length ? [`${r.foreign.length} not Lifeboat's, left alone`] : []),
    ...(r.retained.length ? [`${r.retained.length} retained by Object Lock`] : []),
  ].join('\t');
}
