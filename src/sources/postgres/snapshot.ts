/**
 * Row counts that match the dump exactly: Lifeboat opens a REPEATABLE READ transaction, exports its
 * snapshot, counts rows in it, and hands the snapshot to pg_dump (`--snapshot`), so the counts and
 * the dump see the same data. Tables too large to count cheaply get the planner's estimate.
 *
 * The snapshot id is handed out as soon as it exists, so pg_dump starts at once; the counting goes
 * on alongside it on the snapshot's own connection (which must stay open until pg_dump has
 * imported the snapshot anyway).
 */
import type { TableCount } from '../../catalog/manifest.js';
import { quoteIdent } from '../../util/quote-ident.js';
import { connect } from './connection.js';

/** Tables smaller than this are counted with count(*); larger ones use reltuples. */
const EXACT_COUNT_MAX_BYTES = 64 * 1024 * 1024;

export interface HeldSnapshot {
  /** The exported snapshot id for pg_dump --snapshot, when the server allows exporting one. */
  id?: string;
  /** Row counts in the snapshot; rejects if counting failed. */
  tables: Promise<TableCount[]>;
  /** Roles the database's objects name (owners, grantees), as referencedRoles(); rejects if the query failed. */
  roles: Promise<string[]>;
  /**
   * Ends the transaction and the connection, stopping any counting still going; call after
   * pg_dump has finished (and after `tables` when the counts are wanted). Never throws.
   */
  release(): Promise<void>;
}

export async function holdSnapshot(url: string): Promise<HeldSnapshot> {
  const client = await connect(url);
  // Closing the connection ends the read-only transaction and fails a count still in flight.
  const close = () => client.end().catch(() => {});
  let id: string | undefined;
  try {
    await client.query('begin isolation level repeatable read read only');
    try {
      // Not in a savepoint: PostgreSQL refuses to export a snapshot from a subtransaction.
      id = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0]!.id;
    } catch {
      // Some servers (old standbys) cannot export; the counts are then close, not exact.
      await client.query('rollback');
      await client.query('begin isolation level repeatable read read only');
    }
  } catch (err) {
    await close();
    throw err;
  }
  // Queued on the same connection: the role names come from the snapshot, before the counting.
  const roles = referencedRoles(client);
  const tables = countRows(client, id !== undefined);
  roles.catch(() => {});
  tables.catch(() => {});
  return {
    id,
    tables,
    roles,
    release: close,
  };
}

/**
 * Roles a single-database dump names without creating them: owners of the database, schemas,
 * relations, functions, types and large objects, and grantees in their ACLs (column ones too),
 * default privileges and row-security policies. Names only. Built-in `pg_*` roles and PUBLIC are
 * left out: every server has them. A restore needs these roles to exist (see restore --create-roles).
 */
export async function referencedRoles(client: Awaited<ReturnType<typeof connect>>): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `with user_ns as (
       select oid, nspowner, nspacl from pg_namespace
        where nspname not in ('pg_catalog', 'information_schema')
          and nspname not like 'pg_toast%' and nspname not like 'pg_temp%'),
     refs(role) as (
       select datdba from pg_database where datname = current_database()
       union select (aclexplode(datacl)).grantee from pg_database where datname = current_database()
       union select nspowner from user_ns
       union select (aclexplode(nspacl)).grantee from user_ns
       union select relowner from pg_class where relnamespace in (select oid from user_ns)
       union select (aclexplode(relacl)).grantee from pg_class where relnamespace in (select oid from user_ns)
       union select (aclexplode(a.attacl)).grantee from pg_attribute a join pg_class c on c.oid = a.attrelid
              where c.relnamespace in (select oid from user_ns) and a.attacl is not null
       union select proowner from pg_proc where pronamespace in (select oid from user_ns)
       union select (aclexplode(proacl)).grantee from pg_proc where pronamespace in (select oid from user_ns)
       union select typowner from pg_type where typnamespace in (select oid from user_ns)
       union select (aclexplode(typacl)).grantee from pg_type where typnamespace in (select oid from user_ns)
       union select lomowner from pg_largeobject_metadata
       union select (aclexplode(lomacl)).grantee from pg_largeobject_metadata
       union select defaclrole from pg_default_acl
       union select (aclexplode(defaclacl)).grantee from pg_default_acl
       union select unnest(polroles) from pg_policy)
     select rolname as name from pg_roles
      where oid in (select role from refs) and rolname not like 'pg\\_%'
      order by 1`,
  );
  return rows.map((r) => r.name);
}

async function countRows(client: Awaited<ReturnType<typeof connect>>, exact: boolean): Promise<TableCount[]> {
  const { rows } = await client.query<{ schema: string; table: string; estimate: string; bytes: string }>(
    `select n.nspname as schema, c.relname as table, greatest(c.reltuples, 0)::bigint as estimate,
            pg_relation_size(c.oid) as bytes
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
      order by 1, 2`,
  );
  const tables: TableCount[] = [];
  for (const r of rows) {
    if (Number(r.bytes) <= EXACT_COUNT_MAX_BYTES) {
      const counted = await client.query<{ n: string }>(
        `select count(*) as n from ${quoteIdent(r.schema)}.${quoteIdent(r.table)}`,
      );
      tables.push({ schema: r.schema, table: r.table, rows: Number(counted.rows[0]!.n), exact });
    } else {
      tables.push({ schema: r.schema, table: r.table, rows: Number(r.estimate), exact: false });
    }
  }
  return tables;
}
