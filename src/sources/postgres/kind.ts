/** PostgreSQL as a source kind (sources/kind.ts): config, backup source, probe, restore, drill. */
import type { SourceKind } from '../kind.js';
import { postgresSourceSchema, validatePostgresSource, type PostgresSourceConfig } from './config.js';
import { drillPostgres } from './drill.js';
import { createPostgresSource } from './postgres-source.js';
import { probePostgres, probeUrl } from './probe.js';
import type { PostgresBackup } from './record.js';
import { restorePostgres } from './restore.js';

export const postgresKind = {
  type: 'postgres',
  runsSqlChecks: true,
  schema: postgresSourceSchema,
  validate: validatePostgresSource,
  create: createPostgresSource,
  probe: (cfg) => (signal) => probePostgres(probeUrl(cfg), signal),
  drillSettings: (cfg) => ({ url: cfg.url, binDir: cfg.binDir }),
  secretUrls: (cfg) => [cfg.url],
  restore: (storage, part, opts) => restorePostgres(storage, part as PostgresBackup, opts),
  drill: (ctx) => drillPostgres({ ...ctx, part: ctx.part as PostgresBackup }),
} satisfies SourceKind<PostgresSourceConfig>;
