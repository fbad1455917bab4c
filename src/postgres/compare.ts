/**
 * Compares two databases by their schema-and-data dumps. pg_dump ≥ 15.14 writes a random key in
 * its `\restrict` / `\unrestrict` lines, so those lines are dropped before comparing.
 */
import { findPgTool } from './binaries.js';
import { toolConnection } from '../sources/postgres/connection.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export function normalizeDump(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\\(un)?restrict /.test(line))
    .join('\n');
}

export async function dumpForCompare(url: string, binDir?: string): Promise<string> {
  const tool = await findPgTool('pg_dump', { binDir });
  const { conninfo, env } = toolConnection(url);
  const { stdout } = await execFileAsync(tool.path, ['-w', '--no-sync', `--dbname=${conninfo}`], { env, maxBuffer: 1 << 30 });
  return normalizeDump(stdout);
}
