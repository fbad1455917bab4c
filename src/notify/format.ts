/**
 * How alerts read to a person: a short age ("2d 3h"), an e-mail subject, and the one-paragraph text
 * that webhook, Slack and e-mail targets all send. Pure.
 */
import type { Alert, AlertKind } from './types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "2d 3h", "5h 20min", "45min", "<1min": two units at most, enough to judge an age. */
export function formatAge(ms: number): string {
  if (ms < MINUTE) return '<1min';
  const days = Math.floor(ms / DAY);
  const hours = Math.floor((ms % DAY) / HOUR);
  const minutes = Math.floor((ms % HOUR) / MINUTE);
  // "min", not "m": in config durations "m" means months.
  if (days > 0) return hours > 0 ? `${days}d ${hours}h` : `${days}d`;
  if (hours > 0) return minutes > 0 ? `${hours}h ${minutes}min` : `${hours}h`;
  return `${minutes}min`;
}

const LABELS: Record<AlertKind, string> = {
  failure: 'FAILED',
  'drill-failure': 'DRILL FAILED',
  stale: 'STALE',
  recovery: 'RECOVERED',
};

/** "[lifeboat] FAILED app: backup failed" */
export function alertSubject(alert: Alert): string {
  return `[lifeboat] ${LABELS[alert.kind]} ${alert.job}: ${alert.summary}`;
}

/** The subject plus since-when and the error line, one fact per line. */
export function alertText(alert: Alert): string {
  const lines = [alertSubject(alert)];
  if (alert.since) lines.push(`${alert.kind === 'recovery' ? 'Problem began' : 'Since'}: ${alert.since}`);
  if (alert.error) lines.push(`Error: ${alert.error}`);
  lines.push(`At: ${alert.at}`);
  return lines.join('\n');
}
