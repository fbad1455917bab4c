/**
 * The JSON API under /api (SPEC §4): jobs, backups (from the catalog cache), runs (from the run
 * history), and starting a backup or drill. Reads return what is in memory; the two POSTs only ask
 * the scheduler to start a run and answer 202 at once.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import { requireToken } from './auth.js';
import { ApiError, quote } from './errors.js';
import { backupRef, jobName, limit, runKind } from './params.js';
import { catalogState, runLine } from './summary.js';
import type { AppDeps, JobInfo, TriggerKind } from './types.js';

export function apiRoutes(app: Hono, deps: AppDeps, readGuard: MiddlewareHandler): void {
  const jobs = new Map(deps.jobs.map((j) => [j.name, j]));
  const knownJob = (value: string | undefined, where: string): JobInfo => {
    const name = jobName(value, where);
    const job = jobs.get(name);
    if (!job) throw new ApiError(404, `${where}: no job named ${quote(name)}`);
    return job;
  };

  app.get('/api/jobs', readGuard, (c) => {
    const next = nextRunsByJob(deps);
    return c.json({
      jobs: deps.jobs.map((j) => ({
        name: j.name,
        sourceType: j.sourceType,
        sources: j.sources,
        storages: j.storages,
        schedule: j.schedule ?? null,
        drillSchedule: j.drillSchedule ?? null,
        next: next.get(j.name) ?? { backup: null, drill: null },
        backups: deps.catalog.get(j.name)?.backups.length ?? 0,
      })),
    });
  });

  app.get('/api/backups', readGuard, (c) => {
    const job = knownJob(c.req.query('job'), 'query job');
    const id = backupRef(c.req.query('id'));
    const max = limit(c.req.query('limit'), 1000, 100_000);
    const catalog = deps.catalog.get(job.name);
    const backups = catalog?.backups ?? [];
    if (id) {
      const backup = backups.find((b) => b.id === id);
      if (!backup) throw new ApiError(404, `query id: job ${job.name} has no committed backup ${id}`);
      return c.json({ job: job.name, backup });
    }
    // Newest first, as people read a list of backups.
    const newest = backups.slice(Math.max(0, backups.length - max)).reverse();
    return c.json({
      job: job.name,
      ...catalogState(catalog),
      total: backups.length,
      backups: newest,
      unreadable: catalog?.unreadable ?? [],
    });
  });

  app.get('/api/runs', readGuard, (c) => {
    const job = c.req.query('job') ? knownJob(c.req.query('job'), 'query job').name : undefined;
    const kind = runKind(c.req.query('kind'));
    const max = limit(c.req.query('limit'), 100, 1000);
    const runs = deps.history.list({ ...(job && { job }), ...(kind && { kind }), limit: max });
    return c.json({ runs: runs.map(runLine) });
  });

  app.post('/api/jobs/:job/:kind{backup|drill}', requireToken(deps.token, 'start run'), async (c) => {
    const job = knownJob(c.req.param('job'), 'start run');
    const kind = c.req.param('kind') as TriggerKind;
    const result = await deps.control.trigger(job.name, kind);
    if (!result.started) throw refusal(job.name, kind, result.reason);
    return c.json({ started: true, job: job.name, kind }, 202);
  });
}

/** Why a run did not start, as an HTTP error: the scheduler's reason codes, or its own line. */
function refusal(job: string, kind: TriggerKind, reason: string | undefined): ApiError {
  switch (reason) {
    case undefined:
    case 'running':
      return new ApiError(409, `start ${kind}: a run of job ${job} is already running`);
    case 'stopping':
      return new ApiError(503, `start ${kind}: lifeboat is stopping and takes no new runs`);
    case 'unknown':
      return new ApiError(404, `start ${kind}: job ${job} has no ${kind} task`);
    default:
      return new ApiError(409, reason);
  }
}

function nextRunsByJob(deps: AppDeps) {
  const next = new Map<string, { backup: string | null; drill: string | null }>();
  for (const r of deps.control.nextRuns()) {
    if (r.kind !== 'backup' && r.kind !== 'drill') continue;
    const entry = next.get(r.job) ?? { backup: null, drill: null };
    entry[r.kind] = new Date(r.at).toISOString();
    next.set(r.job, entry);
  }
  return next;
}
