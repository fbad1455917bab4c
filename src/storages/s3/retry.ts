/**
 * Retrying for remote storages: which failures are worth another attempt, with the waits of
 * ../../util/backoff.ts.
 *
 * The S3 client gets it as its retry strategy, so every request (one UploadPart, one HeadObject …)
 * is retried on its own without restarting a whole upload; reads that fail midway resume through
 * `retryDelay` in read.ts.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { retryDelay, type RetryPolicy } from '../../util/backoff.js';

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 250, maxDelayMs: 20_000 };

type RetryStrategy = Exclude<NonNullable<S3ClientConfig['retryStrategy']>, { retry: unknown }>;
type RetryToken = Awaited<ReturnType<RetryStrategy['acquireInitialRetryToken']>>;

function token(retryCount: number, delay: number): RetryToken {
  return { getRetryCount: () => retryCount, getRetryDelay: () => delay };
}

/**
 * An SDK retry strategy for `policy`. It retries what the SDK classifies as transient (500, 502,
 * 503, 504, resets, timeouts, a corrected clock skew) or throttling (SlowDown, 429), never client
 * errors. Unlike the SDK's standard strategy it has no shared retry budget: on a flaky link a long
 * upload must keep retrying each part rather than give up once a process-wide quota is spent.
 * The SDK's retry middleware does the waiting (and stops waiting when the request's signal aborts).
 */
export function createRetryStrategy(policy: RetryPolicy): RetryStrategy {
  return {
    async acquireInitialRetryToken() {
      return token(0, 0);
    },
    async refreshRetryTokenForRetry(previous, info) {
      const retries = previous.getRetryCount();
      const retryable = info.errorType === 'TRANSIENT' || info.errorType === 'THROTTLING';
      if (!retryable || retries + 1 >= policy.maxAttempts) {
        throw new Error('no retry');
      }
      let delay = retryDelay(policy, retries);
      // A server that says when to come back (Retry-After on 503 SlowDown) gets at least that long.
      if (info.retryAfterHint) {
        delay = Math.max(delay, Math.min(policy.maxDelayMs, info.retryAfterHint.getTime() - Date.now()));
      }
      return token(retries + 1, delay);
    },
    recordSuccess() {},
  };
}
