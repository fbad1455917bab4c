/**
 * The one retry policy: how many attempts, and how long to wait before each retry (exponential
 * backoff with jitter, so many clients hit by one blip do not retry in step). Storage requests
 * (S3) and scheduled runs both use it. Pure; the random source is injectable so tests pin the jitter.
 */

export interface RetryPolicy {
  /** Attempts in all, the first one included; 1 means never retry. */
  maxAttempts: number;
  /** The first retry waits about this long; each further one twice as long … */
  baseDelayMs: number;
  /** … up to this. */
  maxDelayMs: number;
}

export const NO_RETRY: RetryPolicy = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

/**
 * The wait before retry number `retry` (0 = the first retry): exponential, capped, with "equal
 * jitter" — half fixed, half random — so waits grow exponentially but never collapse to zero and
 * hammer a throttling server, and jobs that failed together (one storage outage) do not all come
 * back in the same second.
 */
export function retryDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Only errors that say so are retried (LifeboatError's `retryable`: network blips, throttling). A
 * failed dump or a checksum mismatch fails the same way the second time, so retrying it would only
 * delay the alert.
 */
export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}
