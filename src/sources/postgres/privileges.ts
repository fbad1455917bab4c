/**
 * What the connecting role lacks for the dumps a job plans, for `lifeboat check` to say before a
 * backup fails on it. pg_dumpall reads role passwords from pg_authid; pg_dump needs USAGE on every
 * schema and SELECT on every table and sequence it dumps. A superuser or a member of
 * pg_read_all_data (PostgreSQL 14+) has all of it, and the privilege functions answer for those.
 */
import type pg from 'pg';
import { withClient, withDatabase } from './connection.js';

/** Names of a few objects, so the operator knows where to look. */
const EXAMPLES = 3;

async function roleInfo(c: pg.Client): Promise<{ name: string; authid: boolean }> {
  const { rows } = await c.query<{ name: string; authid: boolean }>(
    `select current_user as name, has_table_privilege('pg_catalog.pg_authid', 'SELECT') as authid`,
  );
  return rows[0]!;
}

/** Schemas without USAGE and tables/sequences without SELECT in one database (extension members aside). */
async function unreadable(c: pg.Client): Promise<{ count: number; examples: string[] }> {
  const { rows } = await c.query<{ what: string }>(
    `select format('schema %I', n.nspname) as what
       from pg_namespace n
      where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
        and not has_schema_privilege(n.oid, 'USAGE')
     union all
     select format('%I.%I', n.nspname, c.relname)
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'S') and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg\\_%'
        and not has_table_privilege(c.oid, 'SELECT')
        and not exists (select 1 from pg_depend d
                         where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
      order by 1`,
  );
  return { count: rows.length, examples: rows.slice(0, EXAMPLES).map((r) => r.what) };
}

/**
 * Everything the role lacks, one phrase each; empty when it has what the dumps need.
 * `globals` is true when the plan runs pg_dumpall (the globals, or everything).
 */
export async function missingPrivileges(
  url: string,
  opts: { globals: boolean; databases: string[] },
): Promise<{ role: string; missing: string[] }> {
  const role = await withClient(url, roleInfo);
  const missing: string[] = [];
  if (opts.globals && !role.authid) {
    missing.push(
      'read access to pg_authid, which pg_dumpall needs for the globals (role passwords): superuser or pg_read_all_data',
    );
  }
  for (const db of opts.databases) {
    const { count, examples } = await withClient(withDatabase(url, db), unreadable);
    if (count > 0) {
      const more = count > examples.length ? ` and ${count - examples.length} more` : '';
      missing.push(`read access in ${db} to ${examples.join(', ')}${more}`);
    }
  }
  return { role: role.name, missing };
}
