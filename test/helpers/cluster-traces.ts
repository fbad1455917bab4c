/**
 * What throwaway clusters (src/sources/postgres/local-cluster.ts) leave behind: their temp dirs,
 * lifeboat-pg-{name}-{pid}-XXXXXX, and the server processes working in them (the postmaster chdirs
 * into its data dir and its children inherit that; a deleted dir still shows as "… (deleted)").
 * Used by tests that kill a cluster's owner, and by scripts/run-tests.ts, which checks that no
 * cluster of the run outlives it.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const OWNER = /lifeboat-pg-(?:[A-Za-z0-9_-]*-)?(\d+)-[A-Za-z0-9]{6}(?:\/|$| )/;

/** The pid in a cluster dir's name, in a path or command line that points into one. */
export function clusterOwner(text: string): number | undefined {
  const pid = OWNER.exec(text)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Cluster dirs directly in `root` and live processes inside such a dir, whose owner passes `which`
 * (default: every owner). Each as "dir PATH" or "process PID (CMDLINE) in CWD".
 */
export async function clusterTraces(
  opts: { root?: string; which?: (owner: number) => boolean } = {},
): Promise<string[]> {
  const root = opts.root ?? os.tmpdir();
  const which = opts.which ?? (() => true);
  const inRoot = (p: string) => p.startsWith(root + path.sep);
  const traces: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const owner = clusterOwner(name);
    if (owner !== undefined && which(owner)) traces.push(`dir ${path.join(root, name)}`);
  }
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (/\)\s+[ZX]/.test(stat.slice(stat.lastIndexOf(')')))) continue; // exited, awaiting its parent
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    const where = [cwd, ...cmdline.split(' ')].find((p) => inRoot(p) && clusterOwner(p) !== undefined);
    if (where !== undefined && which(clusterOwner(where)!))
      traces.push(`process ${pid} (${cmdline.trim() || '?'}) in ${cwd || '?'}`);
  }
  return traces;
}
