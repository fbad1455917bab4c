/**
 * A conformance suite for the Notifier interface (src/notify/): every alert target (webhook, Slack,
 * e-mail) must behave the same way towards the alert layer:
 *
 *   notifierConformance('webhook', { create, receive });
 *
 * `create` makes a notifier of the kind that sends to 127.0.0.1:`port`, keeping `secret` where the
 * kind keeps one (a URL path, an SMTP password); `receive` starts a working receiver for the kind
 * whose `next()` resolves with the next delivered message as text. The failure cases use targets
 * that need no kind-specific server: a closed port, and a server that accepts and never answers.
 */
import net from 'node:net';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import type { Alert, AlertKind, Notifier } from '../../src/notify/types.js';
import { LifeboatError } from '../../src/util/errors.js';

export interface NotifierTarget {
  name: string;
  port: number;
  secret?: string;
  on?: readonly AlertKind[];
  timeoutMs?: number;
}

export interface NotifierReceiver {
  port: number;
  /** The next delivered message, as text (a JSON body, a raw e-mail). */
  next(): Promise<string>;
  /** How many messages arrived so far. */
  count(): number;
  close(): Promise<void>;
}

export interface NotifierKind {
  create(target: NotifierTarget): Notifier;
  receive(): Promise<NotifierReceiver>;
}

const ALL_KINDS: AlertKind[] = ['failure', 'drill-failure', 'stale', 'recovery'];
const SECRET = 's3cr3t-Notifier-TOKEN';

const alert: Alert = {
  kind: 'drill-failure',
  job: 'billing',
  summary: 'drill failed: smoke FAILED: invoices present',
  since: '2026-05-01T02:30:00.000Z',
  error: 'check invoices present: got 0, expected >= 1',
  at: '2026-05-01T02:31:00.000Z',
};

/** A port nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A server that accepts connections and never says a word (no HTTP reply, no SMTP greeting). */
async function silentServer() {
  const sockets = new Set<net.Socket>();
  let connected: () => void = () => {};
  const firstConnection = new Promise<void>((resolve) => (connected = resolve));
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    connected();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    firstConnection,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The error a failed send must give: a one-line LifeboatError naming the target, never its secret. */
function assertSendError(err: unknown, name: string, reason: RegExp): true {
  assert.ok(err instanceof LifeboatError, `expected a LifeboatError, got ${String(err)}`);
  assert.equal(err.code, 'unreachable');
  assert.ok(err.message.startsWith(`send alert via ${name}: `), err.message);
  assert.match(err.message.slice(`send alert via ${name}: `.length), reason);
  assert.ok(!err.message.includes('\n'), 'one line');
  assert.ok(!err.message.includes(SECRET), `no secret in: ${err.message}`);
  return true;
}

export function notifierConformance(kind: string, impl: NotifierKind): void {
  describe(`notifier conformance: ${kind}`, () => {
    test('its name is the configured one, and it wants every alert kind unless told which', () => {
      const all = impl.create({ name: `${kind} #1 (127.0.0.1)`, port: 1 });
      assert.equal(all.name, `${kind} #1 (127.0.0.1)`);
      assert.deepEqual([...all.on].sort(), [...ALL_KINDS].sort());
      const some = impl.create({ name: `${kind} #2`, port: 1, on: ['recovery', 'stale'] });
      assert.deepEqual([...some.on].sort(), ['recovery', 'stale']);
    });

    test('a send delivers one message naming the job, the summary and the error', async () => {
      const receiver = await impl.receive();
      try {
        const notifier = impl.create({ name: `${kind} #1`, port: receiver.port });
        await notifier.send(alert);
        const text = await receiver.next();
        for (const part of [alert.job, alert.summary, alert.error!]) {
          assert.ok(text.includes(part), `"${part}" in the delivered message:\n${text}`);
        }
        assert.equal(receiver.count(), 1);
      } finally {
        await receiver.close();
      }
    });

    test('an unreachable target: the send rejects with one line naming the target, no secret', async () => {
      const name = `${kind} #3 (127.0.0.1)`;
      const notifier = impl.create({ name, port: await closedPort(), secret: SECRET });
      await assert.rejects(notifier.send(alert), (err) => assertSendError(err, name, /ECONNREFUSED/));
    });

    test('a target that never answers is cut off by the timeout', async () => {
      const silent = await silentServer();
      try {
        const name = `${kind} #4`;
        const notifier = impl.create({ name, port: silent.port, secret: SECRET, timeoutMs: 300 });
        await assert.rejects(notifier.send(alert), (err) =>
          assertSendError(err, name, /^timed out after 300 ms$/),
        );
      } finally {
        await silent.close();
      }
    });

    test('a send whose signal aborts mid-way rejects with "aborted"', async () => {
      const silent = await silentServer();
      try {
        const name = `${kind} #5`;
        const notifier = impl.create({ name, port: silent.port, secret: SECRET, timeoutMs: 60_000 });
        const controller = new AbortController();
        const sending = notifier.send(alert, controller.signal);
        await silent.firstConnection; // the send is under way
        controller.abort(new Error('stopping'));
        await assert.rejects(sending, (err) => assertSendError(err, name, /^aborted$/));
      } finally {
        await silent.close();
      }
    });
  });
}
