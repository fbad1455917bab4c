/**
 * The Slack-compatible target: an incoming-webhook POST of `{"text": …}`, which Slack, Mattermost,
 * Rocket.Chat and Discord's /slack endpoint all accept. The first line is bold in Slack markup.
 */
import type { Alert, Notifier } from './types.js';
import { alertSubject, alertText } from './format.js';
import { createJsonPostNotifier, type WebhookTarget } from './webhook.js';

export function slackBody(alert: Alert): { text: string } {
  const subject = alertSubject(alert);
  const rest = alertText(alert).slice(subject.length);
  return { text: `*${subject}*${rest}` };
}

export function createSlackNotifier(target: WebhookTarget): Notifier {
  return createJsonPostNotifier(target, slackBody);
}
