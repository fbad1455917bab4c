/**
 * Bearer-token checks for the HTTP API. The token is compared in constant time: both sides are
 * hashed first, so timingSafeEqual always sees equal-length buffers and the comparison leaks
 * neither the token's bytes nor its length.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined when there is none. Lenient
 * beyond RFC 6750's token68: whatever follows "Bearer " counts, so a configured token with spaces
 * or other characters still works.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer[ \t]+(.*?)[ \t]*$/i.exec(header ?? '');
  return m?.[1];
}

/**
 * Middleware: 401 when the request carries no bearer token, 403 when it carries a wrong one.
 * With no token configured every request is refused (403): an unset token means read-only,
 * never open.
 */
export function requireToken(token: string | undefined, what: string): MiddlewareHandler {
  const expected = token ? digest(token) : undefined;
  return async (c, next) => {
    if (!expected) throw new ApiError(403, `${what}: server.token is not set, so the API is read-only`);
    const given = bearerToken(c.req.header('authorization'));
    if (given === undefined) {
      c.header('WWW-Authenticate', 'Bearer realm="lifeboat"');
      throw new ApiError(401, `${what}: missing Authorization: Bearer <token>`);
    }
    if (!timingSafeEqual(digest(given), expected)) throw new ApiError(403, `${what}: wrong token`);
    await next();
  };
}
