/**
 * Stopping a throwaway local cluster's server (local-cluster.ts) with pg_ctl, and killing it
 * outright when pg_ctl cannot, but only if the pid really is that cluster's postmaster.
 */
import { readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError, oneLine } from '../../util/errors.js';
import { sleep } from '../../util/sleep.js';
import { isAlive, postmasterPid, run, type ClusterContext } from './local-cluster-process.js';

/** Stops the server if one runs on ctx.dataDir; resolves quietly if there is none or no data dir. */
export async function stopServer(ctx: ClusterContext): Promise<void> {
  const pidFile = path.join(ctx.dataDir, 'postmaster.pid');
  const pid = await postmasterPid(pidFile);
  if (pid === undefined) return;
  // Immediate mode skips the shutdown checkpoint: nothing here is worth keeping.
  const result = await run(ctx, 'pg_ctl', ['stop', '-w', '-t', '30', '-m', 'immediate', '-D', ctx.dataDir], {
    timeoutMs: 60_000,
  });
  if (result.code === 0 || !(await isAlive(pid))) return;
  // pg_ctl could not stop it (hung?). Kill it outright, but only if that pid really is our
  // postmaster (it chdirs into its data dir) and not an unrelated process that reused a stale pid.
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  if (cwd === undefined || cwd !== (await realpath(ctx.dataDir).catch(() => ctx.dataDir))) {
    throw new LifeboatError('failed', `stop local cluster: pg_ctl stop failed: ${oneLine(result.stderr)}`);
  }
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && (await isAlive(pid)); i++) await sleep(100);
  if (await isAlive(pid)) {
    throw new LifeboatError(
      'failed',
      `stop local cluster: postmaster ${pid} on ${ctx.dataDir} does not exit`,
      {
        hint: oneLine(result.stderr),
      },
    );
  }
}
