/** An S3 bucket as a source kind: config, backup source, health probe, restore and drill (SPEC §5). */
import type { SourceKind } from '../kind.js';
import { openBucket } from './bucket-client.js';
import { createBucketSource, reachBucket } from './bucket-source.js';
import { bucketSourceSchema, connectionOf, type BucketSourceConfig } from './config.js';
import { drillBucket } from './drill.js';
import { restoreBucket } from './restore.js';
import { normalizePrefix } from '../../storages/s3/url.js';
import { LifeboatError } from '../../util/errors.js';

export const bucketKind = {
  type: 'bucket' as const,
  schema: bucketSourceSchema,
  validate(cfg: BucketSourceConfig, where: string) {
    if (Boolean(cfg.accessKeyId) !== Boolean(cfg.secretAccessKey))
      throw new LifeboatError('config', `${where}: set both accessKeyId and secretAccessKey, or neither`, {
        hint: 'with neither, credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or a role',
      });
  },
  create: (cfg: BucketSourceConfig) => createBucketSource(cfg),
  secrets: (cfg: BucketSourceConfig) => [cfg.secretAccessKey],
  /** One listing page of the bucket under the prefix. */
  probe: (cfg: BucketSourceConfig) => async (signal: AbortSignal) => {
    const client = openBucket(connectionOf(cfg), cfg.bucket);
    try {
      await reachBucket(client, normalizePrefix(cfg.prefix), signal);
    } finally {
      client.destroy();
    }
  },
  restore: restoreBucket,
  drill: drillBucket,
} satisfies SourceKind<BucketSourceConfig>;
