/** SQLite as a source kind: its config and backup source (restore: core/restore-files.ts; drill: drill/sqlite-drill.ts). */
import { sqliteSourceSchema, type SqliteSourceConfig } from './config.js';
import { createSqliteSource } from './sqlite-source.js';

export const sqliteKind = {
  type: 'sqlite' as const,
  schema: sqliteSourceSchema,
  create: (cfg: SqliteSourceConfig) => createSqliteSource(cfg),
};
