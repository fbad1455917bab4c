/**
 * Facts about and changes to a restore target server: does a database exist, is it empty, drop and
 * create it. Used by restore (and by drills, on scratch clusters).
 */
import type pg from 'pg';
import { quoteIdent } from '../../util/quote-ident.js';

export async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
  return (rowCount ?? 0) > 0;
}

/**
 * A database counts as empty when it has no relations, functions or types in user schemas, no
 * extensions beyond plpgsql, and no schemas beyond public.
 */
export async function isDatabaseEmpty(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ n: string }>(
    `select
       (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%')
     + (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname not in ('pg_catalog', 'information_schema'))
     + (select count(*) from pg_extension where extname <> 'plpgsql')
     + (select count(*) from pg_namespace where nspname not in ('public', 'pg_catalog', 'information_schema')
         and nspname not like 'pg_toast%' and nspname not like 'pg_temp%') as n`,
  );
  return Number(rows[0]!.n) === 0;
}

/** Creates those of `roles` the server lacks, NOLOGIN (no password, no privileges); returns the ones created. */
export async function createMissingRoles(client: pg.Client, roles: string[]): Promise<string[]> {
  const missing = await missingRoles(client, roles);
  for (const role of missing) await client.query(`create role ${quoteIdent(role)} nologin`);
  return missing;
}

export async function missingRoles(client: pg.Client, roles: string[]): Promise<string[]> {
  if (!roles.length) return [];
  const { rows } = await client.query<{ name: string }>(
    `select name from unnest($1::text[]) as name where name not in (select rolname from pg_roles) order by 1`,
    [roles],
  );
  return rows.map((r) => r.name);
}

export async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  await client.query(`drop database if exists ${quoteIdent(name)} with (force)`);
}

/** From template0, as PostgreSQL advises for restores: whatever was added to template1 stays out. */
export async function createDatabase(client: pg.Client, name: string): Promise<void> {
  await client.query(`create database ${quoteIdent(name)} template template0`);
}

/** Databases other than postgres and the templates. */
export async function userDatabases(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ datname: string }>(
    `select datname from pg_database where not datistemplate and datname <> 'postgres' order by 1`,
  );
  return rows.map((r) => r.datname);
}
