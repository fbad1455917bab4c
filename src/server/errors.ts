/**
 * API errors: every failure leaves the server as `{"error": "one line"}` with a 4xx or 5xx status,
 * never a stack trace. Routes throw ApiError for what the client got wrong; anything else is an
 * internal error whose details go to the log, not to the client.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { oneLine } from '../util/errors.js';

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Quotes client input for an error line, cut short so a huge value cannot flood a response. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

/** The app's onError handler. */
export function errorHandler(log?: (line: string) => void) {
  return (err: Error, c: Context) => {
    // Headers set with c.header() before the throw (WWW-Authenticate) are kept by c.json.
    if (err instanceof ApiError) return c.json({ error: oneLine(err) }, err.status);
    if (err instanceof HTTPException) {
      // Hono throws these for malformed requests (e.g. a body it cannot parse).
      return c.json({ error: oneLine(err.message || 'bad request') }, err.status as ContentfulStatusCode);
    }
    log?.(`http ${c.req.method} ${c.req.path}: ${oneLine(err)}`);
    return c.json({ error: 'internal error' }, 500);
  };
}
