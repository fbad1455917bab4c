/**
 * Turns the config's `notify:` list into Notifiers. Each target is named by its position and host —
 * "webhook #1 (hooks.slack.com)" — because the URL itself may hold a secret and must never reach a
 * log line; the URLs and SMTP passwords are also registered with the redactor when one is given.
 */
import type { NotifyConfig } from '../config/notify.js';
import type { Redactor } from '../util/redact.js';
import type { Notifier } from './types.js';
import { createEmailNotifier } from './email.js';
import { createSlackNotifier } from './slack.js';
import { createWebhookNotifier } from './webhook.js';
import { createPinger, type Pinger } from './ping.js';

export interface BuildNotifiersOptions {
  redactor?: Redactor;
  /** Injectable for tests. */
  fetch?: typeof fetch;
}

export function buildNotifiers(
  targets: readonly NotifyConfig[] | undefined,
  opts: BuildNotifiersOptions = {},
): Notifier[] {
  return (targets ?? []).flatMap((target, i) => {
    if (target.type === 'ping') return [];
    const timeoutMs = target.timeoutSeconds * 1000;
    if (target.type === 'email') {
      opts.redactor?.add(target.password);
      return createEmailNotifier({
        name: `email #${i + 1} (${target.host})`,
        host: target.host,
        port: target.port,
        secure: target.secure,
        user: target.user,
        password: target.password,
        from: target.from,
        to: target.to,
        on: target.on,
        timeoutMs,
      });
    }
    opts.redactor?.add(target.url);
    const common = {
      name: `${target.type} #${i + 1} (${hostOf(target.url)})`,
      url: target.url,
      on: target.on,
      timeoutMs,
      fetch: opts.fetch,
    };
    return target.type === 'slack' ? createSlackNotifier(common) : createWebhookNotifier(common);
  });
}

/** The config's `ping` targets, named like the alert targets ("ping #3 (hc-ping.com)"). */
export function buildPingers(
  targets: readonly NotifyConfig[] | undefined,
  opts: BuildNotifiersOptions = {},
): Pinger[] {
  return (targets ?? []).flatMap((target, i) => {
    if (target.type !== 'ping') return [];
    // With {job}, what is sent is never the URL as written: its part before {job} holds the key.
    opts.redactor?.add(target.url.split('{job}')[0]);
    return [createPinger(target, `ping #${i + 1} (${hostOf(target.url)})`, { fetch: opts.fetch })];
  });
}

/** The host (and port) only: never the user info, path or query, where secrets live. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid URL';
  }
}
