/**
 * Every alert target runs the shared notifier conformance suite (test/helpers/notifier-conformance.ts):
 * the generic webhook and the Slack-style one against a local HTTP receiver, e-mail against a local
 * SMTP sink.
 */
import { createEmailNotifier } from '../src/notify/email.js';
import { createSlackNotifier } from '../src/notify/slack.js';
import { createWebhookNotifier, type WebhookTarget } from '../src/notify/webhook.js';
import {
  notifierConformance,
  type NotifierReceiver,
  type NotifierTarget,
} from './helpers/notifier-conformance.js';
import { startSmtpSink } from './helpers/smtp-sink.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';

/** The webhook kinds keep their secret in the URL's path, as Slack's incoming webhooks do. */
const postTarget = (t: NotifierTarget): WebhookTarget => ({
  name: t.name,
  url: `http://127.0.0.1:${t.port}/hooks/${t.secret ?? 'open'}`,
  on: t.on,
  timeoutMs: t.timeoutMs,
});

async function httpReceiver(): Promise<NotifierReceiver> {
  const hook = await startWebhookReceiver();
  return {
    port: Number(new URL(hook.url()).port),
    next: async () => JSON.stringify((await hook.next()).body),
    count: () => hook.received.length,
    close: () => hook.close(),
  };
}

notifierConformance('webhook', {
  create: (t) => createWebhookNotifier(postTarget(t)),
  receive: httpReceiver,
});

notifierConformance('slack', {
  create: (t) => createSlackNotifier(postTarget(t)),
  receive: httpReceiver,
});

/** The message as readable text: nodemailer sends long lines quoted-printable. */
function quotedPrintable(raw: string): string {
  const bytes = raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

notifierConformance('email', {
  // The secret is the SMTP password; the sink takes mail without AUTH, so only failing sends carry one.
  create: (t) =>
    createEmailNotifier({
      name: t.name,
      host: '127.0.0.1',
      port: t.port,
      secure: false,
      ...(t.secret !== undefined && { user: 'lifeboat', password: t.secret }),
      from: 'lifeboat@example.com',
      to: ['ops@example.com'],
      on: t.on,
      timeoutMs: t.timeoutMs,
    }),
  receive: async () => {
    const sink = await startSmtpSink();
    return {
      port: sink.port,
      next: async () => quotedPrintable((await sink.next()).raw),
      count: () => sink.messages.length,
      close: () => sink.close(),
    };
  },
});
