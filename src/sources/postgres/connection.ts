/**
 * libpq connection handling for Lifeboat's own queries (node-postgres) and for the client tools it
 * runs. Passwords travel to child processes in PGPASSWORD, never on a command line.
 */
import pg from 'pg';
import { LifeboatError, fromSystemError } from '../../core/errors.js';

export interface PgTarget {
  url: string;
}

function parse(url: string): URL {
  try {
    const u = new URL(url);
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error('scheme');
    return u;
  } catch {
    throw new LifeboatError('usage', `parse database URL: expected postgres://user@host:5432/dbname`);
  }
}

/** The same URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const u = parse(url);
  u.pathname = '/' + encodeURIComponent(database);
  return u.toString();
}

export function databaseOf(url: string): string | undefined {
  const name = decodeURIComponent(parse(url).pathname.replace(/^\//, ''));
  return name || undefined;
}

/** host:port/db for messages and manifests; never the password. */
export function describe(url: string): {
  host: string;
  port: number;
  user?: string;
  database?: string;
  text: string;
} {
  const u = parse(url);
  const host = u.hostname || u.searchParams.get('host') || process.env.PGHOST || 'localhost';
  const port = Number(u.port || u.searchParams.get('port') || process.env.PGPORT || 5432);
  const user = decodeURIComponent(u.username) || process.env.PGUSER || undefined;
  const database = databaseOf(url);
  return { host, port, user, database, text: `${host}:${port}${database ? `/${database}` : ''}` };
}

/** Arguments and environment for a libpq client tool: the URL without password, password in env. */
export function toolConnection(url: string): { conninfo: string; env: NodeJS.ProcessEnv } {
  const u = parse(url);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  u.password = '';
  return { conninfo: u.toString(), env };
}

/** A connected client; the caller ends it. Connection problems become exit code 3. */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000 });
  // Errors after connect (server gone) surface through the pending query; keep them off the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw connectError(url, err);
  }
  return client;
}

/** Runs `fn` with a connected client, always closing it. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(url);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export function connectError(url: string, err: unknown): LifeboatError {
  const where = describe(url).text;
  const pgCode = (err as { code?: string }).code;
  const message = (err as Error).message ?? String(err);
  if (pgCode === '28P01' || pgCode === '28000') {
    return new LifeboatError('unreachable', `connect to ${where}: authentication failed`, {
      cause: err,
      hint: 'check the user and password in the source URL',
    });
  }
  if (pgCode === '3D000') {
    return new LifeboatError('unreachable', `connect to ${where}: database does not exist`, { cause: err });
  }
  const sys = fromSystemError(err, `connect to ${where}`);
  if (sys instanceof LifeboatError) return sys;
  return new LifeboatError('unreachable', `connect to ${where}: ${message.split('\n')[0]}`, {
    cause: err,
    retryable: true,
  });
}

export async function serverVersion(client: pg.Client): Promise<{ version: string; major: number }> {
  const { rows } = await client.query<{ v: string; n: string }>(
    `select current_setting('server_version') as v, current_setting('server_version_num') as n`,
  );
  const version = rows[0]!.v.split(' ')[0]!;
  return { version, major: Math.floor(Number(rows[0]!.n) / 10000) };
}
