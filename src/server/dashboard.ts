/**
 * The dashboard's files (SPEC §4: `GET /`): plain HTML, CSS and vanilla JS in
 * `src/server/dashboard/`, read at runtime, so a clone runs it with no build step. Both
 * `src/server/dashboard.ts` (tsx) and `dist/server/dashboard.js` (built) sit two levels under the
 * package root, so one relative path finds the files from either. They are read once, when the
 * app is created; a missing directory is an error at startup, not a 404 later.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';

export const DASHBOARD_DIR = fileURLToPath(new URL('../../src/server/dashboard/', import.meta.url));

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};

// Everything the page loads comes from this origin; no inline script can run.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function dashboardRoutes(app: Hono, dir = DASHBOARD_DIR): void {
  for (const [path, { file, type }] of Object.entries(FILES)) {
    const body = readFileSync(join(dir, file), 'utf8');
    app.get(path, (c) => {
      c.header('Content-Type', type);
      c.header('Content-Security-Policy', CSP);
      c.header('X-Frame-Options', 'DENY');
      c.header('Referrer-Policy', 'no-referrer');
      c.header('Cache-Control', 'no-cache');
      return c.body(body);
    });
  }
}
