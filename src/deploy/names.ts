/**
 * Object names and labels. Kubernetes names are DNS labels (lowercase, digits, "-"), job names
 * are not (they may hold "_", "." and capitals), so a job's objects are named after a cleaned
 * form; two jobs that clean to the same name, or a name too long for a CronJob, are refused.
 */
import { LifeboatError } from '../util/errors.js';

/** Fixed names every rendered object set shares. */
export const NAMES = {
  config: 'lifeboat-config',
  secret: 'lifeboat-env',
  server: 'lifeboat',
  history: 'lifeboat-history',
} as const;

/** Where the pod finds things; the image's root filesystem is read-only. */
export const PATHS = {
  configDir: '/etc/lifeboat',
  configFile: '/etc/lifeboat/lifeboat.yaml',
  scratch: '/scratch',
  history: '/var/lib/lifeboat',
} as const;

/** A CronJob name leaves room for the 11 characters its Jobs append. */
const CRONJOB_NAME_MAX = 52;

export function dnsLabel(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** `lifeboat-backup-<job>` style names, one per job, checked for clashes and length. */
export function jobObjectNames(jobs: string[], prefix: string): Map<string, string> {
  const out = new Map<string, string>();
  const owner = new Map<string, string>();
  for (const job of jobs) {
    const name = `${prefix}-${dnsLabel(job)}`;
    const clash = owner.get(name);
    if (clash)
      throw new LifeboatError(
        'config',
        `render ${name}: jobs "${clash}" and "${job}" get the same object name`,
        {
          hint: 'rename one of them (names are lowercased, other characters become "-")',
        },
      );
    if (name.length > CRONJOB_NAME_MAX)
      throw new LifeboatError('config', `render ${name}: longer than ${CRONJOB_NAME_MAX} characters`, {
        hint: 'use a shorter job name',
      });
    owner.set(name, job);
    out.set(job, name);
  }
  return out;
}

export function labels(component: string, job?: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'lifeboat',
    'app.kubernetes.io/component': component,
    ...(job !== undefined ? { 'lifeboat.dev/job': dnsLabel(job).slice(0, 63) } : {}),
  };
}
