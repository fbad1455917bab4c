/**
 * The shape of lifeboat.yaml (SPEC §2), as zod schemas. Validation errors are turned into
 * "path: problem" lines by load.ts; this file only describes what is allowed.
 */
import { z } from 'zod';

const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    'expected letters, digits, "_", "." or "-", starting with a letter or digit',
  );

const wholeNumber = z
  .number({ error: 'expected a whole number' })
  .int('expected a whole number')
  .min(0, 'expected 0 or more');

const duration = z.string().regex(/^(\d+[ymwdh])+$/, 'expected a duration like 14d, 36h, 2w or 1y6m');

export const localStorageSchema = z.strictObject({
  type: z.literal('local'),
  path: z.string().min(1, 'expected a directory'),
});

export const s3StorageSchema = z.strictObject({
  type: z.literal('s3'),
  bucket: z.string().min(1, 'expected a bucket name'),
  prefix: z.string().default(''),
  endpoint: z.url({ error: 'expected a URL like http://minio:9000' }).optional(),
  region: z.string().default('us-east-1'),
  forcePathStyle: z.boolean().default(false),
  accessKeyId: z.string().optional(),
  secretAccessKey: z.string().optional(),
});

export const storageSchema = z.discriminatedUnion('type', [localStorageSchema, s3StorageSchema], {
  error: 'expected type local or s3',
});

const databases = z.union([z.literal('all'), name.or(z.string().min(1)), z.array(z.string().min(1)).min(1)]);

export const postgresSourceSchema = z.strictObject({
  type: z.literal('postgres'),
  url: z.string().min(1, 'expected a libpq URL like postgres://user@host:5432/db'),
  databases: databases.optional(),
  exclude: z.array(z.string()).default([]),
  dumpall: z.boolean().default(false),
  format: z.enum(['plain', 'custom']).default('plain'),
  binDir: z.string().optional(),
});

/** Source kinds named in the SPEC whose implementation is still to come; accepted by type only. */
const plannedSource = z.looseObject({ type: z.enum(['sqlite', 'files', 'kubernetes', 'bucket']) });

export const sourceSchema = z.discriminatedUnion('type', [postgresSourceSchema, plannedSource], {
  error: 'expected type postgres, sqlite, files, kubernetes or bucket',
});

export const compressionSchema = z.strictObject({
  type: z.enum(['zstd', 'gzip', 'none']).default('zstd'),
  level: z.number().int('expected a whole number').min(1).max(19).optional(),
});

export const scheduleSchema = z.strictObject({
  cron: z.string().min(1),
  timezone: z.string().default('UTC'),
});

export const retentionSchema = z.strictObject({
  keepWithin: duration.optional(),
  keepLast: wholeNumber.optional(),
  keepHourly: wholeNumber.optional(),
  keepDaily: wholeNumber.optional(),
  keepWeekly: wholeNumber.optional(),
  keepMonthly: wholeNumber.optional(),
  keepYearly: wholeNumber.optional(),
  minKeep: wholeNumber.default(1),
  /** Retention buckets (days, weeks) follow this zone's calendar; defaults to the schedule's. */
  timezone: z.string().optional(),
});

export const jobSchema = z.strictObject({
  source: sourceSchema,
  compression: compressionSchema.default({ type: 'zstd' }),
  encryption: z.strictObject({ recipients: z.array(z.string()).min(1) }).optional(),
  storages: z.array(name).min(1, 'expected at least one storage name'),
  layout: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  schedule: scheduleSchema.optional(),
  retention: retentionSchema.optional(),
  drill: z.looseObject({}).optional(),
});

export const configSchema = z.strictObject({
  storages: z.record(name, storageSchema).default({}),
  jobs: z.record(name, jobSchema).default({}),
  notify: z.array(z.looseObject({ type: z.string() })).optional(),
  server: z.looseObject({}).optional(),
});

export type Config = z.infer<typeof configSchema>;
export type JobConfig = z.infer<typeof jobSchema>;
export type StorageConfig = z.infer<typeof storageSchema>;
export type PostgresSourceConfig = z.infer<typeof postgresSourceSchema>;
export type CompressionConfig = z.infer<typeof compressionSchema>;
export type RetentionConfig = z.infer<typeof retentionSchema>;
