/**
 * The one retry loop: runs an attempt until it succeeds, fails for good, or the policy's attempts
 * run out, waiting the policy's backoff (./backoff.ts) between attempts. Callers say which failures
 * are worth another attempt: a notifier's LifeboatErrors that say so, an S3 part's transient errors.
 */
import { retryDelay, type RetryPolicy } from './backoff.js';
import { sleep } from './sleep.js';

export interface RetryLoop {
  policy: RetryPolicy;
  /** Whether a failure is worth another attempt. */
  retryable: (err: unknown) => boolean;
  /** Stops the waiting (the wait rejects with its reason), and the retrying after an abort. */
  signal?: AbortSignal;
  /** Before each wait: the failed attempt (1-based), its error and the wait. */
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
}

/** Runs `attempt` (given its 1-based number) as `loop` says; rejects with the last error. */
export async function retrying<T>(attempt: (n: number) => Promise<T>, loop: RetryLoop): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= loop.policy.maxAttempts || !loop.retryable(err) || loop.signal?.aborted) throw err;
      const delay = retryDelay(loop.policy, n - 1);
      loop.onRetry?.(n, err, delay);
      await sleep(delay, loop.signal);
    }
  }
}
