/**
 * The PostgreSQL source: one database (pg_dump), several or all (globals + one pg_dump each), or
 * one pg_dumpall stream. Planning connects once to learn the server version and the databases and
 * picks client tools at least as new as the server, so version problems stop the run before any
 * dump starts.
 */
import { Readable } from 'node:stream';
import type { TableCount } from '../../catalog/manifest.js';
import { LifeboatError } from '../../util/errors.js';
import { createTap } from '../../util/hash-tap.js';
import { findPgTool, listPgTools, type PgTool } from './binaries.js';
import { startChild } from '../../util/child.js';
import type { DumpStream, PlannedArtifact, Source, SourcePlan } from '../source.js';
import {
  describe,
  serverVersion,
  toolConnection,
  withClient,
  withDatabase,
  libpqSettings,
} from './connection.js';
import { globToPsqlPattern, listDatabases, selectDatabases } from './databases.js';
import { missingPrivileges } from './privileges.js';
import { guardRoles } from './role-guard.js';
import type { PostgresSourceRecord } from './record.js';
import { holdSnapshot } from './snapshot.js';

const FATAL = /: error: |^FATAL:/;

/**
 * What this source needs of a `source: { type: postgres }` block, as config/schema.ts validates it
 * (a source kind never imports config/; the composition root hands the parsed block over).
 */
export interface PostgresSourceOptions {
  url: string;
  /** "all", one database, or a list; absent: the one libpq picks. */
  databases?: string | string[];
  /** Glob patterns of databases left out of `all`. */
  exclude: string[];
  dumpall: boolean;
  format: 'plain' | 'custom';
  binDir?: string;
}

/** A Node-side dump stream: roles made idempotent, raw bytes counted and hashed on the way. */
function guardedDumpall(
  tool: PgTool,
  args: string[],
  env: NodeJS.ProcessEnv,
  label: string,
  signal: AbortSignal,
): DumpStream {
  // pg_dumpall runs pg_dump itself: its own process group lets a kill reach that pg_dump too.
  const child = startChild(tool.path, args, { label, env, signal, fatal: FATAL, ownGroup: true });
  const tap = createTap();
  const stream = Readable.from(tap.through(guardRoles(child.stdout!)), { objectMode: false });
  return { stream, osPipe: false, done: child.done, raw: () => ({ size: tap.size, sha256: tap.sha256() }) };
}

/**
 * Which databases the source means, and where Lifeboat connects first. As libpq picks the database:
 * the URL's, else the service's, else PGDATABASE, else the user name; all databases only when
 * `databases: all` says so.
 */
export function sourceSelection(cfg: Pick<PostgresSourceOptions, 'url' | 'databases' | 'dumpall'>) {
  const settings = libpqSettings(cfg.url);
  const named = settings.database;
  const selection = cfg.databases ?? named ?? settings.user;
  const single = !cfg.dumpall && typeof selection === 'string' && selection !== 'all';
  // Lifeboat's own queries and pg_dumpall connect to that database, or to "postgres".
  const maintenanceUrl = single ? cfg.url : withDatabase(cfg.url, named ?? 'postgres');
  const firstUrl = single ? withDatabase(cfg.url, selection) : maintenanceUrl;
  const hint =
    cfg.databases === undefined && named === undefined
      ? `the source names no database, so libpq's default (the user name "${settings.user}") was used: name one in the URL or PGDATABASE, or set databases: all`
      : undefined;
  return { selection, single, maintenanceUrl, firstUrl, hint };
}

export function createPostgresSource(cfg: PostgresSourceOptions): Source {
  const where = describe(cfg.url);
  const { selection, single, maintenanceUrl, firstUrl, hint } = sourceSelection(cfg);

  return {
    description: where.text,

    missingPrivileges(plan) {
      const record = plan.record as PostgresSourceRecord;
      return missingPrivileges(maintenanceUrl, {
        globals: record.mode !== 'database',
        databases: record.databases,
      });
    },

    async plan(): Promise<SourcePlan> {
      const mode = cfg.dumpall ? 'dumpall' : single ? 'database' : 'databases';
      const program = mode === 'dumpall' ? 'pg_dumpall' : 'pg_dump';
      // Each candidate tool's `--version` run (cached) overlaps the first connection.
      void listPgTools(program, { binDir: cfg.binDir }).catch(() => {});
      const { server, databases } = await withClient(firstUrl, async (c) => ({
        server: await serverVersion(c),
        databases: single
          ? [selection as string]
          : await selectDatabases(c, cfg.dumpall ? 'all' : selection, cfg.exclude),
      })).catch((err: unknown) => {
        if (hint && err instanceof LifeboatError && /database does not exist/.test(err.message))
          throw new LifeboatError(err.code, err.message, { hint, cause: err });
        throw err;
      });
      const dumpTool = await findPgTool(program, {
        minMajor: server.major,
        binDir: cfg.binDir,
      });
      const artifacts: PlannedArtifact[] = [];

      if (mode === 'dumpall' || mode === 'databases') {
        const dumpall =
          mode === 'dumpall'
            ? dumpTool
            : await findPgTool('pg_dumpall', { minMajor: server.major, binDir: cfg.binDir });
        const { conninfo, env } = toolConnection(maintenanceUrl);
        const globalsOnly = mode === 'databases';
        artifacts.push({
          role: globalsOnly ? 'globals' : 'full',
          baseName: globalsOnly ? 'globals' : 'full',
          async open(signal) {
            const args = [
              '-w',
              `--dbname=${conninfo}`,
              ...(globalsOnly
                ? ['--globals-only']
                : cfg.exclude.map((p) => `--exclude-database=${globToPsqlPattern(p)}`)),
            ];
            return guardedDumpall(
              dumpall,
              args,
              env,
              globalsOnly ? 'pg_dumpall --globals-only' : 'pg_dumpall',
              signal,
            );
          },
        });
      }

      if (mode !== 'dumpall') {
        for (const db of databases) {
          let tables: TableCount[] | undefined;
          let roles: string[] | undefined;
          artifacts.push({
            role: 'database',
            database: db,
            baseName: '{db}',
            tables: () => tables,
            roles: () => roles,
            vanished: () => withClient(maintenanceUrl, async (c) => !(await listDatabases(c)).includes(db)),
            async open(signal) {
              const dbUrl = withDatabase(cfg.url, db);
              const snapshot = await holdSnapshot(dbUrl);
              const { conninfo, env } = toolConnection(dbUrl);
              const args = [
                '-w',
                `--dbname=${conninfo}`,
                `--format=${cfg.format}`,
                // Compression is Lifeboat's own stage; a custom archive is written uncompressed.
                ...(cfg.format === 'custom' ? ['--compress=0'] : []),
                ...(snapshot.id ? [`--snapshot=${snapshot.id}`] : []),
              ];
              const child = startChild(dumpTool.path, args, {
                label: `pg_dump ${db}`,
                env,
                signal,
                fatal: FATAL,
              });
              // The counts belong in the manifest: failing to take them fails the artifact too.
              const done = child.done
                .then(async () => {
                  roles = await snapshot.roles;
                  tables = await snapshot.tables;
                })
                .finally(() => snapshot.release());
              done.catch(() => {});
              return { stream: child.stdout!, osPipe: true, done };
            },
          });
        }
      }

      const dumpFormat = mode === 'dumpall' ? 'plain' : cfg.format;
      const record: PostgresSourceRecord = {
        kind: 'postgres',
        host: where.host,
        port: where.port,
        user: where.user,
        mode,
        databases,
        serverVersion: server.version,
        tool: { name: dumpTool.program, version: dumpTool.version },
        dumpFormat,
      };
      return {
        record,
        extension: dumpFormat === 'custom' ? '.dump' : '.sql',
        artifacts,
        summary: `PostgreSQL ${server.version} at ${where.host}:${where.port}, ${databases.length} database(s) (${databases.join(', ')}), ${dumpTool.program} ${dumpTool.version}`,
      };
    },
  };
}
