/**
 * Test helper: an HTTP proxy between Lifeboat and the S3 server that injects the failures real
 * networks and real S3 produce: 500 InternalError, 503 SlowDown, a connection reset in the middle
 * of a request or response body, a stall (the connection stays open, no byte moves), and the 403s
 * a server gives for a skewed clock or a missing permission.
 *
 * The client is pointed at the proxy's URL (path-style), so it signs for the proxy's host:port and
 * the proxy forwards the Host header unchanged: the server checks the signature against the same
 * Host the client signed. Faults hit a fraction of the matching requests (seeded, so a failing run
 * can be repeated) or all of them ("permanent").
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mulberry32 } from './prng.js';

export type Fault = 'error500' | 'slowdown503' | 'reset' | 'stall' | 'skew403' | 'denied403';

export interface RequestInfo {
  method: string;
  /** Path and query, e.g. /bucket/key?partNumber=2&uploadId=… */
  url: string;
}

export interface FaultPlan {
  /** Fraction of matching requests that get a fault (ignored when permanent). */
  rate?: number;
  /** Every matching request gets a fault. */
  permanent?: boolean;
  /** Faults to pick from, in turn. */
  faults: Fault[];
  /** Which requests may be hit; all by default. */
  match?: (req: RequestInfo) => boolean;
}

export interface FaultProxy {
  endpoint: string;
  /** Replaces the plan; `undefined` passes everything through. */
  plan(plan: FaultPlan | undefined): void;
  readonly stats: { requests: number; faults: Record<Fault, number> };
  close(): Promise<void>;
}

export const isUploadPart = (r: RequestInfo) => r.method === 'PUT' && /[?&]partNumber=/.test(r.url);

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;

export async function startFaultProxy(target: string, opts: { seed?: number } = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  const random = mulberry32(opts.seed ?? 42);
  let current: FaultPlan | undefined;
  let turn = 0;
  const stats = {
    requests: 0,
    faults: { error500: 0, slowdown503: 0, reset: 0, stall: 0, skew403: 0, denied403: 0 } as Record<
      Fault,
      number
    >,
  };
  const sockets = new Set<import('node:net').Socket>();

  const pick = (req: RequestInfo): Fault | undefined => {
    const p = current;
    if (!p || p.faults.length === 0 || (p.match && !p.match(req))) return undefined;
    if (!p.permanent && random() >= (p.rate ?? 0)) return undefined;
    return p.faults[turn++ % p.faults.length];
  };

  /** Answers with an S3 error after reading the whole request body, as a real server would. */
  const answer = (req: http.IncomingMessage, res: http.ServerResponse, status: number, xml: string) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
      res.end(xml);
    });
  };

  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    onResponse?: (up: http.IncomingMessage) => void,
  ) => {
    const headers = { ...req.headers };
    // The proxy answers 100-continue itself (Node's server does); the server gets a plain request.
    delete headers.expect;
    const up = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (upRes) => {
        if (onResponse) return onResponse(upRes);
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  };

  const server = http.createServer((req, res) => {
    stats.requests++;
    const info = { method: req.method ?? 'GET', url: req.url ?? '/' };
    const fault = pick(info);
    if (fault) stats.faults[fault]++;
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0;
    switch (fault) {
      case undefined:
        return forward(req, res);
      case 'error500':
        return answer(req, res, 500, errorXml('InternalError', 'We encountered an internal error.'));
      case 'slowdown503':
        return answer(req, res, 503, errorXml('SlowDown', 'Please reduce your request rate.'));
      case 'skew403':
        return answer(
          req,
          res,
          403,
          errorXml(
            'RequestTimeTooSkewed',
            'The difference between the request time and the current time is too large.',
          ),
        );
      case 'denied403':
        return answer(req, res, 403, errorXml('AccessDenied', 'Access Denied'));
      case 'reset':
      case 'stall': {
        if (hasBody) {
          // Take part of the request body, then drop the connection or go silent.
          let seen = 0;
          const half = Number(req.headers['content-length']) / 2;
          req.on('data', (chunk: Buffer) => {
            seen += chunk.length;
            if (seen < half) return;
            if (fault === 'reset') req.socket.destroy();
            else req.pause();
          });
          return;
        }
        // No request body: pass the request on, then break the response midway.
        return forward(req, res, (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          const length = Number(upRes.headers['content-length'] ?? 0);
          let sent = 0;
          upRes.on('data', (chunk: Buffer) => {
            if (sent >= length / 2) return;
            const part = chunk.subarray(0, Math.max(1, Math.ceil(length / 2) - sent));
            sent += part.length;
            res.write(part);
            if (sent >= length / 2) {
              upRes.destroy();
              if (fault === 'reset') res.socket?.destroy();
            }
          });
          upRes.on('end', () => {
            if (fault === 'reset') res.socket?.destroy();
          });
        });
      }
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    plan(plan) {
      current = plan;
      turn = 0;
    },
    stats,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
