/**
 * Stub service parts for the HTTP server's tests: an in-memory run history, a scheduler stand-in
 * whose trigger records what was asked, a hand-driven clock, and manifests/drill reports written
 * into a memory storage so the real catalog cache reads them. (src/history/memory-history.ts from
 * the scheduler work can replace the history here once it lands.)
 */
import { backupId } from '../../src/catalog/layout.js';
import { commitManifest, storeDrillReport } from '../../src/catalog/catalog.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type Manifest } from '../../src/catalog/manifest.js';
import {
  DRILL_REPORT_FORMAT,
  DRILL_REPORT_VERSION,
  type DrillReport,
} from '../../src/catalog/drill-report.js';
import { createApp } from '../../src/server/app.js';
import { createMetrics } from '../../src/server/metrics.js';
import type { AppDeps, HealthReport, JobInfo, NextRun, TriggerKind } from '../../src/server/types.js';
import { createCatalogCache } from '../../src/server/catalog-cache.js';
import type { Clock } from '../../src/util/clock.js';
import type { RunHistory, RunRecord } from '../../src/history/types.js';
import { createMemoryStorage } from '../../src/storages/memory.js';
import type { Storage } from '../../src/storages/storage.js';

export function memoryHistory(): RunHistory & { rows: RunRecord[] } {
  const rows: RunRecord[] = [];
  let nextId = 1;
  const newestFirst = () => [...rows].sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id - a.id);
  return {
    rows,
    start(run) {
      const id = nextId++;
      rows.push({ ...run, id, result: 'running' });
      return id;
    },
    finish(id, outcome) {
      const row = rows.find((r) => r.id === id);
      if (row) Object.assign(row, outcome);
    },
    list(filter = {}) {
      return newestFirst()
        .filter((r) => (!filter.job || r.job === filter.job) && (!filter.kind || r.kind === filter.kind))
        .slice(0, filter.limit ?? Infinity);
    },
    last(job, kind, result) {
      return newestFirst().find(
        (r) => r.job === job && r.kind === kind && r.result !== 'running' && (!result || r.result === result),
      );
    },
    prune(before) {
      const keep = rows.filter((r) => r.result === 'running' || Date.parse(r.startedAt) >= before.getTime());
      const removed = rows.length - keep.length;
      rows.splice(0, rows.length, ...keep);
      return removed;
    },
    close() {},
  };
}

/** A clock that stands still until told; sleep() never resolves on its own (periodic work waits). */
export function fixedClock(at: string): Clock & { set(at: string): void } {
  let now = new Date(at);
  return {
    now: () => new Date(now),
    set: (next) => void (now = new Date(next)),
    sleep: (_ms, signal) =>
      new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
  };
}

/** A minimal manifest of `size` stored bytes that finished at `at`. */
export function manifestAt(job: string, at: Date, size: number, durationMs = 60_000): Manifest {
  const id = backupId(at);
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    id,
    job,
    sources: {
      main: {
        kind: 'postgres',
        host: 'db',
        port: 5432,
        mode: 'databases',
        databases: ['app'],
        serverVersion: '17.2',
        tool: { name: 'pg_dump', version: '17.2' },
        dumpFormat: 'plain',
      },
    },
    compression: { type: 'zstd', level: 3 },
    encryption: null,
    artifacts: [
      {
        key: `${job}/${id}/app.sql.zst`,
        source: 'main',
        role: 'database',
        database: 'app',
        size,
        sha256: '0'.repeat(64),
      },
    ],
    startedAt: new Date(at.getTime() - durationMs).toISOString(),
    finishedAt: at.toISOString(),
    durationMs,
    lifeboatVersion: '0.1.0',
  };
}

export function drillReportFor(m: Manifest, at: Date, ok: boolean, restoreMs = 4_000): DrillReport {
  return {
    format: DRILL_REPORT_FORMAT,
    version: DRILL_REPORT_VERSION,
    job: m.job,
    backupId: m.id,
    timestamp: backupId(at),
    startedAt: new Date(at.getTime() - restoreMs - 1000).toISOString(),
    finishedAt: at.toISOString(),
    backup: {
      startedAt: m.startedAt,
      finishedAt: m.finishedAt,
      mode: 'databases',
      databases: m.sources.main!.databases!,
      serverVersion: '17.2',
      size: 1,
    },
    rpoSeconds: Math.round((at.getTime() - Date.parse(m.startedAt)) / 1000),
    rtoSeconds: ok ? (restoreMs + 500) / 1000 : null,
    bytesRestored: ok ? 1 : 0,
    scratch: null,
    timings: {
      scratchMs: 100,
      verifyMs: 500,
      restoreMs: ok ? restoreMs : 0,
      checksMs: 10,
      totalMs: restoreMs + 610,
    },
    checks: [],
    ok,
    result: ok ? 'passed' : 'failed',
    ...(!ok && {
      failure: { stage: 'restore' as const, code: 'failed' as const, message: 'restore FAILED' },
    }),
    lifeboatVersion: '0.1.0',
  };
}

/** Writes `count` daily backups of `job`, the newest finishing one day before `until`. */
export async function seedBackups(
  storage: Storage,
  job: string,
  count: number,
  until: Date,
): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (let i = count; i >= 1; i--) {
    const at = new Date(until.getTime() - i * 86_400_000);
    const m = manifestAt(job, at, 1_000_000 + (count - i) * 50_000, 60_000 + (count - i) * 2_000);
    await commitManifest(storage, m);
    out.push(m);
  }
  return out;
}

export interface StubService {
  deps: AppDeps;
  app: ReturnType<typeof createApp>;
  storage: ReturnType<typeof createMemoryStorage>;
  history: ReturnType<typeof memoryHistory>;
  clock: ReturnType<typeof fixedClock>;
  /** Trigger calls the server made, in order. */
  triggered: Array<{ job: string; kind: TriggerKind }>;
  /** Jobs whose trigger() answers "already running". */
  busy: Set<string>;
}

export const NOW = '2026-11-22T12:00:00.000Z';
export const TOKEN = 'correct horse battery staple';

/**
 * Two jobs (app: 5 backups, the newest drilled; reports: none) over a memory storage, a history,
 * and a trigger that records a finished backup run at once, as a very fast scheduler would.
 */
export async function stubService(overrides: Partial<AppDeps> = {}): Promise<StubService> {
  const clock = fixedClock(NOW);
  const storage = createMemoryStorage({ name: 'local' });
  const manifests = await seedBackups(storage, 'app', 5, clock.now());
  await storeDrillReport(
    storage,
    drillReportFor(manifests.at(-1)!, new Date(Date.parse(NOW) - 3600_000), true),
  );
  const jobs: JobInfo[] = [
    {
      name: 'app',
      sourceType: 'postgres',
      sources: { main: { type: 'postgres' } },
      storages: ['local'],
      schedule: { cron: '30 2 * * *', timezone: 'America/Sao_Paulo' },
      drillSchedule: { cron: '0 3 * * 0', timezone: 'America/Sao_Paulo' },
    },
    { name: 'reports', sourceType: 'postgres', sources: { main: { type: 'postgres' } }, storages: ['local'] },
  ];
  const history = memoryHistory();
  const metrics = createMetrics();
  const catalog = createCatalogCache({
    jobs: jobs.map((j) => ({ name: j.name, storage })),
    clock,
    onUpdate: (snapshot) => metrics.observeCatalog(snapshot),
  });
  await catalog.refreshAll();
  metrics.initFromHistory(
    history,
    jobs.map((j) => j.name),
  );
  const triggered: StubService['triggered'] = [];
  const busy = new Set<string>();
  const nextRuns: NextRun[] = [
    { job: 'app', kind: 'backup', at: new Date('2026-11-23T05:30:00Z') },
    { job: 'app', kind: 'drill', at: '2026-11-29T06:00:00.000Z' },
  ];
  const health: HealthReport = {
    sources: [{ name: 'app', up: true, checkedAt: NOW }],
    storages: [{ name: 'local', up: true, checkedAt: NOW }],
  };
  const deps: AppDeps = {
    jobs,
    history,
    catalog,
    metrics,
    clock,
    token: TOKEN,
    health: () => health,
    control: {
      nextRuns: () => nextRuns,
      async trigger(job, kind) {
        if (busy.has(job)) return { started: false, reason: `a run of job ${job} is already running` };
        triggered.push({ job, kind });
        await fakeRun(storage, history, metrics, clock, job, kind);
        await catalog.refresh(job);
        return { started: true };
      },
    },
    ...overrides,
  };
  return { deps, app: createApp(deps), storage, history, clock, triggered, busy };
}

/** What the real runner + scheduler do for a run, compressed: commit, record, count. */
async function fakeRun(
  storage: Storage,
  history: RunHistory,
  metrics: AppDeps['metrics'],
  clock: Clock,
  job: string,
  kind: TriggerKind,
): Promise<void> {
  const at = clock.now();
  const id = history.start({ job, kind, trigger: 'api', startedAt: at.toISOString() });
  if (kind === 'backup') {
    const m = manifestAt(job, at, 1_250_000, 70_000);
    await commitManifest(storage, m);
    history.finish(id, {
      result: 'success',
      finishedAt: at.toISOString(),
      backupId: m.id,
      bytes: 1_250_000,
      durationMs: 70_000,
    });
  } else {
    history.finish(id, {
      result: 'success',
      finishedAt: at.toISOString(),
      durationMs: 5_000,
      details: { restoreMs: 3_000 },
    });
  }
  metrics.recordRun(history.list({ job, limit: 1 })[0]!);
}
