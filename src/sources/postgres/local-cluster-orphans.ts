/**
 * Clean-up after processes that died without stopping their throwaway local clusters
 * (local-cluster.ts): their servers are stopped and their temp dirs removed.
 */
import { readdir, readlink, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LifeboatError } from '../../util/errors.js';
import { sleep } from '../../util/sleep.js';
import { isAlive, postmasterPid } from './local-cluster-process.js';

/** lifeboat-pg-{name}-{pid}-XXXXXX (mkdtemp's six random characters); the pid is the owner's. */
const CLUSTER_DIR = /^lifeboat-pg-(?:[A-Za-z0-9_-]*-)?(\d+)-[A-Za-z0-9]{6}$/;

let reaping: Promise<string[]> | undefined;

/** Reaps once per process, before its first cluster starts; a failure to reap never stops a start. */
export function reapOnce(): Promise<string[]> {
  reaping ??= reapOrphanedClusters().catch(() => []);
  return reaping;
}

/**
 * Stops and removes the throwaway clusters in the temp dir whose owner process is gone: a SIGKILL,
 * an OOM kill or a power cut skips every clean-up, and pg_ctl detaches the server, so without this
 * such a cluster would run until the machine reboots. A live owner's clusters (its pid is running:
 * another Lifeboat, another test run) are never touched; a pid reused by an unrelated process keeps
 * the orphan alive, which errs on the safe side. Returns the directories removed.
 */
export async function reapOrphanedClusters(tmp = os.tmpdir()): Promise<string[]> {
  const reaped: string[] = [];
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    const owner = CLUSTER_DIR.exec(name)?.[1];
    if (owner === undefined || Number(owner) === process.pid || (await isAlive(Number(owner)))) continue;
    const base = path.join(tmp, name);
    try {
      await killPostmaster(path.join(base, 'data'));
      await rm(base, { recursive: true, force: true });
      reaped.push(base);
    } catch {
      // Not ours to fight over (a permission problem, a server that won't die): leave it as found.
    }
  }
  return reaped;
}

/**
 * Stops the postmaster running on dataDir, if any, without pg_ctl (an orphan's binaries are not
 * known): SIGQUIT is PostgreSQL's immediate shutdown, which also ends its children; SIGKILL if it
 * does not go. Only a process whose cwd is that data dir is signalled, never a stale pid's new owner.
 */
async function killPostmaster(dataDir: string): Promise<void> {
  const pid = await postmasterPid(path.join(dataDir, 'postmaster.pid'));
  if (pid === undefined || !(await isAlive(pid))) return;
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  if (cwd !== (await realpath(dataDir).catch(() => dataDir))) return;
  for (const signal of ['SIGQUIT', 'SIGKILL'] as const) {
    process.kill(pid, signal);
    for (let i = 0; i < 50 && (await isAlive(pid)); i++) await sleep(100);
    if (!(await isAlive(pid))) return;
  }
  throw new LifeboatError('failed', `stop orphaned cluster: postmaster ${pid} on ${dataDir} does not exit`);
}
