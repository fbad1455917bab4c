/**
 * The amcheck check of a drill: `bt_index_check` on every B-tree index in a restored database's
 * own schemas. Restoring rebuilds every index, so this proves the rebuilt indexes agree with the
 * scratch server's ordering (collations above all) — the failure that otherwise surfaces only as
 * wrong query results after a real restore. Skipped, not failed, where amcheck is not installed.
 */
import { oneLine } from '../../util/errors.js';
import type { CheckResult } from '../../catalog/drill-report.js';
import { quoteIdent } from '../../util/quote-ident.js';
import { firstValue, withScratchClient } from './scratch-query.js';

const BTREE_INDEXES = `
  select c.oid::text as oid, c.oid::regclass::text as name
    from pg_index i
    join pg_class c on c.oid = i.indexrelid
    join pg_am a on a.oid = c.relam
    join pg_namespace n on n.oid = c.relnamespace
   where a.amname = 'btree' and c.relkind = 'i' and i.indisvalid and i.indisready
     and c.relpersistence <> 't'
     and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
   order by 2`;

export async function amcheckDatabase(
  url: string,
  database: string,
  signal?: AbortSignal,
): Promise<CheckResult> {
  const name = `amcheck ${database}`;
  const expected = 'every btree index passes bt_index_check';
  const skip = (why: string): CheckResult => ({ name, ok: true, skipped: true, expected, actual: why });
  return withScratchClient(url, signal, async (c) => {
    const available = await firstValue(c, `select 1 from pg_available_extensions where name = 'amcheck'`);
    if (available === undefined) return skip('skipped: amcheck is not installed on the scratch server');
    try {
      await c.query('create extension if not exists amcheck');
    } catch (err) {
      return skip(`skipped: create extension amcheck: ${oneLine(err)}`);
    }
    // Qualified, because the backup may have had amcheck in a schema that is not on the search_path.
    const schema = await firstValue(
      c,
      `select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'amcheck'`,
    );
    const check = `select ${quoteIdent(schema ?? 'public')}.bt_index_check($1::oid::regclass)`;
    const { rows } = await c.query<{ oid: string; name: string }>(BTREE_INDEXES);
    const failures: string[] = [];
    for (const index of rows) {
      try {
        await c.query(check, [index.oid]);
      } catch (err) {
        signal?.throwIfAborted();
        failures.push(`${index.name}: ${oneLine(err)}`);
      }
    }
    return {
      name,
      ok: failures.length === 0,
      expected,
      actual: failures.length
        ? `${failures.length} of ${rows.length} failed: ${failures.join('; ')}`
        : `${rows.length} of ${rows.length} pass`,
    };
  });
}
