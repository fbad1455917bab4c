/**
 * The `type: bucket` config block (SPEC §5): the source bucket's connection (the same fields as an
 * S3 storage), the bucket, a key prefix, exclude globs, and how many objects move at once.
 */
import { z } from 'zod';
import { s3ConnectionShape } from '../../storages/s3/fields.js';
import { sourceCommon } from '../common-config.js';

export const bucketSourceSchema = z.strictObject({
  ...sourceCommon,
  type: z.literal('bucket'),
  bucket: z.string().min(1, 'expected a bucket name'),
  /** Only keys starting with it; "" (the default) is the whole bucket. */
  prefix: z.string().default(''),
  ...s3ConnectionShape,
  /** Globs over the key below `prefix`: with a slash they match it whole, without one its last segment. */
  exclude: z.array(z.string().min(1)).default([]),
  /** Objects read and stored at once (default 8). */
  concurrency: z.number().int('expected a whole number').min(1, 'expected 1 or more').max(64).default(8),
});

export type BucketSourceConfig = z.infer<typeof bucketSourceSchema>;

/** The connection fields as the S3 client takes them. */
export function connectionOf(cfg: BucketSourceConfig) {
  const { partSizeMiB, ...rest } = cfg;
  return { ...rest, ...(partSizeMiB ? { partSize: partSizeMiB * 1024 * 1024 } : {}) };
}
