/**
 * `lifeboat serve` as a library (SPEC §4): scheduler + HTTP API + dashboard, composed from the
 * config. The scheduler runs jobs through a recorded JobRunner; each finished run updates the
 * history, metrics, catalog cache and alerts; each job's source is probed in the background for
 * the summary's up/down. `stop()` takes no new runs, lets running ones finish within the grace
 * period, then aborts them (nothing half-committed), and waits for what is still in flight.
 */
import path from 'node:path';
import { buildStorages } from '../config/compose.js';
import type { Config } from '../config/schema.js';
import { signingKey, verifyingKey } from '../config/signing.js';
import { assertSourcesResolved } from '../config/unresolved.js';
import { openSqliteHistory } from '../history/sqlite-history.js';
import { createScheduler } from '../scheduler/scheduler.js';
import { recordedRun } from '../scheduler/run-task.js';
import { scheduledTasks, schedulerSettings } from '../scheduler/settings.js';
import { createApp } from '../server/app.js';
import { allowedHostSet } from '../server/host-check.js';
import { jobInfos } from '../server/jobs.js';
import { listen } from '../server/listen.js';
import { createMetrics } from '../server/metrics.js';
import { oneLine } from '../util/errors.js';
import type { Redactor } from '../util/redact.js';
import { createAlerting } from './alerting.js';
import { failedRunRecords } from './failed-run-records.js';
import { createRunLines } from '../notify/run-lines.js';
import { createCatalogCache } from '../server/catalog-cache.js';
import { systemClock } from '../util/clock.js';
import { checkExposure } from './exposure.js';
import { createJobRunner } from './job-runner.js';
import { createSourceHealth } from './source-health.js';
import { sourceChecks } from './source-probes.js';

const STALE_CHECK_MS = 5 * 60 * 1000;

export interface ServiceOptions {
  /** The config file: the history file's default place is beside it. */
  configPath: string;
  /** Default: server.port, else 8080. */
  port?: number;
  /** Default: 127.0.0.1 (loopback). */
  host?: string;
  /** Run history file; default: server.historyFile, else lifeboat-history.db beside the config. */
  historyFile?: string;
  /** Listen beyond loopback without server.token (loudly). */
  insecureNoToken?: boolean;
  /** The redactor the config was loaded with: every line and stored error goes through it. */
  redactor: Redactor;
  log: (line: string) => void;
  warn: (line: string) => void;
  /**
   * Subscribes to the process's unhandled rejections (cli/unhandled.ts): the service counts them
   * in its metrics and keeps running. Returns the unsubscribe function.
   */
  onUnhandledRejection?: (fn: () => void) => () => void;
}

export interface Service {
  /** Listens, loads the catalog, then starts the scheduler. `signal` cuts the first catalog load short. */
  start(signal?: AbortSignal): Promise<{ url: string }>;
  /** Stops as described above; resolves once everything it started is closed. */
  stop(): Promise<void>;
}

/** Checks the config and options now (a usage or config error before anything opens); opens nothing yet. */
export function createService(config: Config, opts: ServiceOptions): Service {
  // Every job's source is probed and run from here: a missing variable stops serve at once.
  assertSourcesResolved(config);
  const server = config.server;
  const port = opts.port ?? server?.port ?? 8080;
  const host = opts.host ?? '127.0.0.1';
  checkExposure(host, port, server, Boolean(opts.insecureNoToken), opts.warn);
  const settings = schedulerSettings(server);
  const historyFile =
    opts.historyFile ??
    server?.historyFile ??
    path.join(path.dirname(path.resolve(opts.configPath)), 'lifeboat-history.db');
  let running: { stop(): Promise<void> } | undefined;

  return {
    async start(signal) {
      if (running) throw new Error('start service: already started');
      const started = await startService(config, { ...opts, port, host, historyFile, settings }, signal);
      running = started;
      return { url: started.url };
    },
    async stop() {
      const current = running;
      running = undefined;
      await current?.stop();
    },
  };
}

type Resolved = ServiceOptions & {
  port: number;
  host: string;
  historyFile: string;
  settings: ReturnType<typeof schedulerSettings>;
};

async function startService(config: Config, opts: Resolved, signal?: AbortSignal) {
  const { log, settings } = opts;
  // The signing keys are read before anything opens: a key that cannot be read stops serve now,
  // not the 2 a.m. backup.
  await verifyingKey(config, opts.redactor);
  if (config.signing) await signingKey(config, opts.redactor);
  const redact = (text: string) => opts.redactor.redact(text);
  const clock = systemClock;
  const storages = buildStorages(config);
  const jobNames = Object.keys(config.jobs);
  const history = openSqliteHistory(opts.historyFile);
  const cleanup: Array<() => unknown> = [() => history.close()];
  try {
    const metrics = createMetrics();
    metrics.initFromHistory(history, jobNames);
    // The CLI's process-wide handler logs each one; the service also counts them and keeps running.
    const stopCounting = opts.onUnhandledRejection?.(() => metrics.countUnhandledRejection());
    if (stopCounting) cleanup.unshift(stopCounting);
    // Stopping ends the catalog refreshes that finished runs start in the background.
    const lifetime = new AbortController();
    const catalog = createCatalogCache({
      jobs: jobNames.map((name) => ({ name, storage: storages[config.jobs[name]!.storages[0]!]! })),
      clock,
      onUpdate: (c) => metrics.observeCatalog(c),
    });
    const refreshing = new Set<Promise<unknown>>();
    const refresh = (job: string) => {
      const p = catalog
        .refresh(job, lifetime.signal)
        .catch((err: unknown) => log(`refresh catalog of ${job}: ${redact(oneLine(err))}`))
        .finally(() => refreshing.delete(p));
      refreshing.add(p);
    };
    const alerting = createAlerting(config, { history, clock, redactor: opts.redactor, log });
    const records = failedRunRecords(config, storages, { warn: opts.warn, redact });
    // Each run's last lines, for the body of its ping.
    const runLines = createRunLines();

    const sourceUp = new Map<string, boolean>();
    const sources = createSourceHealth({
      sources: sourceChecks(config),
      clock,
      redact,
      onProbe: (s) => {
        metrics.setSourceUp(s.name, s.up);
        // Going down and coming back only: not every minute a source stays down, nor the first "up".
        const was = sourceUp.get(s.name);
        if (!s.up && was !== false) log(`source down: ${s.error}`);
        if (s.up && was === false) log(`source of ${s.name} is up again`);
        sourceUp.set(s.name, s.up);
      },
    });
    const scheduler = createScheduler({
      tasks: scheduledTasks(config),
      clock,
      jitterMs: settings.jitterMs,
      retry: settings.retry,
      deadlineMs: settings.deadlineMs,
      run: recordedRun({
        runner: createJobRunner(config, storages, log, opts.redactor, runLines.add),
        history,
        clock,
        redact,
        log,
        onRecorded: (record) => {
          metrics.recordRun(record);
          refresh(record.job);
        },
      }),
      onSkip: (task) => {
        metrics.countSkipped(task.job, task.kind);
        log(`skip ${task.kind} ${task.job}: the previous run is still going`);
      },
      onEvent: (event) => {
        records.onEvent(event);
        if (event.type === 'start') {
          log(`${event.kind} ${event.job}: started (${event.trigger})`);
          runLines.start(event.job, event.kind);
          alerting.onStart(event.job, event.kind);
        }
        if (event.type !== 'finish') return;
        const line = `${event.kind} ${event.job}: ${event.outcome}${event.error ? `: ${redact(String((event.error as Error).message ?? event.error))}` : ''}`;
        log(line);
        runLines.add(event.job, event.kind, line);
        alerting.onFinish(event, runLines.take(event.job, event.kind));
      },
    });
    const staleCheck = () => alerting.checkStale((job) => catalog.get(job)?.lastBackup?.finishedAt);

    const app = createApp({
      jobs: jobInfos(config),
      history,
      catalog,
      control: scheduler,
      metrics,
      clock,
      log,
      health: () => ({ sources: sources.statuses(), storages: catalog.storageHealth() }),
      token: config.server?.token,
      protectReads: config.server?.protectReads,
      allowedHosts: allowedHostSet(opts.host, config.server?.allowedHosts),
    });
    const listening = await listen(app, { port: opts.port, hostname: opts.host });
    sources.start(); // in the background: the first round must not delay the catalog or the scheduler
    await catalog.refreshAll(signal).catch(() => {});
    catalog.start();
    // Announced only once the catalog is loaded: whoever waits for this line (a user, a script, the
    // demo) then gets backups in the summary, not an empty page that fills a moment later.
    log(`serve: listening on ${listening.url} (dashboard at ${listening.url}/)`);
    scheduler.start();
    staleCheck();
    const timer = setInterval(() => {
      staleCheck();
      history.prune(new Date(clock.now().getTime() - settings.historyRetentionMs));
    }, STALE_CHECK_MS);

    const stop = async () => {
      log(`serve: stopping; running jobs get ${Math.round(settings.graceMs / 1000)}s to finish`);
      clearInterval(timer);
      const { aborted } = await scheduler.stop(settings.graceMs);
      for (const a of aborted)
        opts.warn(`serve: aborted ${a.kind} ${a.job} (nothing half-done was committed)`);
      lifetime.abort(new Error('service stopped'));
      await Promise.all([catalog.stop(), sources.stop(), ...refreshing]);
      await listening.close();
      await Promise.all([alerting.settle(), records.settle()]);
      for (const fn of cleanup) fn();
    };
    return { url: listening.url, stop };
  } catch (err) {
    for (const fn of cleanup) fn();
    throw err;
  }
}
