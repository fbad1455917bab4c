/**
 * Compares two databases by their schema-and-data dumps. pg_dump ≥ 15.14 writes a random key in
 * its `\restrict` / `\unrestrict` lines, so those lines are dropped before comparing; and rows come
 * out in physical order, which a restore does not keep (updated rows move), so the rows inside each
 * COPY block are sorted. Meant for test-sized databases: it holds both dumps in memory.
 */
import { findPgTool } from './binaries.js';
import { toolConnection } from './connection.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export function normalizeDump(text: string): string {
  const out: string[] = [];
  let rows: string[] | undefined;
  for (const line of text.split('\n')) {
    if (/^\\(un)?restrict /.test(line)) continue;
    if (rows) {
      if (line === '\\.') {
        out.push(...rows.sort(), line);
        rows = undefined;
      } else rows.push(line);
      continue;
    }
    out.push(line);
    if (/^COPY .* FROM stdin;$/.test(line)) rows = [];
  }
  return out.join('\n');
}

export async function dumpForCompare(url: string, binDir?: string): Promise<string> {
  const tool = await findPgTool('pg_dump', { binDir });
  const { conninfo, env } = toolConnection(url);
  const { stdout } = await execFileAsync(tool.path, ['-w', '--no-sync', `--dbname=${conninfo}`], {
    env,
    maxBuffer: 1 << 30,
  });
  return normalizeDump(stdout);
}
