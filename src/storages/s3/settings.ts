/**
 * The connection of anything Lifeboat reads or writes in S3 (an `s3` storage, a `bucket` source):
 * the fields of fields.ts turned into a client with its retries, stall watchdog and part size.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { RetryPolicy } from '../../util/backoff.js';
import { createS3Client, type ChecksumMode } from './client.js';
import { MIN_PART_SIZE } from './parts.js';
import { DEFAULT_RETRY } from './retry.js';
import { printableEndpoint } from './url.js';

export interface S3ConnectionOptions {
  /** Omit for AWS. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** Both or neither; neither uses the SDK's default chain (AWS_* variables, profile, role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  requestChecksumCalculation?: ChecksumMode;
  responseChecksumValidation?: ChecksumMode;
  /** Bytes in each of the first 1,000 parts of a multipart upload (≥ 5 MiB); default 8 MiB. */
  partSize?: number;
  /** No bytes moved for this long aborts the request and retries it; default 60. */
  stallTimeoutSeconds?: number;
  /** Attempts per request, the first included; default 8. */
  maxAttempts?: number;
  /** Backoff between attempts (tests shorten it). */
  retry?: Partial<Omit<RetryPolicy, 'maxAttempts'>>;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_STALL_TIMEOUT_SECONDS = 60;

export interface S3Connection {
  client: S3Client;
  retry: RetryPolicy;
  partSize: number;
  stallTimeoutSeconds: number;
  /** The endpoint fit to print, or undefined for AWS. */
  endpoint?: string;
}

/** The client and the settings around it (retries, stall watchdog, part size) for `opts`. */
export function connectS3(opts: S3ConnectionOptions): S3Connection {
  const stallTimeoutSeconds = opts.stallTimeoutSeconds ?? DEFAULT_STALL_TIMEOUT_SECONDS;
  const retry: RetryPolicy = {
    ...DEFAULT_RETRY,
    ...opts.retry,
    maxAttempts: opts.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
  };
  return {
    client: createS3Client({
      endpoint: opts.endpoint,
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      accessKeyId: opts.accessKeyId,
      secretAccessKey: opts.secretAccessKey,
      requestChecksumCalculation: opts.requestChecksumCalculation ?? 'WHEN_REQUIRED',
      responseChecksumValidation: opts.responseChecksumValidation ?? 'WHEN_REQUIRED',
      stallTimeoutSeconds,
      retry,
    }),
    retry,
    partSize: Math.max(MIN_PART_SIZE, opts.partSize ?? DEFAULT_PART_SIZE),
    stallTimeoutSeconds,
    endpoint: opts.endpoint ? printableEndpoint(opts.endpoint) : undefined,
  };
}
