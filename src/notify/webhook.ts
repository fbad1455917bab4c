/**
 * The generic webhook target: POSTs each alert as JSON
 * `{kind, job, summary, since, error, at, text}`, where `text` is the human-readable form.
 */
import type { Alert, AlertKind, Notifier } from './types.js';
import { alertText } from './format.js';
import { postJson } from './http-post.js';

export const ALL_ALERT_KINDS: readonly AlertKind[] = ['failure', 'drill-failure', 'stale', 'recovery'];

export interface WebhookTarget {
  url: string;
  /** Shown in logs and errors instead of the URL, which may carry a secret. */
  name: string;
  on?: readonly AlertKind[];
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The JSON body; absent fields are null so receivers see a fixed shape. */
export function webhookBody(alert: Alert) {
  return {
    kind: alert.kind,
    job: alert.job,
    summary: alert.summary,
    since: alert.since ?? null,
    error: alert.error ?? null,
    at: alert.at,
    text: alertText(alert),
  };
}

/** A notifier that POSTs `body(alert)` as JSON to the target; Slack differs only in the body. */
export function createJsonPostNotifier(target: WebhookTarget, body: (alert: Alert) => unknown): Notifier {
  return {
    name: target.name,
    on: new Set(target.on ?? ALL_ALERT_KINDS),
    send: (alert, signal) =>
      postJson(target.url, body(alert), {
        name: target.name,
        timeoutMs: target.timeoutMs ?? 10_000,
        signal,
        fetch: target.fetch,
      }),
  };
}

export function createWebhookNotifier(target: WebhookTarget): Notifier {
  return createJsonPostNotifier(target, webhookBody);
}
