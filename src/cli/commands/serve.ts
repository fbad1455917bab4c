/**
 * `lifeboat serve [--port N]`: scheduler + HTTP API + dashboard in one process (SPEC §4). Composes
 * the parts: the scheduler runs jobs through a recorded JobRunner; each finished run updates the
 * history, metrics, catalog cache and alert tracker; each job's source is probed in the background
 * for the summary's up/down; SIGTERM stops new runs, lets running ones finish within the grace
 * period, then aborts them (nothing half-committed) and exits 0.
 */
import path from 'node:path';
import { buildStorages } from '../../config/compose.js';
import { assertSourcesResolved } from '../../config/unresolved.js';
import { signingKey, verifyingKey } from '../../config/signing.js';
import type { ServerConfig } from '../../config/schema.js';
import { LifeboatError } from '../../util/errors.js';
import { openSqliteHistory } from '../../history/sqlite-history.js';
import { buildNotifiers } from '../../notify/build.js';
import { dispatchAlert } from '../../notify/dispatch.js';
import { createAlertTracker, finishedRunFromEvent, stateFromHistory } from '../../notify/alert-tracker.js';
import { createScheduler } from '../../scheduler/scheduler.js';
import { recordedRun } from '../../scheduler/run-task.js';
import { scheduledTasks, schedulerSettings } from '../../scheduler/settings.js';
import { createApp } from '../../server/app.js';
import { jobInfos } from '../../server/jobs.js';
import { allowedHostSet } from '../../server/host-check.js';
import { listen } from '../../server/listen.js';
import { createMetrics } from '../../server/metrics.js';
import { createCatalogCache } from '../../service/catalog-cache.js';
import { systemClock } from '../../service/contracts.js';
import { createJobRunner } from '../../service/job-runner.js';
import { createSourceHealth } from '../../service/source-health.js';
import { sourceChecks } from '../../service/source-probes.js';
import type { Context } from '../context.js';
import { parsePort } from '../port.js';
import { onUnhandledRejection } from '../unhandled.js';

const STALE_CHECK_MS = 5 * 60 * 1000;

/** Loopback only: 127.0.0.0/8, ::1 and localhost. Anything else may be reachable from the network. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Beyond loopback, an API without a token shows every job's status, history and metrics to anyone
 * who can reach the port: refused unless asked for by name (--insecure-no-token), and then said
 * loudly. With a token but public reads, a warning names the setting that closes them.
 */
function checkExposure(
  ctx: Context,
  host: string,
  port: number,
  server: ServerConfig | undefined,
  insecureNoToken: boolean,
): void {
  if (isLoopbackHost(host)) return;
  if (!server?.token) {
    if (!insecureNoToken) {
      throw new LifeboatError(
        'usage',
        `serve --host ${host}: server.token is not set, so anyone who can reach port ${port} would read every job's status, history and metrics`,
        {
          hint: 'set server.token (and server.protectReads: true), or pass --insecure-no-token to serve public reads',
        },
      );
    }
    ctx.output.warn(
      `serve: INSECURE: listening on ${host}:${port} without a token (--insecure-no-token); anyone who can reach it reads every job's status, history and metrics`,
    );
  } else if (!server.protectReads) {
    ctx.output.warn(
      `serve: reads are public on ${host}:${port} (status, history, metrics); set server.protectReads: true to require the token for them`,
    );
  }
}

export async function serveCommand(
  ctx: Context,
  opts: { port?: string; host?: string; history?: string; insecureNoToken?: boolean },
  signal: AbortSignal,
): Promise<number> {
  const config = await ctx.config();
  // Every job's source is probed and run from here: a missing variable stops serve at once.
  assertSourcesResolved(config);
  // So are the signing keys: a key that cannot be read stops serve now, not the 2 a.m. backup.
  await verifyingKey(config, ctx.redactor);
  if (config.signing) await signingKey(config, ctx.redactor);
  const out = ctx.output;
  const log = (line: string) => out.info(line);
  const server = config.server;
  const port = opts.port !== undefined ? parsePort(opts.port, '--port') : (server?.port ?? 8080);
  const host = opts.host ?? '127.0.0.1';
  checkExposure(ctx, host, port, server, Boolean(opts.insecureNoToken));
  const settings = schedulerSettings(server);
  const clock = systemClock;
  const storages = buildStorages(config);
  const jobNames = Object.keys(config.jobs);
  const history = openSqliteHistory(
    opts.history ??
      server?.historyFile ??
      path.join(path.dirname(path.resolve(ctx.configPath)), 'lifeboat-history.db'),
  );
  const metrics = createMetrics();
  metrics.initFromHistory(history, jobNames);
  // The CLI's process-wide handler logs each one; the service also counts them and keeps running.
  const stopCounting = onUnhandledRejection(() => metrics.countUnhandledRejection());
  const catalog = createCatalogCache({
    jobs: jobNames.map((name) => ({ name, storage: storages[config.jobs[name]!.storages[0]!]! })),
    clock,
    onUpdate: (c) => metrics.observeCatalog(c),
  });
  const notifiers = buildNotifiers(config.notify, { redactor: ctx.redactor });
  const tracker = createAlertTracker();
  for (const job of jobNames) tracker.seed(job, stateFromHistory(history, job));
  const alert = (alerts: Parameters<typeof dispatchAlert>[0][]) => {
    for (const a of alerts) {
      log(`alert ${a.kind} ${a.job}: ${a.summary}`);
      void dispatchAlert(a, notifiers, { log });
    }
  };

  const runner = createJobRunner(config, storages, log, ctx.redactor);
  const redact = (text: string) => ctx.redactor.redact(text);
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
      runner,
      history,
      clock,
      redact,
      log,
      onRecorded: (record) => {
        metrics.recordRun(record);
        void catalog.refresh(record.job);
      },
    }),
    onSkip: (task) => {
      metrics.countSkipped(task.job, task.kind);
      log(`skip ${task.kind} ${task.job}: the previous run is still going`);
    },
    onEvent: (event) => {
      if (event.type === 'start') log(`${event.kind} ${event.job}: started (${event.trigger})`);
      if (event.type !== 'finish') return;
      log(
        `${event.kind} ${event.job}: ${event.outcome}${event.error ? `: ${redact(String((event.error as Error).message ?? event.error))}` : ''}`,
      );
      if (event.retryInMs === undefined) alert(tracker.onRun(finishedRunFromEvent(event, redact)));
    },
  });

  const staleCheck = () =>
    alert(
      tracker.checkStale(
        clock.now(),
        jobNames
          .filter((job) => config.jobs[job]!.schedule)
          .map((job) => {
            const fromHistory = history.last(job, 'backup', 'success')?.finishedAt;
            const fromCatalog = catalog.get(job)?.lastBackup?.finishedAt;
            const last = [fromHistory, fromCatalog].filter(Boolean).sort().at(-1);
            return {
              job,
              kind: 'backup' as const,
              schedule: config.jobs[job]!.schedule!,
              lastSuccessAt: last ? new Date(last) : undefined,
              watchingSince: startedAt,
            };
          }),
      ),
    );
  const startedAt = clock.now();

  const app = createApp({
    jobs: jobInfos(config),
    history,
    catalog,
    control: scheduler,
    metrics,
    clock,
    log,
    health: () => ({ sources: sources.statuses(), storages: catalog.storageHealth() }),
    token: server?.token,
    protectReads: server?.protectReads,
    allowedHosts: allowedHostSet(host, server?.allowedHosts),
  });
  const listening = await listen(app, { port, hostname: host });
  sources.start(); // in the background: the first round must not delay the catalog or the scheduler
  await catalog.refreshAll(signal).catch(() => {});
  catalog.start();
  // Announced only once the catalog is loaded: whoever waits for this line (a user, a script, the
  // demo) then gets backups in the summary, not an empty page that fills a moment later.
  out.info(`serve: listening on ${listening.url} (dashboard at ${listening.url}/)`);
  scheduler.start();
  staleCheck();
  const timer = setInterval(() => {
    staleCheck();
    history.prune(new Date(clock.now().getTime() - settings.historyRetentionMs));
  }, STALE_CHECK_MS);

  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  out.info(`serve: stopping; running jobs get ${Math.round(settings.graceMs / 1000)}s to finish`);
  clearInterval(timer);
  const { aborted } = await scheduler.stop(settings.graceMs);
  for (const a of aborted) out.warn(`serve: aborted ${a.kind} ${a.job} (nothing half-done was committed)`);
  await Promise.all([catalog.stop(), sources.stop()]);
  await listening.close();
  stopCounting();
  history.close();
  return 0;
}
