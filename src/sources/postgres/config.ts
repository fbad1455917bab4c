/** The `type: postgres` config block (README, Configuration reference) and what it may not combine. */
import { z } from 'zod';
import { LifeboatError } from '../../util/errors.js';
import { sourceCommon } from '../common-config.js';

// As config/schema.ts's names (kept identical, so errors read the same).
const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    'expected letters, digits, "_", "." or "-", starting with a letter or digit',
  );
const databases = z.union([z.literal('all'), name.or(z.string().min(1)), z.array(z.string().min(1)).min(1)]);

export const postgresSourceSchema = z.strictObject({
  ...sourceCommon,
  type: z.literal('postgres'),
  url: z.string().min(1, 'expected a libpq URL like postgres://user@host:5432/db'),
  databases: databases.optional(),
  exclude: z.array(z.string()).default([]),
  dumpall: z.boolean().default(false),
  format: z.enum(['plain', 'custom']).default('plain'),
  binDir: z.string().optional(),
});

export type PostgresSourceConfig = z.infer<typeof postgresSourceSchema>;

export function validatePostgresSource(cfg: PostgresSourceConfig, where: string): void {
  if (cfg.dumpall && cfg.format === 'custom') {
    throw new LifeboatError(
      'config',
      `${where}.format: pg_dumpall writes plain SQL only; remove format: custom or dumpall: true`,
    );
  }
}
