/**
 * Delivery with backoff: a notifier that cannot be reached (connection refused, a timeout, a 5xx
 * or 429) is tried again with the one retry policy (util/backoff.ts), and given up on after the
 * last attempt. A refusal that will not change (a 4xx) is not retried. Never longer than the
 * policy allows: a run's exit, or serve's stop, waits for it.
 */
import { isRetryable, type RetryPolicy } from '../util/backoff.js';
import { retrying } from '../util/retrying.js';

/** About 1 + 2 + 4 s between four attempts: a blip passes, an outage does not hold a run long. */
export const NOTIFY_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 15_000 };

export interface RetryOptions {
  policy?: RetryPolicy;
  signal?: AbortSignal;
  /** Before each wait: the failed attempt (1-based), its error and the wait. */
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
}

/** Runs `send` until it succeeds, fails for good, or the attempts run out; rejects with the last error. */
export function withRetry(send: () => Promise<void>, opts: RetryOptions = {}): Promise<void> {
  const { policy = NOTIFY_RETRY, signal, onRetry } = opts;
  return retrying(() => send(), { policy, retryable: isRetryable, signal, onRetry });
}
