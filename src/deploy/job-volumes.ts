/**
 * A job's `kubernetes.volumes` (config/kubernetes.ts) as pod volumes and mounts, and the sqlite
 * and files paths no volume holds. Such a source reads paths in the pod's own filesystem, which
 * holds nothing of the app's; its volume (the app's PVC, a hostPath of the node, an NFS export) is
 * named in the config, so that a render can be applied as it is, and renders again the same.
 */
import { isDeepStrictEqual } from 'node:util';
import type { VolumeConfig } from '../config/kubernetes.js';
import type { Config } from '../config/schema.js';
import { LifeboatError } from '../util/errors.js';
import type { Obj } from './pod.js';

function podVolume(v: VolumeConfig): { volume: Obj; mount: Obj } {
  const { name, mountPath, readOnly, ...source } = v;
  return {
    volume: { name, ...source },
    mount: { name, mountPath, ...(readOnly ? { readOnly: true } : {}) },
  };
}

/**
 * The volumes of `jobs` (one job's CronJob, or every job in service mode), each once: two jobs may
 * name the same volume alike (both read the app's PVC), never differently.
 */
export function jobVolumes(config: Config, jobs: string[]): Array<{ volume: Obj; mount: Obj }> {
  const byName = new Map<string, { job: string; v: VolumeConfig }>();
  for (const job of jobs) {
    for (const v of config.jobs[job]!.kubernetes?.volumes ?? []) {
      const seen = byName.get(v.name);
      if (!seen) byName.set(v.name, { job, v });
      else if (!isDeepStrictEqual(seen.v, v))
        throw new LifeboatError(
          'config',
          `render: jobs.${job}.kubernetes.volumes: ${v.name} is defined differently in jobs.${seen.job}`,
          { hint: 'give one of them another name, or define both alike' },
        );
    }
  }
  return [...byName.values()].map(({ v }) => podVolume(v));
}

/** Whether `p` is `dir` or below it; for a glob, every path it can match (its wildcards come after `dir/`). */
const under = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/**
 * One line per sqlite or files path of `jobs` that none of the job's volumes holds: the rendered
 * pod would not see it, and the backup would fail with "no such file".
 */
export function unmountedPaths(config: Config, jobs: string[]): string[] {
  const out: string[] = [];
  for (const job of jobs) {
    const mounts = (config.jobs[job]!.kubernetes?.volumes ?? []).map((v) => v.mountPath);
    for (const [name, s] of Object.entries(config.jobs[job]!.sources)) {
      if (s.type !== 'sqlite' && s.type !== 'files') continue;
      const paths = 'path' in s && s.path !== undefined ? [s.path] : (s.paths ?? []);
      for (const p of paths) {
        if (mounts.some((m) => under(p, m))) continue;
        out.push(
          `jobs.${job}.sources.${name}: ${p} is on no volume of jobs.${job}.kubernetes.volumes; the pod will not see it`,
        );
      }
    }
  }
  return out;
}
