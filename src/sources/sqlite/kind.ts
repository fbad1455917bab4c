/**
 * SQLite as a source kind (sources/kind.ts): config, backup source, health probe, restore, drill,
 * verify --deep.
 */
import type { SourceKind } from '../kind.js';
import { drillSqlite } from './drill.js';
import { sqliteSourceSchema, type SqliteSourceConfig } from './config.js';
import type { SqliteBackup } from './record.js';
import { restoreSqlite } from './restore.js';
import { createSqliteSource } from './sqlite-source.js';
import { verifySqliteContent } from './verify-content.js';

export const sqliteKind = {
  type: 'sqlite',
  restoresToPath: true,
  runsSqlChecks: true,
  schema: sqliteSourceSchema,
  create: (cfg) => createSqliteSource(cfg),
  /** Every database file is there, readable and an SQLite database (what plan checks). */
  probe: (cfg) => async (signal) => {
    await createSqliteSource(cfg).plan(signal);
  },
  restore: (storage, part, opts) => restoreSqlite(storage, part as SqliteBackup, opts),
  drill: drillSqlite,
  verifyContent: verifySqliteContent,
} satisfies SourceKind<SqliteSourceConfig>;
