/**
 * Test helper: stops and starts a test cluster's server the way an operator (or a crash) would,
 * with `pg_ctl -m fast stop`, while Lifeboat is in the middle of something; and starts it again
 * on the same port so the rest of a test file can go on using it.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { LocalCluster } from '../../src/sources/postgres/local-cluster.js';
import { waitFor } from './scenarios.js';

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

/**
 * `pg_ctl -m fast stop` while pg_dump is in the middle of a COPY, with the dump certain to be
 * unfinished: the backend serving the COPY is frozen (SIGSTOP) as soon as it is seen, let go in
 * short steps until `ready()` says enough has flowed, and goes on for good only once the shutdown
 * has begun — to be terminated by it.
 */
export async function stopFastDuringCopy(
  cluster: LocalCluster,
  ready: () => Promise<boolean>,
): Promise<void> {
  const backend = await waitFor('pg_dump in a COPY', async () => {
    const pid = await cluster.psql(
      `select pid from pg_stat_activity where application_name = 'pg_dump' and query like 'COPY %'`,
    );
    return Number(pid.trim()) || undefined;
  });
  process.kill(backend, 'SIGSTOP');
  try {
    while (!(await ready())) {
      process.kill(backend, 'SIGCONT');
      await sleep(5);
      process.kill(backend, 'SIGSTOP');
    }
    const stopping = stopFast(cluster);
    // The 8th line of postmaster.pid says "stopping" once the postmaster has told the backends to go.
    await waitFor('the shutdown to begin', async () =>
      /^stopping\s*$/m.test(
        await readFile(path.join(cluster.dataDir, 'postmaster.pid'), 'utf8').catch(() => ''),
      ),
    );
    process.kill(backend, 'SIGCONT');
    await stopping;
  } finally {
    try {
      process.kill(backend, 'SIGCONT');
    } catch {
      // already gone
    }
  }
}
