/**
 * `/status/summary`: per job the last success, its age and size, the last drill and the next runs;
 * per source and storage up or down. Built from memory only (catalog cache, the history's indexed
 * last-run lookups, the scheduler's next runs, the last health probes): O(jobs) per request, no
 * storage listing on the request path.
 */
import type { BackupSummary, DrillInfo, JobCatalog } from './catalog-cache.js';
import type { RunRecord } from '../history/types.js';
import type { AppDeps, JobInfo, RunningInfo } from './types.js';

export interface LastDrill {
  result: 'passed' | 'failed' | 'aborted';
  /** When it finished (ISO 8601). */
  at: string;
  restoreMs: number | null;
  backupId?: string;
  /** "passed", "FAILED: restore FAILED" … (from the drill report) or the run's error line. */
  outcome?: string;
  error?: string;
}

export type SummaryDeps = Pick<AppDeps, 'jobs' | 'catalog' | 'history' | 'control' | 'health' | 'clock'>;

export function statusSummary(deps: SummaryDeps) {
  const now = deps.clock.now();
  const next = new Map<string, string>();
  for (const r of deps.control.nextRuns()) next.set(`${r.job}\n${r.kind}`, new Date(r.at).toISOString());
  const running = new Map<string, ReturnType<typeof runningLine>>();
  for (const r of deps.control.running?.() ?? []) running.set(r.job, runningLine(r));
  const health = deps.health();
  return {
    generatedAt: now.toISOString(),
    jobs: deps.jobs.map((job) => jobSummary(deps, job, now, next, running.get(job.name) ?? null)),
    sources: health.sources,
    storages: health.storages,
  };
}

function runningLine(r: RunningInfo) {
  return { kind: r.kind, trigger: r.trigger ?? null, startedAt: new Date(r.startedAt).toISOString() };
}

function jobSummary(
  deps: SummaryDeps,
  job: JobInfo,
  now: Date,
  next: Map<string, string>,
  running: ReturnType<typeof runningLine> | null,
) {
  const name = job.name;
  const catalog = deps.catalog.get(name);
  // Two indexed lookups per job, nothing more: this runs for every job on every request.
  const backupRun = deps.history.last(name, 'backup');
  const drillRun = deps.history.last(name, 'drill');
  // A failed last run means the last success is older, so the catalog has it already.
  const last = newestBackup(catalog?.lastBackup, backupRun?.result === 'success' ? backupRun : undefined);
  const ageSeconds = last
    ? Math.max(0, Math.round((now.getTime() - Date.parse(last.finishedAt)) / 1000))
    : null;
  const lastRun = newer(backupRun, drillRun);
  return {
    job: name,
    lastSuccess: last?.finishedAt ?? null,
    ageSeconds,
    size: last?.size ?? null,
    lastBackup: last ? { ...last, ageSeconds } : null,
    backups: catalog?.backups.length ?? 0,
    lastDrill: newestDrill(catalog?.lastDrill, drillRun),
    lastRun: lastRun ? runLine(lastRun) : null,
    running,
    next: { backup: next.get(`${name}\nbackup`) ?? null, drill: next.get(`${name}\ndrill`) ?? null },
    catalog: catalogState(catalog),
  };
}

function newer(a?: RunRecord, b?: RunRecord): RunRecord | undefined {
  if (!a || !b) return a ?? b;
  return a.startedAt >= b.startedAt ? a : b;
}

interface LastBackup {
  id: string | null;
  finishedAt: string;
  size: number | null;
  durationMs: number | null;
}

/** The newer of the catalog's newest backup and the history's last successful backup run. */
function newestBackup(fromCatalog?: BackupSummary, run?: RunRecord): LastBackup | undefined {
  const a: LastBackup | undefined = fromCatalog && {
    id: fromCatalog.id,
    finishedAt: fromCatalog.finishedAt,
    size: fromCatalog.size,
    durationMs: fromCatalog.durationMs,
  };
  // A run the catalog has not caught up with yet (it refreshes right after runs, but not instantly).
  const b: LastBackup | undefined = run?.finishedAt
    ? {
        id: run.backupId ?? null,
        finishedAt: run.finishedAt,
        size: run.bytes ?? null,
        durationMs: run.durationMs ?? null,
      }
    : undefined;
  if (!a || !b) return a ?? b;
  return Date.parse(b.finishedAt) > Date.parse(a.finishedAt) && b.id !== a.id ? b : a;
}

/** The newer of the catalog's newest drill report and the history's last finished drill run. */
function newestDrill(fromCatalog?: DrillInfo, run?: RunRecord): LastDrill | null {
  const a: LastDrill | undefined = fromCatalog && {
    result: fromCatalog.result,
    at: fromCatalog.at,
    restoreMs: fromCatalog.restoreMs,
    backupId: fromCatalog.backupId,
    outcome: fromCatalog.outcome,
  };
  const restoreMs = run?.details?.restoreMs;
  const b: LastDrill | undefined =
    run?.finishedAt && run.result !== 'running'
      ? {
          result: run.result === 'success' ? 'passed' : run.result === 'failure' ? 'failed' : 'aborted',
          at: run.finishedAt,
          restoreMs: typeof restoreMs === 'number' ? restoreMs : null,
          ...(run.backupId && { backupId: run.backupId }),
          ...(run.error && { error: run.error }),
        }
      : undefined;
  if (!a || !b) return a ?? b ?? null;
  return Date.parse(b.at) > Date.parse(a.at) ? b : a;
}

/** A history row as the API shows it. */
export function runLine(r: RunRecord) {
  return {
    id: r.id,
    job: r.job,
    kind: r.kind,
    trigger: r.trigger,
    result: r.result,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt ?? null,
    durationMs: r.durationMs ?? null,
    backupId: r.backupId ?? null,
    bytes: r.bytes ?? null,
    error: r.error ?? null,
    details: r.details ?? null,
  };
}

export function catalogState(catalog: JobCatalog | undefined) {
  return {
    storage: catalog?.storage ?? null,
    refreshedAt: catalog?.refreshedAt ?? null,
    error: catalog?.error ?? null,
    unreadable: catalog?.unreadable.length ?? 0,
  };
}
