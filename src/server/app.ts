/**
 * The HTTP app of `lifeboat serve` (SPEC §4), on Hono: health, status summary, Prometheus metrics,
 * the JSON API and the dashboard. It is a plain fetch handler with every dependency passed in, so
 * tests drive it in memory with `app.request(...)` and `listen.ts` puts it on a socket.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { apiRoutes } from './api.js';
import { requireToken } from './auth.js';
import { dashboardRoutes, DASHBOARD_DIR } from './dashboard.js';
import { ApiError, errorHandler } from './errors.js';
import { requireAllowedHost } from './host-check.js';
import { statusSummary } from './summary.js';
import type { AppDeps } from './types.js';

export type { AppDeps } from './types.js';

export function createApp(deps: AppDeps, opts: { dashboardDir?: string } = {}): Hono {
  // Protected reads with no token would refuse everyone; say so at startup, not per request.
  if (deps.protectReads && !deps.token) throw new Error('create HTTP server: protectReads needs a token');
  const app = new Hono();
  const readGuard: MiddlewareHandler = deps.protectReads
    ? requireToken(deps.token, 'read')
    : async (_c, next) => next();

  app.use('*', async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    // Status changes by the second; no proxy or browser should keep an old answer.
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });
  app.use('*', requireAllowedHost(deps.allowedHosts ?? new Set()));

  app.get('/healthz', (c) => c.json({ ok: true }));

  app.get('/status/summary', readGuard, (c) => c.json(statusSummary(deps)));

  app.get('/metrics', readGuard, async (c) => {
    const { contentType, body } = await deps.metrics.render();
    c.header('Content-Type', contentType);
    return c.body(body);
  });

  apiRoutes(app, deps, readGuard);
  dashboardRoutes(app, opts.dashboardDir ?? DASHBOARD_DIR);

  app.notFound((c) => {
    throw new ApiError(404, `${c.req.method} ${c.req.path}: no such endpoint`);
  });
  app.onError(errorHandler(deps.log));
  return app;
}
