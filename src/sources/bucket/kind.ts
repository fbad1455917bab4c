/**
 * An S3 bucket as a source kind: config, backup source, health probe, restore, drill and the blob
 * check of `verify` (SPEC §5).
 * Everything that talks to the bucket is loaded on first use: it brings the AWS SDK (~0.35 s of CPU
 * and ~20 MB at start-up), which every run of every other kind paid once this kind was registered.
 */
import type { Source, SourcePlan } from '../source.js';
import type { SourceKind } from '../kind.js';
import { bucketSourceSchema, connectionOf, type BucketSourceConfig } from './config.js';
import { normalizePrefix, printableEndpoint, s3Location } from '../../storages/s3/url.js';
import { LifeboatError } from '../../util/errors.js';

/** The source, loaded when it first plans; its description (no I/O) is known before. */
function lazySource(cfg: BucketSourceConfig): Source {
  let real: Promise<Source> | undefined;
  const load = () => (real ??= import('./bucket-source.js').then((m) => m.createBucketSource(cfg)));
  const endpoint = cfg.endpoint ? printableEndpoint(cfg.endpoint) : undefined;
  return {
    description: `bucket ${s3Location(cfg.bucket, normalizePrefix(cfg.prefix))}${endpoint ? ` at ${endpoint}` : ''}`,
    plan: async (signal, ctx): Promise<SourcePlan> => (await load()).plan(signal, ctx),
  };
}

export const bucketKind = {
  type: 'bucket' as const,
  schema: bucketSourceSchema,
  validate(cfg: BucketSourceConfig, where: string) {
    if (Boolean(cfg.accessKeyId) !== Boolean(cfg.secretAccessKey))
      throw new LifeboatError('config', `${where}: set both accessKeyId and secretAccessKey, or neither`, {
        hint: 'with neither, credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or a role',
      });
  },
  create: (cfg: BucketSourceConfig) => lazySource(cfg),
  secrets: (cfg: BucketSourceConfig) => [cfg.secretAccessKey],
  /** One listing page of the bucket under the prefix. */
  probe: (cfg: BucketSourceConfig) => async (signal: AbortSignal) => {
    const [{ openBucket }, { reachBucket }] = await Promise.all([
      import('./bucket-client.js'),
      import('./bucket-source.js'),
    ]);
    const client = openBucket(connectionOf(cfg), cfg.bucket);
    try {
      await reachBucket(client, normalizePrefix(cfg.prefix), signal);
    } finally {
      client.destroy();
    }
  },
  restore: async (...args) => (await import('./restore.js')).restoreBucket(...args),
  drill: async (...args) => (await import('./drill.js')).drillBucket(...args),
  verify: async (...args) => (await import('./verify.js')).verifyBucket(...args),
} satisfies SourceKind<BucketSourceConfig>;
