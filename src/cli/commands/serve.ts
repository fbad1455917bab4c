/**
 * `lifeboat serve [--port N]`: scheduler + HTTP API + dashboard in one process (SPEC §4), as
 * service/service.ts composes it. SIGTERM stops new runs, lets running ones finish within the
 * grace period, then aborts them (nothing half-committed) and exits 0.
 */
import type { Context } from '../context.js';
import { parsePort } from '../port.js';
import { serveUntilAborted } from '../serving.js';

export interface ServeOptions {
  port?: string;
  host?: string;
  history?: string;
  insecureNoToken?: boolean;
}

export async function serveCommand(ctx: Context, opts: ServeOptions, signal: AbortSignal): Promise<number> {
  const port = opts.port !== undefined ? parsePort(opts.port, '--port') : undefined;
  const { host, history: historyFile, insecureNoToken } = opts;
  return serveUntilAborted(ctx, { port, host, historyFile, insecureNoToken }, signal);
}
