/**
 * Rules every RunHistory implementation shares, so the SQLite file and the in-memory history
 * answer the same way: times stored as UTC ISO strings (which then sort as text), newest first.
 */
import type { RunRecord } from './types.js';

export type RunStart = Omit<RunRecord, 'id' | 'result' | 'finishedAt'>;

/** "2026-05-01T02:30:00.000Z" for any parseable time, so string order is time order. */
export function isoUtc(time: string): string {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) throw new TypeError(`run history: invalid time "${time}"`);
  return new Date(ms).toISOString();
}

export function normalizeStart(run: RunStart): RunStart {
  return { ...run, startedAt: isoUtc(run.startedAt) };
}

/** Newest first: by start time, then by id for runs started in the same millisecond. */
export function newestFirst(a: RunRecord, b: RunRecord): number {
  if (a.startedAt !== b.startedAt) return a.startedAt < b.startedAt ? 1 : -1;
  return b.id - a.id;
}
