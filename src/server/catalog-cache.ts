/**
 * The catalog cache of `lifeboat serve`: per job, the committed backups and their newest drill
 * reports, read from the job's first storage and kept in memory, so `/status/summary` and the
 * dashboard never list a storage on the request path.
 *
 * Refreshes are incremental: manifests and drill reports are create-only (never overwritten), so
 * an object read once stays valid, and a refresh costs one listing plus reads of new objects only.
 * A refresh runs on demand (after a run: `refresh(job)`) and periodically (`start()`); one that
 * fails keeps the previous listing and records the error, which also marks the storage down.
 */
import {
  listDrillReports,
  listManifestKeys,
  readDrillReport,
  readManifest,
  type CatalogEntry,
  type DrillEntry,
} from '../catalog/catalog.js';
import {
  backupDatabases,
  firstSourceField,
  sourceSummaries,
  totalSize,
  type Manifest,
} from '../catalog/manifest.js';
import { oneLine } from '../util/errors.js';
import { drillOutcome, type DrillReport } from '../catalog/drill-report.js';
import type { Storage } from '../storages/storage.js';
import { systemClock, type Clock } from '../util/clock.js';

/** The newest drill of a backup, as the API shows it. */
export interface DrillInfo {
  backupId: string;
  /** When the drill finished (ISO 8601). */
  at: string;
  ok: boolean;
  result: 'passed' | 'failed';
  /** "passed", "FAILED: restore FAILED", "FAILED: smoke FAILED: users present" … */
  outcome: string;
  /** Time spent restoring, ms (null when it never restored). */
  restoreMs: number | null;
  /** Verify + restore, seconds: the RTO. */
  rtoSeconds: number | null;
  /** Age of the backup's data when drilled, seconds: the RPO. */
  rpoSeconds: number;
}

/** One committed backup, without per-table row counts (those stay in the manifest). */
export interface BackupSummary {
  id: string;
  job: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Stored bytes of all artifacts. */
  size: number;
  /** The first source's mode and dump format (a PostgreSQL source's), as before backups had several. */
  mode?: string;
  databases: string[];
  dumpFormat?: string;
  /** Every source by name: its kind and databases. */
  sources: Record<string, { kind: string; databases?: string[] }>;
  compression: Manifest['compression']['type'];
  encrypted: boolean;
  artifacts: Array<{ key: string; role: string; database?: string; size: number }>;
  drill?: DrillInfo;
}

/** A job's cached catalog. Replaced as a whole on refresh, so a reader always sees one listing. */
export interface JobCatalog {
  job: string;
  /** The storage the listing comes from (the job's first). */
  storage: string;
  /** Oldest first. */
  backups: BackupSummary[];
  /** Manifests that could not be read, with why. */
  unreadable: Array<{ key: string; error: string }>;
  totalBytes: number;
  lastBackup?: BackupSummary;
  /** The newest drill of any backup of the job. */
  lastDrill?: DrillInfo;
  /** When the listing above was read; undefined until the first refresh succeeds. */
  refreshedAt?: string;
  /** The last refresh's failure, when it failed (the listing above is then older). */
  error?: string;
  errorAt?: string;
}

export interface StorageProbe {
  name: string;
  up: boolean;
  checkedAt: string;
  error?: string;
}

export interface CatalogCache {
  jobs(): string[];
  /** The cached catalog; no I/O. Undefined for an unknown job. */
  get(job: string): JobCatalog | undefined;
  /**
   * Re-reads the job's catalog. Never rejects for storage errors (they land in `error`); throws for
   * an unknown job. A call while a refresh is under way queues one more, so a backup committed just
   * now is seen even when the running refresh listed before it.
   */
  refresh(job: string, signal?: AbortSignal): Promise<JobCatalog>;
  refreshAll(signal?: AbortSignal): Promise<void>;
  /** Refreshes every job each `intervalMs`, starting one interval from now. */
  start(): void;
  stop(): Promise<void>;
  /** Storages judged by the last refreshes: up when the last listing succeeded. */
  storageHealth(): StorageProbe[];
}

export interface CatalogCacheOptions {
  jobs: Array<{ name: string; storage: Storage }>;
  clock?: Clock;
  /** Periodic refresh interval; default 5 minutes. */
  intervalMs?: number;
  /** Objects read in parallel per refresh; default 8. */
  concurrency?: number;
  /** Called after every refresh, e.g. to move the storage-bytes metric. */
  onUpdate?: (catalog: JobCatalog) => void;
}

interface JobState {
  job: string;
  storage: Storage;
  manifests: Map<string, BackupSummary>;
  drills: Map<string, DrillInfo>;
  snapshot: JobCatalog;
  inflight?: Promise<JobCatalog>;
  queued?: Promise<JobCatalog>;
}

export function createCatalogCache(opts: CatalogCacheOptions): CatalogCache {
  const clock = opts.clock ?? systemClock;
  const intervalMs = opts.intervalMs ?? 5 * 60_000;
  const concurrency = opts.concurrency ?? 8;
  const states = new Map<string, JobState>();
  for (const { name, storage } of opts.jobs) {
    states.set(name, {
      job: name,
      storage,
      manifests: new Map(),
      drills: new Map(),
      snapshot: { job: name, storage: storage.name, backups: [], unreadable: [], totalBytes: 0 },
    });
  }
  let loop: { controller: AbortController; done: Promise<void> } | undefined;

  async function load(s: JobState, signal?: AbortSignal): Promise<JobCatalog> {
    try {
      const [keys, drillKeys] = await Promise.all([
        listManifestKeys(s.storage, s.job, signal),
        listDrillReports(s.storage, s.job, signal),
      ]);
      const unreadable = await readNew(s, keys, drillKeys, signal);
      s.snapshot = buildSnapshot(s, keys, drillKeys, unreadable, clock.now().toISOString());
    } catch (err) {
      // Being stopped says nothing about the storage: keep the listing as it was.
      if (signal?.aborted) return s.snapshot;
      s.snapshot = { ...s.snapshot, error: oneLine(err), errorAt: clock.now().toISOString() };
    }
    opts.onUpdate?.(s.snapshot);
    return s.snapshot;
  }

  async function readNew(s: JobState, keys: CatalogEntry[], drillKeys: DrillEntry[], signal?: AbortSignal) {
    const unreadable: JobCatalog['unreadable'] = [];
    const live = new Set(keys.map((k) => k.key));
    for (const key of s.manifests.keys()) if (!live.has(key)) s.manifests.delete(key); // pruned
    await mapLimit(
      keys.filter((e) => !s.manifests.has(e.key)),
      concurrency,
      async (entry) => {
        try {
          s.manifests.set(entry.key, summarise(await readManifest(s.storage, entry, signal)));
        } catch (err) {
          if (signal?.aborted) throw err;
          unreadable.push({ key: entry.key, error: oneLine(err) });
        }
      },
    );
    // Only the newest report of each backup matters; an unreadable one counts as a drill not run.
    const newest = new Map<string, DrillEntry>();
    for (const e of drillKeys) newest.set(e.backupId, e); // oldest first, so the last one wins
    const wanted = new Set([...newest.values()].map((e) => e.key));
    for (const key of s.drills.keys()) if (!wanted.has(key)) s.drills.delete(key);
    await mapLimit(
      [...newest.values()].filter((e) => !s.drills.has(e.key)),
      concurrency,
      async (entry) => {
        try {
          s.drills.set(entry.key, drillInfo(await readDrillReport(s.storage, entry, signal)));
        } catch (err) {
          if (signal?.aborted) throw err;
        }
      },
    );
    return unreadable;
  }

  function buildSnapshot(
    s: JobState,
    keys: CatalogEntry[],
    drillKeys: DrillEntry[],
    unreadable: JobCatalog['unreadable'],
    now: string,
  ): JobCatalog {
    const drillOf = new Map<string, DrillInfo>();
    let lastDrill: DrillInfo | undefined;
    for (const e of drillKeys) {
      const info = s.drills.get(e.key);
      if (!info) continue;
      drillOf.set(e.backupId, info);
      lastDrill = info; // drillKeys are oldest first
    }
    const backups: BackupSummary[] = [];
    let totalBytes = 0;
    for (const e of keys) {
      const summary = s.manifests.get(e.key);
      if (!summary) continue;
      const drill = drillOf.get(summary.id);
      backups.push(drill ? { ...summary, drill } : summary);
      totalBytes += summary.size;
    }
    return {
      job: s.job,
      storage: s.storage.name,
      backups,
      unreadable,
      totalBytes,
      lastBackup: backups.at(-1),
      lastDrill,
      refreshedAt: now,
    };
  }

  function refresh(job: string, signal?: AbortSignal): Promise<JobCatalog> {
    const s = states.get(job);
    if (!s) return Promise.reject(new Error(`refresh catalog: no job named ${JSON.stringify(job)}`));
    if (!s.inflight) {
      s.inflight = load(s, signal).finally(() => (s.inflight = undefined));
      return s.inflight;
    }
    s.queued ??= s.inflight.then(() => {
      s.queued = undefined;
      return refresh(job, signal);
    });
    return s.queued;
  }

  async function refreshAll(signal?: AbortSignal): Promise<void> {
    await mapLimit([...states.keys()], 4, (job) => refresh(job, signal));
  }

  return {
    jobs: () => [...states.keys()],
    get: (job) => states.get(job)?.snapshot,
    refresh,
    refreshAll,
    start() {
      if (loop) return;
      const controller = new AbortController();
      const done = (async () => {
        while (!controller.signal.aborted) {
          try {
            await clock.sleep(intervalMs, controller.signal);
          } catch {
            return; // stopped
          }
          await refreshAll(controller.signal);
        }
      })();
      loop = { controller, done };
    },
    async stop() {
      const current = loop;
      loop = undefined;
      current?.controller.abort(new Error('catalog cache stopped'));
      await current?.done;
    },
    storageHealth() {
      const byStorage = new Map<string, StorageProbe>();
      for (const { snapshot: snap } of states.values()) {
        const down = snap.error !== undefined;
        const checkedAt = (down ? snap.errorAt : snap.refreshedAt) ?? '';
        if (!checkedAt) continue; // never refreshed: unknown, not down
        const prev = byStorage.get(snap.storage);
        // Several jobs can share a storage: the newest probe of it decides.
        if (!prev || prev.checkedAt < checkedAt)
          byStorage.set(snap.storage, {
            name: snap.storage,
            up: !down,
            checkedAt,
            ...(down && { error: snap.error }),
          });
      }
      return [...byStorage.values()];
    },
  };
}

function summarise(m: Manifest): BackupSummary {
  return {
    id: m.id,
    job: m.job,
    startedAt: m.startedAt,
    finishedAt: m.finishedAt,
    durationMs: m.durationMs,
    size: totalSize(m),
    mode: firstSourceField(m, 'mode'),
    databases: backupDatabases(m),
    dumpFormat: firstSourceField(m, 'dumpFormat'),
    sources: sourceSummaries(m),
    compression: m.compression?.type,
    encrypted: Boolean(m.encryption),
    artifacts: m.artifacts.map((a) => ({
      key: a.key,
      role: a.role,
      ...(a.database !== undefined && { database: a.database }),
      size: a.size,
    })),
  };
}

function drillInfo(r: DrillReport): DrillInfo {
  return {
    backupId: r.backupId,
    at: r.finishedAt,
    ok: r.ok,
    result: r.ok ? 'passed' : 'failed',
    outcome: drillOutcome(r),
    restoreMs: r.rtoSeconds === null ? null : (r.timings?.restoreMs ?? null),
    rtoSeconds: r.rtoSeconds,
    rpoSeconds: r.rpoSeconds,
  };
}

/** Runs `fn` over `items` with at most `limit` at a time; rejects with the first failure. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
