/**
 * The PostgreSQL source's health probe for `lifeboat serve`: connect (with the job's own URL, to
 * the database its backups connect to first) and `select 1`.
 */
import type pg from 'pg';
import { connect } from './connection.js';
import { sourceSelection, type PostgresSourceOptions } from './postgres-source.js';

/**
 * The database the backup itself connects to first (postgres-source.ts). A probe of any other could
 * pass while the backup cannot connect.
 */
export function probeUrl(cfg: Pick<PostgresSourceOptions, 'url' | 'databases' | 'dumpall'>): string {
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
