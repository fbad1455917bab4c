/**
 * What the HTTP server needs from the rest of `lifeboat serve`. Each dependency is the narrowest
 * interface the routes use, so tests pass plain objects and the composition root (`lifeboat serve`)
 * wires the real scheduler, history, catalog cache and health probes.
 */
import type { CatalogCache } from './catalog-cache.js';
import type { Clock } from '../util/clock.js';
import type { RunHistory, RunKind } from '../history/types.js';
import type { Metrics } from './metrics.js';

export interface ScheduleInfo {
  cron: string;
  timezone: string;
}

/** A job as the API shows it: names and schedules only, never a URL or a credential. */
export interface JobInfo {
  name: string;
  /** The (first) source's kind ("postgres", …), never its URL. */
  sourceType: string;
  /** Every source of the job by name, with its kind only. */
  sources: Record<string, { type: string }>;
  schedule?: ScheduleInfo;
  drillSchedule?: ScheduleInfo;
  /** Storage names; the first one is where the catalog is read from. */
  storages: string[];
}

/** The kinds of run a client may start through the API. */
export type TriggerKind = Extract<RunKind, 'backup' | 'drill'>;

export interface NextRun {
  job: string;
  kind: RunKind;
  at: Date | string;
}

export interface TriggerResult {
  started: boolean;
  /**
   * Why not: the scheduler's codes 'running' (→ 409), 'stopping' (→ 503) and 'unknown' (→ 404),
   * or any one line, e.g. "a run of job app is already running" (→ 409).
   */
  reason?: string;
}

/** The scheduler as the server sees it (src/scheduler's Scheduler satisfies it as is). */
export interface ServiceControl {
  /** The next due run of each job and kind (one entry per job and kind at most). */
  nextRuns(): NextRun[];
  /** Starts a run now, unless one of the job is already running; never waits for the run itself. */
  trigger(job: string, kind: TriggerKind): TriggerResult | Promise<TriggerResult>;
  /** Runs in progress, at most one per job; shown in the summary when given. */
  running?(): RunningInfo[];
}

export interface RunningInfo {
  job: string;
  kind: RunKind;
  trigger?: string;
  startedAt: Date | string;
}

/** The last probe of one source or storage. */
export interface HealthStatus {
  name: string;
  up: boolean;
  /** ISO 8601. */
  checkedAt: string;
  /** One redacted line, when down. */
  error?: string;
}

export interface HealthReport {
  /** One entry per job's source, named after the job. */
  sources: HealthStatus[];
  storages: HealthStatus[];
}

export interface AppDeps {
  jobs: JobInfo[];
  history: RunHistory;
  catalog: CatalogCache;
  control: ServiceControl;
  metrics: Metrics;
  /** Cheap: returns the last probe results, never probes on the request path. */
  health(): HealthReport;
  /** Bearer token for mutating endpoints. Unset: the API is read-only (POSTs get 403). */
  token?: string;
  /** Also require the token for every read endpoint except /healthz and the dashboard's files. */
  protectReads?: boolean;
  /**
   * Host names answered beyond IP addresses and localhost (see host-check.ts); "*" answers any.
   * Unset: only those.
   */
  allowedHosts?: ReadonlySet<string>;
  clock: Clock;
  /** Where unexpected errors (500s) are reported; the client only ever sees "internal error". */
  log?: (line: string) => void;
}
