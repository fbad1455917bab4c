/**
 * Failed-run records: `.lifeboat/{job}/failed/{kind}-{timestamp}-{random}.json`, one per failed
 * backup or drill, one-shot or serve's (SPEC §3, §8; kept by jobs/failed-runs.ts). A CronJob's
 * run keeps no state of its own between runs, and a failed backup leaves nothing else in the
 * storage; these let the next run know that the job was failing, so that its success sends the
 * recovery alert serve would send. The succeeding run removes them. Create-only like everything else; no manifest, intent or report pattern
 * matches their names, and prune leaves `.lifeboat/` alone.
 */
import { randomBytes } from 'node:crypto';
import { oneLine } from '../util/errors.js';
import { putText, readText, type Storage } from '../storages/storage.js';
import { backupId, CATALOG_PREFIX, safeSegment } from './layout.js';

export const FAILED_RUN_FORMAT = 'lifeboat-failed-run';

export interface FailedRun {
  format: typeof FAILED_RUN_FORMAT;
  version: 1;
  job: string;
  kind: 'backup' | 'drill';
  /** ISO 8601. */
  startedAt: string;
  /** When it failed. ISO 8601. */
  at: string;
  /** One redacted line. */
  error?: string;
}

export interface StoredFailedRun {
  key: string;
  run: FailedRun;
}

export function failedRunsPrefix(job: string): string {
  return `${CATALOG_PREFIX}${safeSegment(job)}/failed/`;
}

export function failedRunKey(run: Pick<FailedRun, 'job' | 'kind' | 'at'>): string {
  const random = randomBytes(3).toString('hex'); // two runs failing in one second keep both
  return `${failedRunsPrefix(run.job)}${run.kind}-${backupId(new Date(run.at))}-${random}.json`;
}

export async function recordFailedRun(
  storage: Storage,
  run: FailedRun,
  signal?: AbortSignal,
): Promise<string> {
  const key = failedRunKey(run);
  await putText(storage, key, JSON.stringify(run, null, 2) + '\n', { signal });
  return key;
}

function parseFailedRun(text: string, job: string): FailedRun | undefined {
  try {
    const run = JSON.parse(text) as Partial<FailedRun>;
    const ok =
      run.format === FAILED_RUN_FORMAT &&
      run.job === job &&
      (run.kind === 'backup' || run.kind === 'drill') &&
      typeof run.startedAt === 'string' &&
      typeof run.at === 'string';
    return ok ? (run as FailedRun) : undefined;
  } catch {
    return undefined;
  }
}

/** The job's failed-run records, oldest first; one that cannot be read or parsed is skipped. */
export async function listFailedRuns(
  storage: Storage,
  job: string,
  signal?: AbortSignal,
): Promise<StoredFailedRun[]> {
  const out: StoredFailedRun[] = [];
  for await (const obj of storage.list(failedRunsPrefix(job), { signal })) {
    if (!obj.key.endsWith('.json')) continue;
    const run = await readText(storage, obj.key, { signal }).then(
      (text) => parseFailedRun(text, job),
      (err: unknown) => {
        if (signal?.aborted) throw err;
        return undefined;
      },
    );
    if (run) out.push({ key: obj.key, run });
  }
  return out.sort((a, b) => Date.parse(a.run.at) - Date.parse(b.run.at) || a.key.localeCompare(b.key));
}

/** Removes records (a job that succeeded again); returns the lines of those that stayed. */
export async function clearFailedRuns(
  storage: Storage,
  keys: string[],
  signal?: AbortSignal,
): Promise<string[]> {
  const problems: string[] = [];
  for (const key of keys)
    await storage.delete(key, { signal }).catch((err: unknown) => problems.push(`${key}: ${oneLine(err)}`));
  return problems;
}
