/**
 * Which `Host` the HTTP API answers to: a guard against DNS rebinding. A page on another site that
 * points its own name at this server (or at 127.0.0.1) can make the visitor's browser send requests
 * here, and read the answers, because to the browser they are same-origin; such requests carry the
 * attacker's name in `Host`. So a request is answered only when its Host is
 *  - an IP address: a page can only be same-origin with an address if it was served from it;
 *  - `localhost` (or a name under `.localhost`, which resolves to loopback only);
 *  - the name serve listens on (`--host`), or one listed in `server.allowedHosts`.
 * `"*"` in allowedHosts turns the check off. /healthz is always answered (it says only "ok").
 */
import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { ApiError, quote } from './errors.js';

/** The host name of a Host header value ("example.com:8080" → "example.com", "[::1]:80" → "::1"). */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(value);
  if (bracketed) return bracketed[1]!;
  const withPort = /^([^:]*)(?::\d*)?$/.exec(value);
  // More than one colon and no brackets: a bare IPv6 address (not valid in Host, but harmless).
  return (withPort ? withPort[1]! : value).replace(/\.$/, '');
}

export function isAllowedHost(header: string, allowed: ReadonlySet<string>): boolean {
  if (allowed.has('*')) return true;
  const name = hostName(header);
  if (isIP(name)) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return allowed.has(name);
}

/** The set of extra names: the listen address when it is a name, and the configured ones. */
export function allowedHostSet(listenHost: string | undefined, configured: readonly string[] = []) {
  return new Set(
    [...(listenHost ? [listenHost] : []), ...configured].map((h) => h.toLowerCase().replace(/\.$/, '')),
  );
}

/** Middleware: 421 Misdirected Request, as one JSON line, for a Host this server does not serve. */
export function requireAllowedHost(allowed: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.path !== '/healthz') {
      // Absent only outside browsers (HTTP/1.0 clients), which DNS rebinding cannot use.
      const header = c.req.header('host') ?? new URL(c.req.url).host;
      if (!isAllowedHost(header, allowed)) {
        throw new ApiError(
          421,
          `host ${quote(hostName(header))} is not served here; add it to server.allowedHosts`,
        );
      }
    }
    await next();
  };
}
