/**
 * A local webhook receiver for alert tests: an HTTP server on 127.0.0.1 with a random port that
 * records every request (path, headers, parsed JSON body) and answers with a chosen status.
 *
 *   const hook = await startWebhookReceiver();
 *   … hook.url('/services/T0/B0/secret') …
 *   const req = await hook.next();
 *   await hook.close();
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface WebhookReceiver {
  url(path?: string): string;
  received: ReceivedRequest[];
  /** Resolves with the next request not yet taken by next() (waits up to 5 s). */
  next(): Promise<ReceivedRequest>;
  /** Status for the following requests (default 200). */
  respondWith(status: number, body?: string): void;
  /** Delay before answering, to test timeouts. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const waiters: Array<(r: ReceivedRequest) => void> = [];
  let taken = 0;
  let status = 200;
  let reply = 'ok';
  const timers = new Set<NodeJS.Timeout>(); // delayed answers, cleared on close so the test can exit
  const receiver: WebhookReceiver = {
    url: (p = '/hook') => `http://127.0.0.1:${(server.address() as AddressInfo).port}${p}`,
    received,
    delayMs: 0,
    next() {
      const ready = received[taken];
      if (ready) {
        taken++;
        return Promise.resolve(ready);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('webhook receiver: no request within 5 s')), 5000);
        waiters.push((r) => {
          clearTimeout(timer);
          taken++;
          resolve(r);
        });
      });
    },
    respondWith(s, b = s < 300 ? 'ok' : 'no_service') {
      status = s;
      reply = b;
    },
    close: () =>
      new Promise((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      const record = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      received.push(record);
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(reply);
        waiters.shift()?.(record);
      }, receiver.delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return receiver;
}
