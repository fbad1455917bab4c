/**
 * Prometheus metrics of `lifeboat serve` (SPEC §4). Every createMetrics() call owns its own
 * prom-client Registry (never the global default one), so two services or two tests in one process
 * never share a series.
 *
 * The "last success" gauges only move forward in time: they are fed from finished runs, from the
 * run history at startup and from the catalog (storage is the truth, and survives losing the
 * history), in any order, and the newest wins.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { JobCatalog } from './catalog-cache.js';
import type { RunHistory, RunKind, RunRecord } from '../history/types.js';

export interface Metrics {
  readonly registry: Registry;
  /** Counts a finished run and moves the "last" gauges; a run still running is ignored. */
  recordRun(run: RunRecord): void;
  /** Moves the gauges from a refreshed catalog: newest backup and drill, bytes and count. */
  observeCatalog(catalog: JobCatalog): void;
  setStorageBytes(storage: string, job: string, bytes: number): void;
  /** Sets the skipped-runs counter to the scheduler's running total (it never goes back). */
  setSkipped(job: string, kind: RunKind, count: number): void;
  /** Counts one skipped run. */
  countSkipped(job: string, kind: RunKind): void;
  /** 1 when the last probe of the job's source got an answer, 0 when it did not. */
  setSourceUp(job: string, up: boolean): void;
  /** Counts one unhandled promise rejection (a bug, logged; the service goes on). */
  countUnhandledRejection(): void;
  /** Creates every job's series at zero and restores the gauges from the run history. */
  initFromHistory(history: RunHistory, jobs: string[]): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

const RESULTS = ['success', 'failure', 'aborted'] as const;

export function createMetrics(): Metrics {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[] = ['job']) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name, help, labelNames, registers: [registry] });

  const backupLastSuccess = gauge(
    'lifeboat_backup_last_success_timestamp_seconds',
    'When the newest committed backup finished (Unix seconds)',
  );
  const backupLastSize = gauge(
    'lifeboat_backup_last_size_bytes',
    'Stored bytes of the newest committed backup',
  );
  const backupDuration = gauge(
    'lifeboat_backup_duration_seconds',
    'How long the newest committed backup took',
  );
  const backupCount = gauge('lifeboat_backup_count', 'Committed backups in the catalog (first storage)');
  const backupRuns = counter('lifeboat_backup_runs_total', 'Finished backup runs by result', [
    'job',
    'result',
  ]);
  const drillLastSuccess = gauge(
    'lifeboat_drill_last_success_timestamp_seconds',
    'When the newest passing drill finished (Unix seconds)',
  );
  const drillRestore = gauge(
    'lifeboat_drill_restore_seconds',
    'Restore time (RTO) of the newest passing drill',
  );
  const drillRuns = counter('lifeboat_drill_runs_total', 'Finished drill runs by result', ['job', 'result']);
  const verifyFailures = counter(
    'lifeboat_verify_failures_total',
    'Verify runs and drills that found stored bytes not matching the manifest',
    ['job'],
  );
  const storageBytes = gauge('lifeboat_storage_bytes', 'Stored bytes of committed backups', [
    'storage',
    'job',
  ]);
  const skipped = counter(
    'lifeboat_scheduler_skipped_runs_total',
    'Runs skipped because one of the job was still running',
    ['job', 'kind'],
  );

  const unhandled = new Counter({
    name: 'lifeboat_unhandled_rejections_total',
    help: 'Promise rejections nobody handled: bugs in Lifeboat, logged, and survived by the service',
    registers: [registry],
  });

  // No series until the first probe: an unprobed source is unknown, and 0 would page someone.
  const sourceUp = gauge(
    'lifeboat_source_up',
    "Whether the job's source answered its last probe (1) or not (0)",
  );

  // Per job, the finish time (ms) the "last" gauges currently show, so older news never wins.
  const shownBackup = new Map<string, number>();
  const shownDrill = new Map<string, number>();
  const skippedSoFar = new Map<string, number>();

  function showBackup(job: string, finishedAt: string | undefined, bytes?: number, durationMs?: number) {
    const at = Date.parse(finishedAt ?? '');
    if (!Number.isFinite(at) || at <= (shownBackup.get(job) ?? -Infinity)) return;
    shownBackup.set(job, at);
    backupLastSuccess.set({ job }, at / 1000);
    if (bytes !== undefined) backupLastSize.set({ job }, bytes);
    if (durationMs !== undefined) backupDuration.set({ job }, durationMs / 1000);
  }

  function showDrill(job: string, finishedAt: string | undefined, restoreMs: number | null | undefined) {
    const at = Date.parse(finishedAt ?? '');
    if (!Number.isFinite(at) || at <= (shownDrill.get(job) ?? -Infinity)) return;
    shownDrill.set(job, at);
    drillLastSuccess.set({ job }, at / 1000);
    if (typeof restoreMs === 'number') drillRestore.set({ job }, restoreMs / 1000);
  }

  function recordRun(run: RunRecord): void {
    if (run.result === 'running') return;
    const { job } = run;
    if (run.kind === 'backup') {
      backupRuns.inc({ job, result: run.result });
      if (run.result === 'success') showBackup(job, run.finishedAt, run.bytes, run.durationMs);
    } else if (run.kind === 'drill') {
      drillRuns.inc({ job, result: run.result });
      if (run.result === 'success') showDrill(job, run.finishedAt, restoreMsOf(run));
      if (run.result === 'failure' && isIntegrityFailure(run)) verifyFailures.inc({ job });
    } else if (run.kind === 'verify' && run.result === 'failure') {
      verifyFailures.inc({ job });
    }
  }

  return {
    registry,
    recordRun,
    observeCatalog(catalog) {
      const { job, lastBackup, lastDrill } = catalog;
      if (catalog.refreshedAt === undefined) return; // never listed: nothing known yet
      backupCount.set({ job }, catalog.backups.length);
      storageBytes.set({ storage: catalog.storage, job }, catalog.totalBytes);
      if (lastBackup) showBackup(job, lastBackup.finishedAt, lastBackup.size, lastBackup.durationMs);
      if (lastDrill?.ok) showDrill(job, lastDrill.at, lastDrill.restoreMs);
    },
    setStorageBytes: (storage, job, bytes) => storageBytes.set({ storage, job }, bytes),
    setSkipped(job, kind, count) {
      const key = `${job}\n${kind}`;
      const delta = count - (skippedSoFar.get(key) ?? 0);
      if (delta <= 0) return;
      skippedSoFar.set(key, count);
      skipped.inc({ job, kind }, delta);
    },
    countSkipped(job, kind) {
      const key = `${job}\n${kind}`;
      skippedSoFar.set(key, (skippedSoFar.get(key) ?? 0) + 1);
      skipped.inc({ job, kind });
    },
    setSourceUp: (job, up) => sourceUp.set({ job }, up ? 1 : 0),
    countUnhandledRejection: () => unhandled.inc(),
    initFromHistory(history, jobs) {
      for (const job of jobs) {
        // Zero series exist from the start, so alert rules on increase() see the first failure.
        for (const result of RESULTS) {
          backupRuns.inc({ job, result }, 0);
          drillRuns.inc({ job, result }, 0);
        }
        verifyFailures.inc({ job }, 0);
        for (const kind of ['backup', 'drill'] as const) skipped.inc({ job, kind }, 0);
        const backup = history.last(job, 'backup', 'success');
        if (backup) showBackup(job, backup.finishedAt, backup.bytes, backup.durationMs);
        const drill = history.last(job, 'drill', 'success');
        if (drill) showDrill(job, drill.finishedAt, restoreMsOf(drill));
      }
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** A drill run's restore time: `details.restoreMs` as the runner records it (DrillOutcome). */
function restoreMsOf(run: RunRecord): number | undefined {
  const ms = run.details?.restoreMs;
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : undefined;
}

/** A drill that failed on checksums (SPEC §1's "sha256 mismatch" marker) is a verify failure too. */
function isIntegrityFailure(run: RunRecord): boolean {
  return /sha256 mismatch/i.test(run.error ?? '') || run.details?.stage === 'verify';
}
