/** How `lifeboat backup` reports one job's run: the log lines, and its row of the result. */
import { totalSize } from '../catalog/manifest.js';
import { oneLine } from '../util/errors.js';
import { partialLine, type JobBackupResult } from '../jobs/backup.js';
import { describeError } from './errors.js';
import type { Output } from './output.js';
import { formatBytes, formatDuration } from './progress.js';

/** One job's entry in the result (--json prints it whole). */
export interface Row {
  job: string;
  ok: boolean;
  partial?: true;
  missing?: JobBackupResult['missing'];
  id?: string;
  size?: number;
  durationMs?: number;
  artifacts?: Array<{ key: string; size: number; sha256: string }>;
  storages?: Array<{ storage: string; ok: boolean; error?: string }>;
  error?: string;
}

/** Prints how a committed run went, and returns its row of the result. */
export function report(
  out: Output,
  name: string,
  { manifest, outcomes, failed, missing, ok, hookError }: JobBackupResult,
): Row {
  out.clearProgress();
  for (const f of failed)
    out.log('error', `backup ${name} to ${f.storage} failed: ${describeError(f.error)}`);
  if (missing.length) out.log('error', partialLine(name, manifest, missing));
  if (hookError) out.log('error', `backup ${name}: ${describeError(hookError)}`);
  const size = totalSize(manifest);
  const where = outcomes.filter((o) => o.ok).map((o) => o.storage);
  out.info(
    `backup ${name} ${manifest.id}: ${manifest.artifacts.length} artifact(s), ${formatBytes(size)} in ${formatDuration(manifest.durationMs)} → ${where.join(', ')}`,
  );
  return {
    job: name,
    ok,
    ...(missing.length ? { partial: true, missing } : {}),
    ...(hookError ? { error: oneLine(hookError) } : {}),
    id: manifest.id,
    size,
    durationMs: manifest.durationMs,
    artifacts: manifest.artifacts.map((a) => ({ key: a.key, size: a.size, sha256: a.sha256 })),
    storages: outcomes.map((o) => ({
      storage: o.storage,
      ok: o.ok,
      ...(o.error ? { error: oneLine(o.error) } : {}),
    })),
  };
}

/** The human line of a row: job, id, size and ok, PARTIAL or FAILED with the error. */
export function rowLine(x: Row): string {
  if (x.partial) return `${x.job}\t${x.id}\t${formatBytes(x.size ?? 0)}\tPARTIAL`;
  return x.ok
    ? `${x.job}\t${x.id}\t${formatBytes(x.size ?? 0)}\tok`
    : `${x.job}\t${x.id ?? '-'}\tFAILED\t${x.error ?? ''}`;
}
