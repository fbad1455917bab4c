/**
 * Sends one alert to every notifier that wants its kind, all at once, each retried with backoff
 * while it cannot be reached (retry.ts). It never throws: an alert that cannot be delivered is
 * logged (one line, no URL) and reported back, and the run or the service goes on.
 */
import type { RetryPolicy } from '../util/backoff.js';
import { oneLine } from '../util/errors.js';
import { withRetry } from './retry.js';
import type { Alert, Notifier } from './types.js';

export interface DeliveryResult {
  notifier: string;
  ok: boolean;
  error?: string;
}

export interface DispatchOptions {
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Default NOTIFY_RETRY. */
  retry?: RetryPolicy;
}

export async function dispatchAlert(
  alert: Alert,
  notifiers: readonly Notifier[],
  opts: DispatchOptions = {},
): Promise<DeliveryResult[]> {
  const wanted = notifiers.filter((n) => n.on.has(alert.kind));
  const what = `alert ${alert.kind} for job ${alert.job}`;
  return Promise.all(
    wanted.map(async (n): Promise<DeliveryResult> => {
      try {
        await withRetry(() => n.send(alert, opts.signal), {
          policy: opts.retry,
          signal: opts.signal,
          onRetry: (attempt, err, ms) =>
            safeLog(
              opts.log,
              `${what} not sent yet (attempt ${attempt}, again in ${Math.ceil(ms / 1000)}s): ${oneLine(err)}`,
            ),
        });
        return { notifier: n.name, ok: true };
      } catch (err) {
        const error = oneLine(err);
        safeLog(opts.log, `${what} not sent: ${error}`);
        return { notifier: n.name, ok: false, error };
      }
    }),
  );
}

/** A broken logger must not turn a lost alert into a crash. */
export function safeLog(log: ((line: string) => void) | undefined, line: string): void {
  try {
    log?.(line);
  } catch {
    // nothing left to tell
  }
}
