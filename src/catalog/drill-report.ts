/**
 * The drill report: versioned JSON stored beside the backup as
 * `.lifeboat/{job}/{backupId}.drill-{timestamp}.json` (SPEC §3) and printed by `lifeboat drill`.
 * It says which backup was drilled, how old its data was (RPO), how long verifying and restoring
 * took (RTO), and every check with what was expected and what was found. Never holds a secret:
 * scratch servers are described by host, port and database only.
 */
import { backupId } from './layout.js';
import type { ErrorCode } from '../util/errors.js';
import { LifeboatError } from '../util/errors.js';

export const DRILL_REPORT_FORMAT = 'lifeboat-drill';
export const DRILL_REPORT_VERSION = 1;

export interface CheckResult {
  name: string;
  ok: boolean;
  expected: string;
  actual: string;
  /** The check could not apply here (e.g. amcheck is not installed); it does not fail the drill. */
  skipped?: boolean;
  detail?: string;
}

/** Where a drill stopped when it did not get through its checks. */
export type DrillStage = 'scratch' | 'verify' | 'restore' | 'checks' | 'report';

export interface DrillReport {
  format: typeof DRILL_REPORT_FORMAT;
  version: number;
  job: string;
  backupId: string;
  /** The drill's own start and end (UTC, ISO 8601); `timestamp` names the report file. */
  timestamp: string;
  startedAt: string;
  finishedAt: string;
  backup: {
    startedAt: string;
    finishedAt: string;
    mode: 'database' | 'databases' | 'dumpall';
    databases: string[];
    serverVersion: string;
    size: number;
    /** Every source of the backup, by name (absent in reports written before backups had several). */
    sources?: Record<string, { kind: string; databases?: string[] }>;
  };
  /** Age of the backup's data when the drill started: from the backup's start (its snapshot), in seconds. */
  rpoSeconds: number;
  /** Verify + restore, in seconds: what `lifeboat restore` of this backup takes. Null when it did not restore. */
  rtoSeconds: number | null;
  /** Stored bytes read into the scratch server. */
  bytesRestored: number;
  scratch: { kind: 'local' | 'server'; where: string; serverVersion: string } | null;
  timings: { scratchMs: number; verifyMs: number; restoreMs: number; checksMs: number; totalMs: number };
  checks: CheckResult[];
  ok: boolean;
  result: 'passed' | 'failed';
  failure?: { stage: DrillStage; code: ErrorCode; message: string; hint?: string };
  /** Problems removing what the drill created on a configured scratch server. */
  cleanup?: string[];
  lifeboatVersion: string;
}

/** "20261122T030000Z": the same shape as backup ids, so report names sort by time. */
export function drillTimestamp(at: Date): string {
  return backupId(at);
}

export function parseDrillReport(text: string, key: string): DrillReport {
  let data: Partial<DrillReport>;
  try {
    data = JSON.parse(text) as Partial<DrillReport>;
  } catch {
    throw new LifeboatError('integrity', `read drill report ${key}: not valid JSON`);
  }
  if (data?.format !== DRILL_REPORT_FORMAT || typeof data.ok !== 'boolean' || !data.backupId || !data.job)
    throw new LifeboatError('integrity', `read drill report ${key}: not a Lifeboat drill report`);
  return data as DrillReport;
}

/** One phrase for `status` and `list`: "passed", "FAILED: smoke FAILED: users present", … */
export function drillOutcome(report: DrillReport): string {
  if (report.ok) return 'passed';
  if (report.failure?.stage === 'checks') {
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.name);
    return `FAILED: smoke FAILED: ${failed.join(', ')}`;
  }
  const marker =
    report.failure?.stage === 'verify' && report.failure.code === 'integrity'
      ? 'sha256 mismatch'
      : report.failure?.stage === 'restore'
        ? 'restore FAILED'
        : `${report.failure?.stage ?? 'drill'} failed`;
  return `FAILED: ${marker}`;
}

/** The summary `status --json`, `list --json` and the API show for a backup's or job's last drill. */
export function drillSummary(report: DrillReport, now = Date.now()) {
  return {
    backupId: report.backupId,
    timestamp: report.timestamp,
    finishedAt: report.finishedAt,
    ageSeconds: Math.round((now - Date.parse(report.finishedAt)) / 1000),
    ok: report.ok,
    result: report.result,
    outcome: drillOutcome(report),
    rpoSeconds: report.rpoSeconds,
    rtoSeconds: report.rtoSeconds,
  };
}
