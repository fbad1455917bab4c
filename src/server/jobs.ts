/**
 * The jobs as the API may show them, taken from the validated config: names, source kind,
 * schedules and storage names. Whitelisted field by field, so no URL, password or key can reach a
 * response however the config grows.
 */
import type { Config } from '../config/schema.js';
import type { JobInfo } from './types.js';

export function jobInfos(config: Config): JobInfo[] {
  return Object.entries(config.jobs).map(([name, job]) => ({
    name,
    // The first source's kind; `sources` names every source and its kind.
    sourceType: Object.values(job.sources)[0]!.type,
    sources: Object.fromEntries(Object.entries(job.sources).map(([n, s]) => [n, { type: s.type }])),
    storages: [...job.storages],
    ...(job.schedule && { schedule: { cron: job.schedule.cron, timezone: job.schedule.timezone } }),
    ...(job.drill?.schedule && {
      drillSchedule: { cron: job.drill.schedule.cron, timezone: job.drill.schedule.timezone },
    }),
  }));
}
