/**
 * Row counts that match the dump exactly: Lifeboat opens a REPEATABLE READ transaction, exports its
 * snapshot, counts rows in it, and hands the snapshot to pg_dump (`--snapshot`), so the counts and
 * the dump see the same data. Tables too large to count cheaply get the planner's estimate.
 */
import type { TableCount } from '../../catalog/manifest.js';
import { connect } from './connection.js';

/** Tables smaller than this are counted with count(*); larger ones use reltuples. */
const EXACT_COUNT_MAX_BYTES = 64 * 1024 * 1024;

export interface HeldSnapshot {
  /** The exported snapshot id for pg_dump --snapshot, when the server allows exporting one. */
  id?: string;
  tables: TableCount[];
  /** Ends the transaction; call after pg_dump has finished. Never throws. */
  release(): Promise<void>;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

export async function holdSnapshot(url: string): Promise<HeldSnapshot> {
  const client = await connect(url);
  const release = async () => {
    await client.query('commit').catch(() => {});
    await client.end().catch(() => {});
  };
  try {
    await client.query('begin isolation level repeatable read read only');
    let id: string | undefined;
    try {
      // Not in a savepoint: PostgreSQL refuses to export a snapshot from a subtransaction.
      id = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0]!.id;
    } catch {
      // Some servers (old standbys) cannot export; the counts are then close, not exact.
      await client.query('rollback');
      await client.query('begin isolation level repeatable read read only');
    }
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
        tables.push({
          schema: r.schema,
          table: r.table,
          rows: Number(counted.rows[0]!.n),
          exact: id !== undefined,
        });
      } else {
        tables.push({ schema: r.schema, table: r.table, rows: Number(r.estimate), exact: false });
      }
    }
    return { id, tables, release };
  } catch (err) {
    await release();
    throw err;
  }
}
