/**
 * Validation of what clients put in paths and query strings. Every rejection is an ApiError with a
 * one-line message naming the parameter, so a bad request gets a 400 and never reaches the history
 * or the catalog.
 */
import { isBackupId } from '../catalog/layout.js';
import type { RunKind } from '../history/types.js';
import { ApiError, quote } from './errors.js';

// The same rule the config applies to job names (config/schema.ts).
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const RUN_KINDS: readonly RunKind[] = ['backup', 'drill', 'verify', 'prune'];

/** A syntactically valid job name (400 otherwise); whether it exists is the caller's 404. */
export function jobName(value: string | undefined, where: string): string {
  if (value === undefined || value === '') throw new ApiError(400, `${where}: expected a job name`);
  if (!JOB_NAME.test(value)) throw new ApiError(400, `${where}: ${quote(value)} is not a valid job name`);
  return value;
}

export function runKind(value: string | undefined): RunKind | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(RUN_KINDS as readonly string[]).includes(value))
    throw new ApiError(400, `query kind: expected one of ${RUN_KINDS.join(', ')}, not ${quote(value)}`);
  return value as RunKind;
}

/** A whole number in [1, max], or `fallback` when absent. */
export function limit(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = /^[0-9]{1,7}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new ApiError(400, `query limit: expected a whole number from 1 to ${max}, not ${quote(value)}`);
  return n;
}

export function backupRef(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!isBackupId(value))
    throw new ApiError(400, `query id: expected a backup id like 20261122T023000Z, not ${quote(value)}`);
  return value;
}
