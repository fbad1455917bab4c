/**
 * A configured server (`drill.scratch.url`) as a drill's scratch server. Lifeboat refuses one that
 * holds anything — databases besides postgres and the templates, or objects in postgres — unless it
 * is marked `disposable: true`, and refuses the job's own source server outright. Afterwards it
 * drops the databases and roles the drill created, and puts back the attributes (passwords
 * included) of roles that were there before: restoring a backup's globals rewrites them with
 * production's, which would otherwise lock Lifeboat out of its own scratch server.
 */
import type pg from 'pg';
import type { PostgresBackup } from '../sources/postgres/record.js';
import { LifeboatError, oneLine } from '../util/errors.js';
import { databaseExists, dropDatabase, isDatabaseEmpty, userDatabases } from '../sources/postgres/target.js';
import {
  connect,
  describe,
  serverVersion,
  withClient,
  withDatabase,
} from '../sources/postgres/connection.js';
import { quoteIdent } from '../util/quote-ident.js';
import type { Scratch } from '../sources/drill-scratch.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

function sameServer(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  const norm = (h: string) => (LOOPBACK.has(h.toLowerCase()) ? 'loopback' : h.toLowerCase());
  return a.port === b.port && norm(a.host) === norm(b.host);
}

interface RoleState {
  name: string;
  /** ALTER ROLE options that recreate its attributes; undefined when pg_authid is not readable. */
  options?: string;
}

const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function roleStates(c: pg.Client): Promise<Map<string, RoleState>> {
  try {
    const { rows } = await c.query<Record<string, string | boolean | number | null>>(
      `select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication,
              rolbypassrls, rolconnlimit, rolpassword, rolvaliduntil::text as rolvaliduntil from pg_authid`,
    );
    return new Map(
      rows.map((r) => {
        const flag = (on: unknown, word: string) => (on ? word : `NO${word}`);
        const options = [
          flag(r.rolsuper, 'SUPERUSER'),
          flag(r.rolinherit, 'INHERIT'),
          flag(r.rolcreaterole, 'CREATEROLE'),
          flag(r.rolcreatedb, 'CREATEDB'),
          flag(r.rolcanlogin, 'LOGIN'),
          flag(r.rolreplication, 'REPLICATION'),
          flag(r.rolbypassrls, 'BYPASSRLS'),
          `CONNECTION LIMIT ${Number(r.rolconnlimit)}`,
          r.rolpassword === null ? 'PASSWORD NULL' : `PASSWORD ${quoteLiteral(String(r.rolpassword))}`,
          `VALID UNTIL ${quoteLiteral(r.rolvaliduntil === null ? 'infinity' : String(r.rolvaliduntil))}`,
        ].join(' ');
        return [String(r.rolname), { name: String(r.rolname), options }];
      }),
    );
  } catch {
    // Not a superuser: pg_authid is off limits; names alone still let us drop new roles.
    const { rows } = await c.query<{ rolname: string }>('select rolname from pg_roles');
    return new Map(rows.map((r) => [r.rolname, { name: r.rolname }]));
  }
}

export async function openServerScratch(opts: {
  url: string;
  disposable: boolean;
  minMajor: number;
  manifest: PostgresBackup;
  sourceUrl?: string;
  log?: (line: string) => void;
}): Promise<Scratch> {
  const target = describe(opts.url);
  const where = `${target.host}:${target.port}`;
  const sources = [opts.manifest.source, ...(opts.sourceUrl ? [describe(opts.sourceUrl)] : [])];
  if (sources.some((s) => sameServer(s, target))) {
    throw new LifeboatError(
      'config',
      `use scratch server ${where}: it is the source server of job ${opts.manifest.job}; a drill never touches the source`,
      { hint: 'point drill.scratch.url at a separate server, or remove it to use a local throwaway cluster' },
    );
  }
  // Lifeboat's own statements always run in "postgres": it is never one the drill drops.
  const maintenance = withDatabase(opts.url, 'postgres');
  const before = await withClient(maintenance, async (c) => ({
    version: await serverVersion(c),
    databases: await userDatabases(c),
    postgresEmpty: await isDatabaseEmpty(c),
    roles: await roleStates(c),
  }));
  if (before.version.major < opts.minMajor) {
    throw new LifeboatError(
      'config',
      `use scratch server ${where}: it runs PostgreSQL ${before.version.version}, older than the backup's ${opts.manifest.source.serverVersion}`,
      {
        hint: `point drill.scratch.url at PostgreSQL ${opts.minMajor} or newer, or remove it to use a local cluster`,
      },
    );
  }
  if (!opts.disposable && (before.databases.length > 0 || !before.postgresEmpty)) {
    const holds = [
      ...(before.databases.length ? [`databases ${before.databases.join(', ')}`] : []),
      ...(before.postgresEmpty ? [] : ['objects in database postgres']),
    ].join(' and ');
    throw new LifeboatError(
      'config',
      `use scratch server ${where}: it holds ${holds}; refusing to restore a drill into it`,
      {
        hint: 'point drill.scratch.url at an empty server, or set drill.scratch.disposable: true if everything on it may be dropped',
      },
    );
  }
  opts.log?.(
    `scratch: PostgreSQL ${before.version.version} at ${where}${opts.disposable ? ' (disposable)' : ''}`,
  );

  const claimed = new Set<string>();
  let disposed: Promise<string[]> | undefined;
  // Opened before the restore and used to clean up: a globals restore may change the password of
  // the very role Lifeboat connects as, and a new connection would then be refused.
  let held: pg.Client | undefined;

  async function resetPostgres(): Promise<void> {
    // DROP DATABASE can't run in the database it drops, so this one statement goes through template1.
    await withClient(withDatabase(opts.url, 'template1'), async (c) => {
      await dropDatabase(c, 'postgres');
      await c.query('create database postgres');
    });
  }

  async function cleanUp(): Promise<string[]> {
    const problems: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        problems.push(`${what}: ${oneLine(err)}`);
      }
    };
    let postgresDirty = false;
    let client: pg.Client | undefined = held;
    held = undefined;
    try {
      await client?.query('select 1');
    } catch {
      client = undefined;
    }
    try {
      client ??= await connect(maintenance);
    } catch (err) {
      return [`clean up scratch server ${where}: ${oneLine(err)}`];
    }
    try {
      const c = client;
      const now = await roleStates(c);
      for (const [name, state] of before.roles) {
        const current = now.get(name);
        if (state.options && current?.options && current.options !== state.options)
          await attempt(`restore role ${name}`, () =>
            c.query(`alter role ${quoteIdent(name)} with ${state.options}`),
          );
      }
      const keep = new Set(before.databases.filter((d) => !claimed.has(d)));
      for (const db of await userDatabases(c)) {
        if (!keep.has(db)) await attempt(`drop database ${db}`, () => dropDatabase(c, db));
      }
      const added = [...now.keys()].filter((r) => !before.roles.has(r));
      if (added.length) {
        const list = added.map(quoteIdent).join(', ');
        // DROP OWNED also revokes what they were granted on shared objects, which DROP ROLE needs.
        await attempt(`drop objects owned by ${added.join(', ')}`, () => c.query(`drop owned by ${list}`));
        for (const role of added)
          await attempt(`drop role ${role}`, () => c.query(`drop role if exists ${quoteIdent(role)}`));
      }
      postgresDirty = claimed.has('postgres') && !(await isDatabaseEmpty(c));
    } catch (err) {
      problems.push(`clean up scratch server ${where}: ${oneLine(err)}`);
    } finally {
      await client.end().catch(() => {});
    }
    if (postgresDirty) await attempt('reset database postgres', resetPostgres);
    return problems;
  }

  return {
    kind: 'server',
    where: `PostgreSQL ${before.version.version} at ${where}`,
    serverVersion: before.version.version,
    url: (database) => withDatabase(opts.url, database),
    async prepare(databases) {
      for (const db of databases) claimed.add(db);
      if (!opts.disposable) {
        held = await connect(maintenance);
        return;
      }
      // Disposable: whatever already sits under the names the backup restores is dropped first.
      await withClient(maintenance, async (c) => {
        for (const db of databases) {
          if (db === 'postgres' || !(await databaseExists(c, db))) continue;
          opts.log?.(`scratch: drop database ${db} (disposable scratch server)`);
          await dropDatabase(c, db);
        }
      });
      if (databases.includes('postgres') && !before.postgresEmpty) {
        opts.log?.('scratch: reset database postgres (disposable scratch server)');
        await resetPostgres();
      }
      held = await connect(maintenance);
    },
    dispose() {
      disposed ??= cleanUp();
      return disposed;
    },
  };
}
