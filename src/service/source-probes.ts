/**
 * How `lifeboat serve` checks that a job's source answers, one probe per source type. A probe is
 * the cheapest proof of life the source allows: for PostgreSQL, connect (with the job's own URL,
 * to the database its backups connect to first) and `select 1`. A source type without a probe yet
 * is simply not reported: unknown is not down.
 */
import type pg from 'pg';
import type { Config, PostgresSourceConfig, SourceConfig } from '../config/schema.js';
import { connect } from '../sources/postgres/connection.js';
import { sourceSelection } from '../sources/postgres/postgres-source.js';
import type { SourceCheck } from './source-health.js';
import { filesKind } from '../sources/files/kind.js';
import type { FilesSourceConfig } from '../sources/files/config.js';
import { sqliteKind } from '../sources/sqlite/kind.js';
import type { SqliteSourceConfig } from '../sources/sqlite/config.js';

type ProbeFor = (source: SourceConfig) => SourceCheck['probe'];

const PROBES: Partial<Record<SourceConfig['type'], ProbeFor>> = {
  postgres: (source) => {
    const cfg = source as PostgresSourceConfig;
    return (signal) => probePostgres(probeUrl(cfg), signal);
  },
  sqlite: (source) => sqliteKind.probe(source as SqliteSourceConfig),
  files: (source) => filesKind.probe(source as FilesSourceConfig),
};

/**
 * One check per source whose type has a probe, named after the job (`job/source` in a job with
 * several sources).
 */
export function sourceChecks(config: Config): SourceCheck[] {
  return Object.entries(config.jobs).flatMap(([name, job]) => {
    const several = Object.keys(job.sources).length > 1;
    return Object.entries(job.sources).flatMap(([sourceName, source]) => {
      const probeFor = PROBES[source.type];
      return probeFor ? [{ name: several ? `${name}/${sourceName}` : name, probe: probeFor(source) }] : [];
    });
  });
}

/**
 * The database the backup itself connects to first (postgres-source.ts). A probe of any other could
 * pass while the backup cannot connect.
 */
export function probeUrl(cfg: PostgresSourceConfig): string {
  return sourceSelection(cfg).firstUrl;
}

/**
 * Connects and runs `select 1`. An abort ends a connected client at once; a connection attempt
 * still under way runs into connect()'s own limit and is ended then.
 */
export async function probePostgres(url: string, signal: AbortSignal): Promise<void> {
  let client: pg.Client | undefined;
  const end = () => void client?.end().catch(() => {});
  signal.addEventListener('abort', end, { once: true });
  try {
    client = await connect(url);
    signal.throwIfAborted();
    await client.query('select 1');
  } finally {
    signal.removeEventListener('abort', end);
    await client?.end().catch(() => {});
  }
}
