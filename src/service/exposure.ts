/**
 * Who can read the service's API: beyond loopback, an API without a token shows every job's
 * status, history and metrics to anyone who can reach the port. That is refused unless asked for
 * by name (--insecure-no-token), and then said loudly. With a token but public reads, a warning
 * names the setting that closes them.
 */
import type { ServerConfig } from '../config/schema.js';
import { LifeboatError } from '../util/errors.js';

/** Loopback only: 127.0.0.0/8, ::1 and localhost. Anything else may be reachable from the network. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}

export function checkExposure(
  host: string,
  port: number,
  server: ServerConfig | undefined,
  insecureNoToken: boolean,
  warn: (line: string) => void,
): void {
  if (isLoopbackHost(host)) return;
  if (!server?.token) {
    if (!insecureNoToken) {
      throw new LifeboatError(
        'usage',
        `serve --host ${host}: server.token is not set, so anyone who can reach port ${port} would read every job's status, history and metrics`,
        {
          hint: 'set server.token (and server.protectReads: true), or pass --insecure-no-token to serve public reads',
        },
      );
    }
    warn(
      `serve: INSECURE: listening on ${host}:${port} without a token (--insecure-no-token); anyone who can reach it reads every job's status, history and metrics`,
    );
  } else if (!server.protectReads) {
    warn(
      `serve: reads are public on ${host}:${port} (status, history, metrics); set server.protectReads: true to require the token for them`,
    );
  }
}
