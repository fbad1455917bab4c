/** How `lifeboat drill` reports a drill: the failure line, the summary, each check, the exit code. */
import { exitCodeFor, oneLine } from '../util/errors.js';
import type { DrillReport } from '../catalog/drill-report.js';
import type { DrillOutcome } from '../drill/run.js';
import type { Output } from './output.js';
import { formatBytes, formatDuration } from './progress.js';

/** Exit codes by precedence: an integrity failure outranks a failed drill, which outranks the rest. */
const PRECEDENCE = [4, 1, 3, 2];
export function worst(a: number, b: number): number {
  const rank = (c: number) =>
    c === 0 ? Infinity : PRECEDENCE.indexOf(c) === -1 ? 99 : PRECEDENCE.indexOf(c);
  return rank(b) < rank(a) ? b : a;
}

/** Logs what stopped a drill, and returns its exit code and its lines of the result. */
export function reportDrill(out: Output, outcome: DrillOutcome): { code: number; lines: string[] } {
  const { report } = outcome;
  const code = outcome.error !== undefined ? exitCodeFor(outcome.error) : report.ok ? 0 : 1;
  if (!report.ok) {
    const where = outcome.key ? `; report: ${outcome.key}` : '';
    const hint =
      report.failure?.hint ??
      (report.failure?.stage === 'checks' ? 'the report lists expected and actual values' : undefined);
    out.log(
      'error',
      `drill ${report.job} ${report.backupId} failed at ${report.failure?.stage}: ${report.failure?.message}${hint ? ` (hint: ${hint})` : ''}${where}`,
    );
  } else if (outcome.error !== undefined) {
    out.log('error', `drill ${report.job} ${report.backupId}: ${oneLine(outcome.error)}`);
  }
  const lines = [summaryLine(report), ...checkLines(report), `  report: ${outcome.key ?? 'not stored'}`];
  return { code, lines };
}

function checkLines(report: DrillReport): string[] {
  return report.checks.map((c) => {
    const status = c.skipped ? 'skip' : c.ok ? 'ok' : 'FAIL';
    return `  ${status}\t${c.name}\texpected ${c.expected}\tgot ${c.actual}${c.detail ? ` (${c.detail})` : ''}`;
  });
}

function summaryLine(report: DrillReport): string {
  const parts = [
    `RPO ${formatDuration(report.rpoSeconds * 1000)}`,
    report.rtoSeconds === null ? 'not restored' : `RTO ${formatDuration(report.rtoSeconds * 1000)}`,
    `${formatBytes(report.bytesRestored)} restored`,
    `${report.checks.filter((c) => c.ok).length}/${report.checks.length} checks passed`,
  ];
  const result = report.ok ? 'passed' : `FAILED at ${report.failure?.stage}`;
  return `drill ${report.job} ${report.backupId}: ${result} — ${parts.join(', ')}`;
}
