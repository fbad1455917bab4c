/**
 * A local SMTP sink for alert tests (the smtp-server package): listens on 127.0.0.1 with a random
 * port, without auth or TLS, and keeps every message it is given (envelope and raw text).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface SunkMessage {
  from: string;
  to: string[];
  raw: string;
  /** The Subject header, unfolded. */
  subject: string;
}

export interface SmtpSink {
  port: number;
  messages: SunkMessage[];
  /** Resolves with the next message not yet taken (waits up to 5 s). */
  next(): Promise<SunkMessage>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: SunkMessage[] = [];
  const waiters: Array<() => void> = [];
  let taken = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const subject = /^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(raw)?.[1]?.replace(/\r?\n[ \t]/g, ' ') ?? '';
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        messages.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw, subject });
        waiters.shift()?.();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    messages,
    next() {
      return new Promise((resolve, reject) => {
        const take = () => {
          const m = messages[taken];
          if (!m) return false;
          taken++;
          resolve(m);
          return true;
        };
        if (take()) return;
        const timer = setTimeout(() => reject(new Error('smtp sink: no message within 5 s')), 5000);
        waiters.push(() => {
          clearTimeout(timer);
          take();
        });
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
