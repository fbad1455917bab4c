/**
 * How `lifeboat serve` checks that a job's sources answer: each kind's own probe (sources/registry.ts;
 * for PostgreSQL, connect and `select 1`, sources/postgres/probe.ts). A source type without a
 * probe yet is simply not reported: unknown is not down.
 */
import type { Config } from '../config/schema.js';
import { sourceKind } from '../sources/registry.js';
import type { SourceCheck } from './source-health.js';

/**
 * One check per source whose kind has a probe, named after the job (`job/source` in a job with
 * several sources).
 */
export function sourceChecks(config: Config): SourceCheck[] {
  return Object.entries(config.jobs).flatMap(([name, job]) => {
    const several = Object.keys(job.sources).length > 1;
    return Object.entries(job.sources).flatMap(([sourceName, source]) => {
      const probe = sourceKind(source.type)?.probe?.(source);
      return probe ? [{ name: several ? `${name}/${sourceName}` : name, probe }] : [];
    });
  });
}
