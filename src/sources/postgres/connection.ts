/**
 * libpq connection handling for Lifeboat's own queries (node-postgres) and for the client tools it
 * runs. Passwords travel to child processes in PGPASSWORD, never on a command line.
 */
import os from 'node:os';
import type pg from 'pg';
import { LifeboatError, fromSystemError } from '../../util/errors.js';
import { passfilePassword, serviceSettings } from './libpq-files.js';

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

/**
 * The URL's connection settings completed as libpq completes them: the URL first, then the service
 * (`?service=` or PGSERVICE) from the service file, then the PG* variables, then the defaults. The
 * database stays undefined when none of them names one (libpq would then use the user name).
 */
export function libpqSettings(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
): {
  host?: string;
  port: string;
  user: string;
  database?: string;
  password?: string;
  /** What the service file contributed. */
  service: Record<string, string>;
} {
  const u = parse(url);
  const q = (k: string) => u.searchParams.get(k) || undefined;
  const serviceName = q('service') ?? (env.PGSERVICE || undefined);
  const service = serviceName ? serviceSettings(serviceName, env) : {};
  return {
    host:
      (u.hostname && decodeURIComponent(u.hostname)) || q('host') || service.host || env.PGHOST || undefined,
    port: u.port || q('port') || service.port || env.PGPORT || '5432',
    user: decodeURIComponent(u.username) || q('user') || service.user || env.PGUSER || os.userInfo().username,
    database: databaseOf(url) || q('dbname') || service.dbname || env.PGDATABASE || undefined,
    password:
      decodeURIComponent(u.password) || q('password') || service.password || env.PGPASSWORD || undefined,
    service,
  };
}

/**
 * The URL for node-postgres, which reads the PG* variables itself but neither the service file nor
 * (without a deprecation warning) the password file: their settings are written into the URL.
 */
export function clientUrl(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const u = parse(url);
  const settings = libpqSettings(url, env);
  u.searchParams.delete('service');
  const fill = (param: string, value: string | undefined, present: boolean) => {
    if (value !== undefined && !present && !u.searchParams.has(param)) u.searchParams.set(param, value);
  };
  // Query parameters, not URL parts: a URL without a host cannot carry a user or a port.
  const { host, port, user, dbname, password: _pw, ...rest } = settings.service;
  fill('host', host, Boolean(u.hostname));
  fill('port', port, Boolean(u.port));
  fill('user', user, Boolean(u.username));
  if (!databaseOf(url) && !u.searchParams.has('dbname') && dbname)
    u.pathname = '/' + encodeURIComponent(dbname);
  for (const [k, v] of Object.entries(rest)) fill(k, v, false);
  const password =
    settings.password ??
    passfilePassword(
      {
        host: settings.host ?? 'localhost',
        port: settings.port,
        database: settings.database ?? settings.user,
        user: settings.user,
      },
      env,
    );
  if (password !== undefined && !u.password) {
    u.searchParams.delete('password');
    u.searchParams.set('password', password);
  }
  return u.toString();
}

/** host:port/db for messages and manifests; never the password. */
export function describe(url: string): {
  host: string;
  port: number;
  user?: string;
  database?: string;
  text: string;
} {
  const settings = libpqSettings(url);
  const host = settings.host ?? 'localhost';
  const port = Number(settings.port);
  const { user, database } = settings;
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
  let connectionString: string;
  try {
    connectionString = clientUrl(url);
  } catch (err) {
    throw err instanceof LifeboatError ? err : connectError(url, err);
  }
  // Loaded on first use: node-postgres costs every start-up ~80 ms of CPU, and a run of a sqlite or
  // files job (or a restore from a directory) never connects.
  const { default: driver } = await import('pg');
  const client = new driver.Client({ connectionString, connectionTimeoutMillis: 15_000 });
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
