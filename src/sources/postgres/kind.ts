/** PostgreSQL as a source kind (sources/kind.ts): its config, backup source, probe and drill settings. */
import type { SourceKind } from '../kind.js';
import { postgresSourceSchema, validatePostgresSource, type PostgresSourceConfig } from './config.js';
import { createPostgresSource } from './postgres-source.js';
import { probePostgres, probeUrl } from './probe.js';

export const postgresKind = {
  type: 'postgres',
  schema: postgresSourceSchema,
  validate: validatePostgresSource,
  create: createPostgresSource,
  probe: (cfg) => (signal) => probePostgres(probeUrl(cfg), signal),
  drillSettings: (cfg) => ({ url: cfg.url, binDir: cfg.binDir }),
  secretUrls: (cfg) => [cfg.url],
} satisfies SourceKind<PostgresSourceConfig>;
