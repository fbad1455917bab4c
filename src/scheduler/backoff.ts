/**
 * Retry policy of scheduled runs: which failures are worth another attempt, and how long to wait
 * before it. Pure; the random source is passed in so tests pin the jitter.
 */

export interface RetryPolicy {
  /** Attempts in all, the first one included; 1 means never retry. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const NO_RETRY: RetryPolicy = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

/**
 * Only errors that say so are retried (LifeboatError's `retryable`: network blips, throttling). A
 * failed dump or a checksum mismatch fails the same way the second time, so retrying it would only
 * delay the alert.
 */
export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}

/**
 * The wait after failed attempt number `attempt` (1-based): exponential, capped, with "equal
 * jitter" — half fixed, half random — so jobs that failed together (one storage outage) do not all
 * come back in the same second, yet every wait is at least half the nominal one.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(nominal / 2 + (random() * nominal) / 2);
}
