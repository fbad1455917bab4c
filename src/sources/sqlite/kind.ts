/** SQLite as a source kind: config, backup source, health probe (restore: core/restore-files.ts; drill: drill/file-drill.ts). */
import { sqliteSourceSchema, type SqliteSourceConfig } from './config.js';
import { createSqliteSource } from './sqlite-source.js';

export const sqliteKind = {
  type: 'sqlite' as const,
  schema: sqliteSourceSchema,
  create: (cfg: SqliteSourceConfig) => createSqliteSource(cfg),
  /** Every database file is there, readable and an SQLite database (what plan checks). */
  probe: (cfg: SqliteSourceConfig) => async (signal: AbortSignal) => {
    await createSqliteSource(cfg).plan(signal);
  },
};
