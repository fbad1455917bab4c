/**
 * Which databases a run dumps: `all` is discovered at each run from pg_database (connectable,
 * non-template), then `exclude` globs ("*_queue") drop names.
 */
import type pg from 'pg';
import { LifeboatError } from '../../util/errors.js';

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * The same glob as a pg_dumpall `--exclude-database` pattern. pg_dumpall reads psql patterns, which
 * fold unquoted letters to lower case, treat `.` as a separator and other characters as regex
 * syntax; double-quoting every literal run makes it match exactly the names globToRegExp matches,
 * so a dumpall backup leaves out the databases its manifest says it left out.
 */
export function globToPsqlPattern(glob: string): string {
  return glob
    .split(/([*?])/)
    .filter((part) => part !== '')
    .map((part) => (part === '*' || part === '?' ? part : `"${part.replace(/"/g, '""')}"`))
    .join('');
}

export function applyExclude(names: string[], exclude: string[]): string[] {
  const patterns = exclude.map(globToRegExp);
  return names.filter((n) => !patterns.some((p) => p.test(n)));
}

export async function listDatabases(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ datname: string }>(
    `select datname from pg_database where datallowconn and not datistemplate order by datname`,
  );
  return rows.map((r) => r.datname);
}

/**
 * Resolves the configured selection against the server; names a database that is not there. A
 * selection that leaves no database is a configuration error: a backup holding nothing but the
 * globals would count as a success and let retention remove the real ones.
 */
export async function selectDatabases(
  client: pg.Client,
  wanted: 'all' | string | string[],
  exclude: string[],
): Promise<string[]> {
  const existing = await listDatabases(client);
  const names = wanted === 'all' ? existing : Array.isArray(wanted) ? wanted : [wanted];
  if (wanted !== 'all') {
    for (const n of names) {
      if (!existing.includes(n)) {
        throw new LifeboatError(
          'failed',
          `select database "${n}": no such database on the server (have: ${existing.join(', ')})`,
        );
      }
    }
  }
  const selected = applyExclude(names, exclude);
  if (selected.length === 0) {
    const from = wanted === 'all' ? 'databases: all' : `databases: ${JSON.stringify(names)}`;
    throw new LifeboatError(
      'config',
      `select databases: ${from} with exclude: ${JSON.stringify(exclude)} selects no database (the server has: ${existing.join(', ') || 'none'})`,
      { hint: 'narrow source.exclude so that at least one database is backed up' },
    );
  }
  return selected;
}
