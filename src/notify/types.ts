/** Alerts, and the notifiers that deliver them (webhook, Slack, email). */

export type AlertKind = 'failure' | 'drill-failure' | 'stale' | 'recovery';

/** One alert: which job, what failed, since when, and the error line. Never a secret. */
export interface Alert {
  kind: AlertKind;
  job: string;
  /** e.g. "backup failed", "drill failed: smoke FAILED: users present", "no successful backup for 2d3h". */
  summary: string;
  /** When the problem started (first failure, last success for stale). ISO 8601. */
  since?: string;
  error?: string;
  at: string;
}

export interface Notifier {
  readonly name: string;
  /** Which alert kinds this target wants (config `on:`). */
  readonly on: ReadonlySet<AlertKind>;
  send(alert: Alert, signal?: AbortSignal): Promise<void>;
}
