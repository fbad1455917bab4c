/**
 * Retry policy for remote storages: which failures are worth another attempt, and how long to wait
 * before it (exponential backoff with jitter, so many clients hit by one blip do not retry in step).
 *
 * The S3 client gets it as its retry strategy, so every request (one UploadPart, one HeadObject …)
 * is retried on its own without restarting a whole upload; reads that fail midway resume through
 * `retryDelay` in s3-read.ts.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** The first retry waits about this long; each further one twice as long … */
  baseDelayMs: number;
  /** … up to this. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 250, maxDelayMs: 20_000 };

/**
 * The wait before retry number `retry` (0 = the first retry): "equal jitter", half fixed and half
 * random, so waits grow exponentially but never collapse to zero and hammer a throttling server.
 * `random` is injectable for tests.
 */
export function retryDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

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

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
