/**
 * Test helper: stops and starts a test cluster's server the way an operator (or a crash) would,
 * with `pg_ctl -m fast stop`, while Lifeboat is in the middle of something; and starts it again
 * on the same port so the rest of a test file can go on using it.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LocalCluster } from '../../src/postgres/local-cluster.js';

const execFileAsync = promisify(execFile);

async function pgCtl(cluster: LocalCluster, args: string[]): Promise<void> {
  const [uid, gid] = await Promise.all(
    ['-u', '-g'].map(async (flag) => Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim())),
  );
  // The server runs as the postgres OS user when the tests run as root (see local-cluster.ts).
  const asPostgres = process.getuid?.() === 0 ? { uid, gid } : {};
  await execFileAsync(path.join(cluster.binDir, 'pg_ctl'), [...args, '-D', cluster.dataDir], {
    ...asPostgres,
    cwd: path.dirname(cluster.dataDir),
  });
}

/** `pg_ctl -m fast stop`: disconnects every client, then shuts down. */
export function stopFast(cluster: LocalCluster): Promise<void> {
  return pgCtl(cluster, ['stop', '-w', '-m', 'fast']);
}

/** Starts the server again (same data, same port). */
export function startAgain(cluster: LocalCluster): Promise<void> {
  return pgCtl(cluster, ['start', '-w', '-l', path.join(path.dirname(cluster.dataDir), 'server.log')]);
}
