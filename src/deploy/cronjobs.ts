/**
 * `--mode cronjob`: per job with a schedule a CronJob running `lifeboat backup JOB`, and per job
 * with a drill schedule one running `lifeboat drill JOB`. One run at a time (Forbid: a backup still
 * going when the next is due holds the job lock anyway), bounded in time and in resources.
 */
import type { Config } from '../config/schema.js';
import { jobVolumes } from './job-volumes.js';
import { jobObjectNames, labels } from './names.js';
import { podSpec, type Obj } from './pod.js';
import { kubernetesSources, rbacFor } from './rbac.js';

export interface RenderOptions {
  namespace: string;
  image: string;
}

/** Defaults a job's `kubernetes:` block can override. */
export const CRONJOB_DEFAULTS = {
  startingDeadlineSeconds: 3600,
  backoffLimit: 1,
  successfulJobsHistoryLimit: 3,
  failedJobsHistoryLimit: 3,
  activeDeadlineSeconds: 6 * 3600,
};

function cronJob(
  name: string,
  job: string,
  component: 'backup' | 'drill',
  schedule: { cron: string; timezone: string },
  config: Config,
  variables: Map<string, { hasDefault: boolean }>,
  opts: RenderOptions,
  serviceAccount?: string,
): Obj {
  const k = config.jobs[job]!.kubernetes;
  const setting = <K extends keyof typeof CRONJOB_DEFAULTS>(key: K) => k?.[key] ?? CRONJOB_DEFAULTS[key];
  const meta = labels(component, job);
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: opts.namespace, labels: meta },
    spec: {
      schedule: schedule.cron,
      timeZone: schedule.timezone,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: setting('startingDeadlineSeconds'),
      successfulJobsHistoryLimit: setting('successfulJobsHistoryLimit'),
      failedJobsHistoryLimit: setting('failedJobsHistoryLimit'),
      jobTemplate: {
        metadata: { labels: meta },
        spec: {
          backoffLimit: setting('backoffLimit'),
          activeDeadlineSeconds: setting('activeDeadlineSeconds'),
          template: {
            metadata: { labels: meta },
            spec: podSpec({
              image: opts.image,
              args: ['--log-format', 'json', component, job],
              variables,
              config,
              overrides: k,
              storages: config.jobs[job]!.storages,
              // A drill restores into scratch space and needs none of the source's volumes.
              volumes: component === 'backup' ? jobVolumes(config, [job]) : [],
              serviceAccount,
            }),
          },
        },
      },
    },
  };
}

export function renderCronJobs(
  config: Config,
  variables: Map<string, { hasDefault: boolean }>,
  opts: RenderOptions,
): Obj[] {
  const jobs = Object.keys(config.jobs).sort();
  const backupNames = jobObjectNames(jobs, 'lifeboat-backup');
  const drillNames = jobObjectNames(jobs, 'lifeboat-drill');
  const out: Obj[] = [];
  for (const job of jobs) {
    const { schedule, drill } = config.jobs[job]!;
    // Only the backup talks to the API server; a drill checks the stored YAML offline.
    const sources = kubernetesSources(config, [job]);
    const account = sources.length > 0 ? backupNames.get(job)! : undefined;
    out.push(...rbacFor(account ?? '', opts.namespace, sources, 'backup'));
    if (schedule)
      out.push(cronJob(backupNames.get(job)!, job, 'backup', schedule, config, variables, opts, account));
    if (drill?.schedule)
      out.push(cronJob(drillNames.get(job)!, job, 'drill', drill.schedule, config, variables, opts));
  }
  return out;
}
