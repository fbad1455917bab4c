/**
 * Sends one alert to every notifier that wants its kind, all at once. It never throws: an alert
 * that cannot be delivered is logged (one line, no URL) and reported back, and the service goes on.
 */
import { oneLine } from '../util/errors.js';
import type { Alert, Notifier } from './types.js';

export interface DeliveryResult {
  notifier: string;
  ok: boolean;
  error?: string;
}

export interface DispatchOptions {
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export async function dispatchAlert(
  alert: Alert,
  notifiers: readonly Notifier[],
  opts: DispatchOptions = {},
): Promise<DeliveryResult[]> {
  const wanted = notifiers.filter((n) => n.on.has(alert.kind));
  return Promise.all(
    wanted.map(async (n): Promise<DeliveryResult> => {
      try {
        await n.send(alert, opts.signal);
        return { notifier: n.name, ok: true };
      } catch (err) {
        const error = oneLine(err);
        try {
          opts.log?.(`alert ${alert.kind} for job ${alert.job} not sent: ${error}`);
        } catch {
          // a broken logger must not turn a lost alert into a crash
        }
        return { notifier: n.name, ok: false, error };
      }
    }),
  );
}
