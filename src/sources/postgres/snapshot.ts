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
import { connect } from './connection.js';

/** Tables smaller than this are counted with count(*); larger ones use reltuples. */
const EXACT_COUNT_MAX_BYTES = 64 * 1024 * 1024;

export interface HeldSnapshot {
  /** The exported snapshot id for pg_dump --snapshot, when the server allows exporting one. */
  id?: string;
  /** Row counts in the snapshot; rejects if counting failed. */
  tables: Promise<TableCount[]>;
  /**
   * Ends the transaction and the connection, stopping any counting still going; call after
   * pg_dump has finished (and after `tables` when the counts are wanted). Never throws.
   */
  release(): Promise<void>;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

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
  const tables = countRows(client, id !== undefined);
  tables.catch(() => {});
  return {
    id,
    tables,
    release: close,
  };
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
