/**
 * The shape of lifeboat.yaml (SPEC §2), as zod schemas. Validation errors are turned into
 * "path: problem" lines by load.ts; this file only describes what is allowed.
 */
import { z } from 'zod';
import { expectationField, httpDrillCheckSchema } from './http-check.js';
import { hooksSchema } from './hooks.js';
import { scheduleProblem } from '../util/next-run.js';
import { templateProblem } from '../catalog/layout.js';
import { DEFAULT_SOURCE } from '../catalog/manifest.js';
import { jobKubernetesSchema } from './kubernetes.js';
import { name, TIMER_MAX_SECONDS, timerSeconds } from './fields.js';
import { notifySchema } from './notify.js';

export { notifySchema };
import { RECIPIENT_EXPECTED, recipientProblem } from '../codecs/age.js';
import { sourceCommon } from '../sources/common-config.js';
import { kubernetesDrillSchema } from '../sources/kubernetes/config.js';
import { PLANNED_KINDS, SOURCE_KINDS, sourceKind } from '../sources/registry.js';
import { s3ConnectionShape } from '../storages/s3/fields.js';

const wholeNumber = z
  .number({ error: 'expected a whole number' })
  .int('expected a whole number')
  .min(0, 'expected 0 or more');

/** A layout or name template, refused here so that `check` and every command name the field. */
const template = (kind: 'layout' | 'name') =>
  z.string().superRefine((value, ctx) => {
    const problem = templateProblem(value, kind);
    if (problem)
      ctx.addIssue({
        code: 'custom',
        message: `${problem.message}${problem.hint ? ` (hint: ${problem.hint})` : ''}`,
      });
  });

/** The longest duration anything accepts: beyond it, date arithmetic leaves the calendar. */
const MAX_DURATION_HOURS = 1000 * 366 * 24;

/** Rough length in hours (a month as 31 days, a year as 366): only to bound the value. */
function durationHours(text: string): number {
  const perUnit: Record<string, number> = { y: 366 * 24, m: 31 * 24, w: 7 * 24, d: 24, h: 1 };
  let hours = 0;
  for (const [, digits, unit] of text.matchAll(/(\d+)([ymwdh])/g)) hours += Number(digits) * perUnit[unit!]!;
  return hours;
}

const duration = z
  .string()
  .regex(/^(\d+[ymwdh])+$/, 'expected a duration like 14d, 36h, 2w or 1y6m')
  .refine((text) => durationHours(text) <= MAX_DURATION_HOURS, 'expected at most 1000y');

export const localStorageSchema = z.strictObject({
  type: z.literal('local'),
  path: z.string().min(1, 'expected a directory'),
});

export const s3StorageSchema = z.strictObject({
  type: z.literal('s3'),
  bucket: z.string().min(1, 'expected a bucket name'),
  prefix: z.string().default(''),
  ...s3ConnectionShape,
  /** false for servers that ignore If-None-Match on PutObject: a HEAD check guards writes instead. */
  conditionalWrites: z.boolean().optional(),
});

export const storageSchema = z.discriminatedUnion('type', [localStorageSchema, s3StorageSchema], {
  error: 'expected type local or s3',
});

/** Source kinds named in the SPEC whose implementation is still to come; accepted by type only. */
const plannedSources = PLANNED_KINDS.length
  ? [z.looseObject({ ...sourceCommon, type: z.enum(PLANNED_KINDS as [string, ...string[]]) })]
  : [];

/** Every kind's own config block (sources/registry.ts), chosen by `type`. */
const kindSchemas = Object.values(SOURCE_KINDS).map((k) => k.schema);
const typeNames = [...Object.keys(SOURCE_KINDS), ...PLANNED_KINDS];

// A tuple to zod's types, so that a parsed source is typed as one of the kinds' configs.
const sourceOptions = [...kindSchemas, ...plannedSources] as unknown as [
  (typeof kindSchemas)[number],
  ...Array<(typeof kindSchemas)[number]>,
];

export const sourceSchema = z.discriminatedUnion('type', sourceOptions, {
  error: `expected type ${typeNames.slice(0, -1).join(', ')} or ${typeNames.at(-1)}`,
});

export const compressionSchema = z.strictObject({
  type: z.enum(['zstd', 'gzip', 'none']).default('zstd'),
  level: z.number().int('expected a whole number').min(1).max(19).optional(),
});

export const encryptionSchema = z.strictObject({
  type: z.literal('age', { error: 'expected age' }).default('age'),
  recipients: z
    .array(z.string().refine((r) => !recipientProblem(r), { error: RECIPIENT_EXPECTED }))
    .min(1, 'expected at least one recipient (age1… or an SSH public key)'),
  /** The identity for restores and drills (else LIFEBOAT_AGE_IDENTITY_FILE); never stored anywhere. */
  identityFile: z.string().min(1).optional(),
});

export const scheduleSchema = z
  .strictObject({
    cron: z.string().min(1),
    timezone: z.string().default('UTC'),
  })
  .superRefine((schedule, ctx) => {
    const problem = scheduleProblem(schedule);
    if (problem) ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
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

/** A user check: its SQL's first column of the first row, held to `expect` (see expectation.ts). */
export const drillCheckSchema = z.strictObject({
  name: z.string().min(1, 'expected a name'),
  /** The source it runs against; required in a job with several sources. */
  source: name.optional(),
  database: z.string().min(1).optional(),
  sql: z.string().min(1, 'expected a query'),
  expect: expectationField,
});

/** A drill check: SQL (no `type`) or an http check (`type: http`, ./http-check.ts). */
const anyDrillCheckSchema = z.preprocess(
  (check) => (check && typeof check === 'object' && !('type' in check) ? { ...check, type: 'sql' } : check),
  z.discriminatedUnion('type', [drillCheckSchema.extend({ type: z.literal('sql') }), httpDrillCheckSchema], {
    error: 'expected an SQL check (name, sql, expect) or type: http',
  }),
);

export const drillSchema = z.strictObject({
  schedule: scheduleSchema.optional(),
  expect: z.strictObject({ databases: z.array(z.string().min(1)).optional() }).optional(),
  checks: z
    .array(anyDrillCheckSchema)
    .default([])
    .superRefine((checks, ctx) => {
      const seen = new Set<string>();
      checks.forEach((c, i) => {
        if (seen.has(c.name))
          ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate check name "${c.name}"` });
        seen.add(c.name);
      });
    }),
  scratch: z
    .strictObject({
      /** A server the drill may restore into, instead of a local throwaway cluster. */
      url: z.string().min(1).optional(),
      /** Everything on `url` may be dropped: databases already there don't make Lifeboat refuse it. */
      disposable: z.boolean().default(false),
      /** Where to look first for initdb/pg_ctl/postgres (and psql, pg_restore). */
      binDir: z.string().optional(),
      /** Roles to create before restoring a single-database backup, which carries none. */
      roles: z.array(z.string().min(1)).default([]),
    })
    .optional(),
  /** Bucket sources: read back a random `sample` % of the blobs instead of all of them. */
  bucket: z
    .strictObject({
      sample: z.number().gt(0, 'expected a percentage above 0').max(100, 'expected at most 100'),
    })
    .optional(),
  /** A kubernetes source's drill: `dryRun: true` also applies it by server-side dry run. */
  kubernetes: kubernetesDrillSchema.optional(),
  /** How far a planner estimate may be off: the larger of percent and rows (default 10 % / 1000). */
  rowCountTolerance: z
    .strictObject({ percent: z.number().min(0).default(10), rows: wholeNumber.default(1000) })
    .optional(),
});

/**
 * A job: one `source:` (the shorthand for one source named `main`) or several named `sources:`,
 * all backed up into one backup. Parsed, a job always has `sources`.
 */
export const jobSchema = z
  .strictObject({
    source: sourceSchema.optional(),
    sources: z.record(name, sourceSchema).optional(),
    compression: compressionSchema.default({ type: 'zstd' }),
    encryption: encryptionSchema.optional(),
    storages: z.array(name).min(1, 'expected at least one storage name'),
    /** "" is the storage root; see templateProblem for what a layout may not be. */
    layout: template('layout').optional(),
    name: template('name').optional(),
    schedule: scheduleSchema.optional(),
    retention: retentionSchema.optional(),
    drill: drillSchema.optional(),
    /** Commands (and http checks) around backups and restores (./hooks.ts). */
    hooks: hooksSchema.optional(),
    /** How `lifeboat k8s render` runs this job's CronJobs (./kubernetes.ts). */
    kubernetes: jobKubernetesSchema.optional(),
  })
  .superRefine((job, ctx) => {
    if ((job.source === undefined) === (job.sources === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: job.source ? ['sources'] : ['source'],
        message: job.source
          ? 'a job has either source: or sources:, not both'
          : 'required (or sources: with named sources)',
      });
      return;
    }
    if (job.sources && Object.keys(job.sources).length === 0)
      ctx.addIssue({ code: 'custom', path: ['sources'], message: 'expected at least one source' });
    const sources = job.sources ?? { [DEFAULT_SOURCE]: job.source! };
    const names = Object.keys(sources);
    job.drill?.checks.forEach((check, i) => {
      if (check.type === 'http') return; // reaches a URL, not a source
      const path = ['drill', 'checks', i, 'source'];
      if (check.source === undefined ? names.length > 1 : !names.includes(check.source)) {
        ctx.addIssue({
          code: 'custom',
          path,
          message:
            check.source === undefined
              ? `required in a job with several sources (${names.join(', ')})`
              : `no source named "${check.source}" (have: ${names.join(', ')})`,
        });
        return;
      }
      const type = sources[check.source ?? names[0]!]!.type;
      if (!sourceKind(type)?.runsSqlChecks)
        ctx.addIssue({
          code: 'custom',
          path,
          message: `an SQL check runs against a postgres or sqlite source; ${check.source === undefined ? "the job's source" : `"${check.source}"`} is ${type}`,
        });
    });
  })
  .transform(({ source, sources, drill, ...job }) => ({
    ...job,
    sources: sources ?? { [DEFAULT_SOURCE]: source! },
    ...(drill && { drill: splitChecks(drill) }),
  }));

/** The drill's SQL checks stay `checks` (each source runs its own); http checks run once per drill. */
function splitChecks<D extends { checks: Array<{ type: string }> }>(drill: D) {
  type Sql = Extract<D['checks'][number], { type: 'sql' }>;
  type Http = Extract<D['checks'][number], { type: 'http' }>;
  const checks = drill.checks
    .filter((c): c is Sql => c.type === 'sql')
    .map(({ type: _, ...c }) => c as Omit<Sql, 'type'>);
  const httpChecks = drill.checks.filter((c): c is Http => c.type === 'http');
  return { ...drill, checks, httpChecks } as Omit<D, 'checks'> & {
    checks: Array<Omit<Sql, 'type'>>;
    httpChecks?: Http[];
  };
}

/** `lifeboat serve`: the HTTP API, the run history and how the scheduler runs jobs. */
export const serverSchema = z.strictObject({
  port: z.number().int('expected a whole number').min(0).max(65535).default(8080),
  /**
   * Bearer token for the mutating endpoints; unset, the API is read-only. Empty counts as unset, so
   * `${LIFEBOAT_TOKEN:-}` makes the token optional.
   */
  token: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  /** Also require the token for read endpoints (not /healthz). */
  protectReads: z.boolean().default(false),
  /**
   * Host names the API answers to, beyond IP addresses, localhost and the --host name (a guard
   * against DNS rebinding: a page on another site cannot read the API through its own name).
   * "*" turns the check off, e.g. behind a proxy that already checks Host.
   */
  allowedHosts: z
    .array(
      z
        .string()
        .regex(
          /^(\*|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\.?)$/,
          'expected a host name without port, or "*"',
        ),
    )
    .optional(),
  /** The SQLite run history; see `lifeboat serve` for the default location. */
  historyFile: z.string().min(1).optional(),
  /** Finished runs older than this are pruned from the history. */
  historyRetention: duration.default('90d'),
  /** Each scheduled run starts up to this many seconds late, at random, to spread the load. */
  jitterSeconds: z
    .number()
    .min(0, 'expected 0 or more')
    .max(TIMER_MAX_SECONDS, `expected at most ${TIMER_MAX_SECONDS} seconds (24 days)`)
    .default(0),
  /** Failures that a retry can fix (network, throttling) are retried with exponential backoff. */
  retries: z
    .strictObject({
      attempts: z.number().int('expected a whole number').min(1, 'expected 1 or more').max(20).default(3),
      baseDelaySeconds: timerSeconds().default(30),
      maxDelaySeconds: timerSeconds().default(600),
    })
    .prefault({}),
  /** A run still going after this long is aborted (e.g. 6h). */
  runDeadline: duration
    .refine((text) => durationHours(text) <= TIMER_MAX_SECONDS / 3600, 'expected at most 24d')
    .optional(),
  /** On SIGTERM/SIGINT, running runs get this long to finish before they are aborted. */
  graceSeconds: z
    .number()
    .min(0, 'expected 0 or more')
    .max(TIMER_MAX_SECONDS, `expected at most ${TIMER_MAX_SECONDS} seconds (24 days)`)
    .default(30),
});

/**
 * Signed manifests (catalog/signature.ts). Each value is a file path or the key itself (e.g.
 * `${LIFEBOAT_SIGNING_KEY}`); see config/signing.ts. `key` signs (and implies the public key);
 * `publicKey` alone only checks, e.g. on a machine that restores but never backs up.
 */
export const signingSchema = z
  .strictObject({
    key: z.string().min(1, 'expected a key file or the key').optional(),
    publicKey: z.string().min(1, 'expected a public key file or the key').optional(),
  })
  .refine((s) => s.key !== undefined || s.publicKey !== undefined, 'expected key, publicKey or both');

export const configSchema = z.strictObject({
  storages: z.record(name, storageSchema).default({}),
  jobs: z.record(name, jobSchema).default({}),
  notify: z.array(notifySchema).optional(),
  server: serverSchema.optional(),
  signing: signingSchema.optional(),
});

export type Config = z.infer<typeof configSchema>;
export type JobConfig = z.infer<typeof jobSchema>;
export type StorageConfig = z.infer<typeof storageSchema>;
export type { PostgresSourceConfig } from '../sources/postgres/config.js';
export type SourceConfig = z.infer<typeof sourceSchema>;
export type CompressionConfig = z.infer<typeof compressionSchema>;
export type RetentionConfig = z.infer<typeof retentionSchema>;
export type DrillConfig = NonNullable<JobConfig['drill']>;
export type { NotifyConfig, PingNotifyConfig } from './notify.js';
export type ServerConfig = z.infer<typeof serverSchema>;
export type SigningConfig = z.infer<typeof signingSchema>;
