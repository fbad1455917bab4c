/**
 * The connection fields of anything Lifeboat reads or writes in S3: an `s3` storage and a `bucket`
 * source take the same ones (endpoint, region, addressing, credentials, checksum modes, part size,
 * stall watchdog, attempts). Zod only: config validation must not load the AWS SDK (see lazy.ts).
 */
import { z } from 'zod';

/** One timer in Node holds at most 2^31-1 ms (about 24.8 days); a longer value would mean "now". */
const TIMER_MAX_SECONDS = 24 * 24 * 3600;

export const s3ConnectionShape = {
  endpoint: z.url({ error: 'expected a URL like http://minio:9000' }).optional(),
  region: z.string().default('us-east-1'),
  forcePathStyle: z.boolean().default(false),
  accessKeyId: z.string().optional(),
  secretAccessKey: z.string().optional(),
  // Tuning; unset means the S3 storage's own default (README "S3 storage").
  /** WHEN_REQUIRED (the default) works with S3-compatible servers (radosgw …); see client.ts. */
  requestChecksumCalculation: z.enum(['WHEN_REQUIRED', 'WHEN_SUPPORTED']).optional(),
  responseChecksumValidation: z.enum(['WHEN_REQUIRED', 'WHEN_SUPPORTED']).optional(),
  /** Size of the first 1,000 parts of a multipart upload (default 8); later parts grow. */
  partSizeMiB: z.number().int('expected a whole number').min(5, 'expected 5 or more').max(5120).optional(),
  stallTimeoutSeconds: z
    .number()
    .positive('expected a number of seconds above 0')
    .max(TIMER_MAX_SECONDS, `expected at most ${TIMER_MAX_SECONDS} seconds (24 days)`)
    .optional(),
  maxAttempts: z.number().int('expected a whole number').min(1, 'expected 1 or more').max(50).optional(),
};
