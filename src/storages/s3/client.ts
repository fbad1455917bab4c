/**
 * Builds the S3 client one S3 storage uses: endpoint and addressing, credentials (from the config,
 * else the SDK's default chain: environment, profile, instance role), checksum modes, the retry
 * policy, and the stall watchdog.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { RetryPolicy } from '../../util/backoff.js';
import { createRetryStrategy } from './retry.js';

export type ChecksumMode = 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';

export interface S3ClientOptions {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  /**
   * WHEN_REQUIRED by default: with the SDK's WHEN_SUPPORTED, every upload is sent aws-chunked with
   * a trailing CRC, which Ceph radosgw (411) and other S3-compatible servers refuse. Lifeboat sends
   * Content-MD5 on every upload instead, which all of them check.
   */
  requestChecksumCalculation: ChecksumMode;
  responseChecksumValidation: ChecksumMode;
  /** A request that moves no bytes for this long is dropped and retried (the stall watchdog). */
  stallTimeoutSeconds: number;
  retry: RetryPolicy;
}

export function createS3Client(opts: S3ClientOptions): S3Client {
  // The SDK warns on stderr at first use that its 2027 releases will need Node 22. Lifeboat pins
  // a release that supports Node 20, so the warning would only be noise in every backup's log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const stallMs = opts.stallTimeoutSeconds * 1000;
  const client = new S3Client({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    forcePathStyle: opts.forcePathStyle,
    ...(opts.accessKeyId && opts.secretAccessKey
      ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } }
      : {}),
    requestChecksumCalculation: opts.requestChecksumCalculation,
    responseChecksumValidation: opts.responseChecksumValidation,
    maxAttempts: opts.retry.maxAttempts,
    retryStrategy: createRetryStrategy(opts.retry),
    // socketTimeout is an idle timer on the socket: it fires when no byte has moved either way for
    // that long, mid-upload or mid-download, which is the stall watchdog; it is not a cap on how
    // long a large transfer may take. The overall deadline is the caller's AbortSignal.
    requestHandler: { connectionTimeout: stallMs, socketTimeout: stallMs },
    // Silent, as the SDK's default logger is, but for one path: when a request whose body is a
    // stream fails, the SDK, which cannot retry it, says so on the console unless a logger is
    // set. Parts sent from a file are such requests, and file-parts.ts retries them itself.
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  client.middlewareStack.add(
    (next) => (args) => {
      unsignedWhenChecked(args.request);
      return next(args);
    },
    { step: 'build', name: 'lifeboatUnsignedPayload' },
  );
  return client;
}

/**
 * A request whose body the server checks against its Content-MD5 (every upload Lifeboat sends)
 * goes with an unsigned payload: without this the SDK hashes every body it is handed as a buffer
 * once more for the signature, CPU spent on bytes the server checks anyway (a bucket backup,
 * which hashes and compresses every object too, is CPU-bound). The headers stay signed,
 * Content-MD5 among them.
 */
function unsignedWhenChecked(request: unknown): void {
  const headers = (request as { headers?: Record<string, string> } | undefined)?.headers;
  if (headers && Object.keys(headers).some((h) => h.toLowerCase() === 'content-md5'))
    headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
}
