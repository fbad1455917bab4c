/**
 * Queries against a scratch server for drill checks: a connection that closes when the drill is
 * aborted (so a long count(*) or a user's slow check cannot hold up SIGTERM), and values read as
 * PostgreSQL's own text, so checks compare what psql would print, not JavaScript conversions.
 */
import type pg from 'pg';
import { withClient } from './connection.js';

/** Runs `fn` with a client on `url`; aborting `signal` ends the connection, which fails the pending query. */
export function withScratchClient<T>(
  url: string,
  signal: AbortSignal | undefined,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  signal?.throwIfAborted();
  return withClient(url, async (client) => {
    const stop = () => void client.end().catch(() => {});
    signal?.addEventListener('abort', stop, { once: true });
    try {
      return await fn(client);
    } finally {
      signal?.removeEventListener('abort', stop);
    }
  });
}

const asText = { getTypeParser: () => (value: string) => value };

/** The first column of the first row as text, null for SQL NULL, undefined when there is no row. */
export async function firstValue(
  client: pg.Client,
  sql: string,
  values: unknown[] = [],
): Promise<string | null | undefined> {
  const result = await client.query<unknown[]>({
    text: sql,
    values,
    rowMode: 'array',
    types: asText as unknown as pg.CustomTypesConfig,
  });
  // A multi-statement string yields one result per statement; the last one is what the check means.
  const last = Array.isArray(result) ? (result.at(-1) as pg.QueryResult<unknown[]>) : result;
  const row = last?.rows?.[0];
  if (!row) return undefined;
  const v = row[0];
  return v === null || v === undefined ? null : String(v);
}
