/**
 * The e-mail target: one plain-text message per alert over SMTP (nodemailer). A transport is made
 * per alert and closed after it: alerts are rare, and a pooled connection would only go stale.
 */
import { LifeboatError, oneLine } from '../util/errors.js';
import type { AlertKind, Notifier } from './types.js';
import { alertSubject, alertText } from './format.js';
import { ALL_ALERT_KINDS } from './webhook.js';

export interface EmailTarget {
  /** Shown in logs and errors. */
  name: string;
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it. */
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
  to: string[];
  on?: readonly AlertKind[];
  timeoutMs?: number;
}

export function createEmailNotifier(target: EmailTarget): Notifier {
  const timeoutMs = target.timeoutMs ?? 10_000;
  return {
    name: target.name,
    on: new Set(target.on ?? ALL_ALERT_KINDS),
    async send(alert, signal) {
      // Loaded when an alert is sent: every run builds its notifiers, and nodemailer (~40 modules)
      // was a tenth of a backup's start-up.
      const { default: nodemailer } = await import('nodemailer');
      const transport = nodemailer.createTransport({
        host: target.host,
        port: target.port,
        secure: target.secure,
        ...(target.user !== undefined && { auth: { user: target.user, pass: target.password ?? '' } }),
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
      });
      const fail = (reason: string) =>
        new LifeboatError('unreachable', `send alert via ${target.name}: ${reason}`, { retryable: true });
      let onAbort = () => {};
      let timer: NodeJS.Timeout | undefined;
      try {
        // nodemailer takes no AbortSignal; closing the transport is how a send is cut short.
        const stopped = new Promise<never>((_, reject) => {
          onAbort = () => reject(fail('aborted'));
          if (signal?.aborted) onAbort();
          signal?.addEventListener('abort', onAbort, { once: true });
          timer = setTimeout(() => reject(fail(`timed out after ${timeoutMs} ms`)), timeoutMs);
        });
        const sent = transport.sendMail({
          from: target.from,
          to: target.to,
          subject: alertSubject(alert),
          text: alertText(alert),
        });
        sent.catch(() => {}); // when `stopped` wins, this one still settles; nobody awaits it
        await Promise.race([sent, stopped]);
      } catch (err) {
        if (err instanceof LifeboatError) throw err;
        const code = (err as { code?: unknown }).code;
        // nodemailer's messages name the server's reply (e.g. "Invalid login: 535 …"), never the password.
        throw fail(
          typeof code === 'string' ? `${code} ${oneLine(err).slice(0, 160)}` : oneLine(err).slice(0, 160),
        );
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        transport.close();
      }
    },
  };
}
