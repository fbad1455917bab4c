/**
 * Where a bucket restore writes (`--to`): an `s3://bucket/prefix` URL, a storage named in the
 * config (an `s3` storage's bucket and prefix with its own connection, or a `local` storage's
 * directory), or a directory. A configured storage's name wins over a directory of that name, as
 * for `--from`.
 */
import path from 'node:path';
import { z } from 'zod';
import { s3ConnectionShape } from '../../storages/s3/fields.js';
import { normalizePrefix, parseS3Url, s3Location, s3OptionsFromUrl } from '../../storages/s3/url.js';
import { LifeboatError } from '../../util/errors.js';
import type { SourceRestoreOptions } from '../kind.js';
import { openBucket, type BucketClient } from './bucket-client.js';
import { bucketSourceSchema, connectionOf } from './config.js';
import type { BucketBackup } from './record.js';

export type RestoreTarget =
  | { type: 's3'; client: BucketClient; prefix: string; where: string }
  | { type: 'dir'; dir: string; where: string };

/** The storage blocks a restore can write into, as the config validated them (config/schema.ts). */
const storageBlock = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('local'), path: z.string() }),
  z.looseObject({
    type: z.literal('s3'),
    bucket: z.string(),
    prefix: z.string().default(''),
    ...s3ConnectionShape,
    conditionalWrites: z.boolean().optional(),
  }),
]);

export function restoreTarget(part: BucketBackup, opts: SourceRestoreOptions): RestoreTarget {
  if (opts.toStorage) {
    const { name } = opts.toStorage;
    const parsed = storageBlock.safeParse(opts.toStorage.config);
    if (!parsed.success)
      throw new LifeboatError('config', `restore to storage ${name}: its config block is not a storage`);
    const s = parsed.data;
    if (s.type === 'local') {
      const dir = path.resolve(s.path);
      return { type: 'dir', dir, where: `storage ${name} (${dir})` };
    }
    const { type: _t, bucket, prefix: rawPrefix, conditionalWrites, partSizeMiB, ...conn } = s;
    const prefix = normalizePrefix(rawPrefix);
    const client = openBucket(
      { ...conn, ...(partSizeMiB ? { partSize: partSizeMiB * 1024 * 1024 } : {}) },
      bucket,
      { conditionalWrites },
    );
    return { type: 's3', client, prefix, where: `storage ${name} (${s3Location(bucket, prefix)})` };
  }
  if (opts.to.startsWith('s3://')) {
    const { bucket, prefix } = parseS3Url(opts.to);
    const where = s3Location(bucket, prefix);
    // The job's own connection to the source's server when the config names the source, else the AWS_* variables.
    const configured = bucketSourceSchema.safeParse(opts.config);
    if (configured.success)
      return { type: 's3', client: openBucket(connectionOf(configured.data), bucket), prefix, where };
    const env = s3OptionsFromUrl(opts.to, process.env);
    const endpoint = env.endpoint ?? part.source.endpoint;
    const client = openBucket(
      { endpoint, region: env.region, forcePathStyle: endpoint !== undefined },
      bucket,
    );
    return { type: 's3', client, prefix, where };
  }
  const dir = path.resolve(opts.to);
  return { type: 'dir', dir, where: dir };
}
