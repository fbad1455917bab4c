/**
 * Retention: decides which committed backups of a job to keep and which to remove, and why. It
 * follows restic's `forget` (ApplyPolicy in internal/restic/snapshot_policy.go) so operators can
 * reason about it with documentation they already know. Pure and deterministic: no clock, no I/O,
 * and calendar buckets come from the policy's IANA time zone, never from the process's TZ.
 *
 * Deliberate differences from restic:
 * - keepWithin counts from the newest backup even if it lies in the future (restic uses the clock
 *   to skip future snapshots; a pure function cannot).
 * - Newer restic also keeps the oldest snapshot while a bucket rule has counts left; we keep
 *   exactly the newest backup of each of the N most recent buckets that hold one.
 * - minKeep and the newest-backup guarantee are ours: retention never removes the last good backup.
 * - "w" (weeks) is accepted in durations; a repeated unit adds up instead of the last one winning.
 */
import { LifeboatError } from './errors.js';

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Keep everything this close to the newest backup, e.g. "14d", "36h", "2w", "1y6m" ("m" is months). */
  keepWithin?: string;
  /** Never keep fewer than this many backups, newest first. Default 1. */
  minKeep?: number;
}

/** A committed backup. */
export interface RetentionItem {
  id: string;
  time: Date;
}

export interface RetentionDecision {
  id: string;
  time: Date;
  keep: boolean;
  /** Why the backup is kept, e.g. "last 3", "daily 2026-11-20", "within 14d"; empty when removed. */
  reasons: string[];
}

/** A calendar duration; weeks are folded into days. */
export interface RetentionDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

const COUNT_RULES = [
  'keepLast',
  'keepHourly',
  'keepDaily',
  'keepWeekly',
  'keepMonthly',
  'keepYearly',
] as const;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Parses "14d", "36h", "2w", "1y6m" (units y, m = months, w, d, h). Throws a config LifeboatError
 * on anything else, including minutes or seconds, which restic does not support either.
 */
export function parseDuration(text: string): RetentionDuration {
  const invalid = () =>
    new LifeboatError('config', `invalid duration "${text}": expected e.g. 14d, 36h, 2w, 1y6m`);
  const trimmed = text.trim();
  if (!/^(\d+[ymwdh])+$/.test(trimmed)) throw invalid();

  const duration: RetentionDuration = { years: 0, months: 0, days: 0, hours: 0 };
  for (const [, digits = '', unit] of trimmed.matchAll(/(\d+)([ymwdh])/g)) {
    const n = Number(digits);
    if (unit === 'y') duration.years += n;
    else if (unit === 'm') duration.months += n;
    else if (unit === 'w') duration.days += 7 * n;
    else if (unit === 'd') duration.days += n;
    else duration.hours += n;
  }
  if (!Object.values(duration).every(Number.isSafeInteger)) throw invalid();
  return duration;
}

/**
 * True when the policy has no keep rule, so it keeps everything. As in restic, a rule set to 0
 * (or keepWithin "0d") counts as not set; otherwise `keepLast: 0` alone would delete all but one.
 */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  if (COUNT_RULES.some((rule) => (policy[rule] ?? 0) !== 0)) return false;
  if (policy.keepWithin === undefined) return true;
  try {
    return isZero(parseDuration(policy.keepWithin));
  } catch {
    return false; // a malformed rule is still a rule; applyRetention reports it
  }
}

/** Decides keep or remove for every item; returns them newest first. Does not modify `items`. */
export function applyRetention(
  items: RetentionItem[],
  policy: RetentionPolicy,
  opts: { timeZone?: string } = {},
): RetentionDecision[] {
  for (const rule of [...COUNT_RULES, 'minKeep'] as const) checkCount(rule, policy[rule]);
  const within = policy.keepWithin === undefined ? undefined : parseDuration(policy.keepWithin);
  const calendar = zoneCalendar(opts.timeZone ?? 'UTC');

  const sorted = items.map(({ id, time }) => {
    if (Number.isNaN(time.getTime())) {
      throw new LifeboatError('failed', `apply retention: backup "${id}" has an invalid time`);
    }
    return { id, time: new Date(time.getTime()) };
  });
  // Ties on time are broken by id so the result never depends on the input order.
  sorted.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const reasons: string[][] = sorted.map(() => []);
  const newest = sorted[0];
  if (newest === undefined) return [];

  if (isEmptyPolicy(policy)) {
    reasons.forEach((r) => r.push('no retention policy'));
  } else {
    const keepLast = policy.keepLast ?? 0;
    // Measured from the newest backup, not the clock: a job that stopped running keeps its history.
    const cutoff = within && !isZero(within) ? calendar.subtract(newest.time, within) : undefined;
    const withinReason = `within ${policy.keepWithin?.trim()}`;
    const buckets = [
      { kind: 'hourly', left: policy.keepHourly ?? 0, key: hourKey },
      { kind: 'daily', left: policy.keepDaily ?? 0, key: dayKey },
      { kind: 'weekly', left: policy.keepWeekly ?? 0, key: isoWeekKey },
      { kind: 'monthly', left: policy.keepMonthly ?? 0, key: monthKey },
      { kind: 'yearly', left: policy.keepYearly ?? 0, key: yearKey },
    ].map((bucket) => ({ ...bucket, lastKey: '' }));

    sorted.forEach((item, index) => {
      const why = reasons[index]!;
      if (cutoff !== undefined && item.time.getTime() > cutoff) why.push(withinReason);
      if (index < keepLast) why.push(`last ${keepLast}`);
      const fields = calendar.fields(item.time.getTime());
      for (const bucket of buckets) {
        if (bucket.left === 0) continue;
        // Newest first, so the first backup seen in a bucket is the newest one in it.
        const key = bucket.key(fields);
        if (key === bucket.lastKey) continue;
        bucket.lastKey = key;
        bucket.left--;
        why.push(`${bucket.kind} ${key}`);
      }
    });
  }

  const minKeep = policy.minKeep ?? 1;
  let kept = reasons.filter((r) => r.length > 0).length;
  for (const why of reasons) {
    if (kept >= minKeep) break;
    if (why.length > 0) continue;
    why.push(`minKeep ${minKeep}`);
    kept++;
  }
  // Every rule above already keeps the newest backup; this makes the guarantee hold by construction.
  if (reasons[0]!.length === 0) reasons[0]!.push('newest backup');

  return sorted.map((item, index) => {
    const why = reasons[index]!;
    return { id: item.id, time: item.time, keep: why.length > 0, reasons: why };
  });
}

function checkCount(rule: string, value: number | undefined): void {
  if (value === undefined || (Number.isInteger(value) && value >= 0)) return;
  throw new LifeboatError(
    'config',
    `apply retention: ${rule} must be a whole number 0 or more, got ${value}`,
  );
}

function isZero(d: RetentionDuration): boolean {
  return d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0;
}

/** Wall-clock calendar fields in some zone (month 1–12). */
interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Calendar arithmetic in one IANA zone, via Intl only, so the result never depends on process.env.TZ. */
function zoneCalendar(timeZone: string) {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      calendar: 'gregory',
      numberingSystem: 'latn',
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch (cause) {
    throw new LifeboatError('config', `apply retention: unknown time zone "${timeZone}"`, { cause });
  }

  const fields = (ms: number): Fields => {
    const out: Record<string, number> = {};
    for (const part of format.formatToParts(ms)) out[part.type] = Number(part.value);
    const { year = NaN, month = NaN, day = NaN, hour = NaN, minute = NaN, second = NaN } = out;
    return { year, month, day, hour, minute, second };
  };

  // How far the zone's wall clock is ahead of UTC at this instant (whole seconds).
  const offsetAt = (ms: number): number => {
    const whole = Math.floor(ms / 1000) * 1000;
    return wallMs(fields(whole)) - whole;
  };

  return {
    fields,
    /**
     * `time` minus years, months and days on the zone's wall clock, then minus hours of real time,
     * like Go's t.AddDate(-y, -m, -d).Add(-h): so "1d" across a DST change is 23 or 25 hours, and
     * March 31 minus "1m" overflows February to March 3 (Go normalizes the same way).
     */
    subtract(time: Date, d: RetentionDuration): number {
      const ms = time.getTime();
      const f = fields(ms);
      const wall = wallMs({ ...f, year: f.year - d.years, month: f.month - d.months, day: f.day - d.days });
      const target = wall + (((ms % 1000) + 1000) % 1000);
      // Two passes settle the offset; a wall time skipped by DST lands just after the gap.
      const instant = target - offsetAt(target - offsetAt(target));
      const cutoff = instant - d.hours * HOUR_MS;
      // Beyond the Date range: everything is within.
      return Number.isNaN(cutoff) ? -Infinity : cutoff;
    },
  };
}

/** Wall-clock fields as if they were UTC, normalizing overflow (month 0 is December of the year before). */
function wallMs(f: Fields): number {
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(f.year, f.month - 1, f.day);
  date.setUTCHours(f.hour, f.minute, f.second, 0);
  return date.getTime();
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const yearKey = (f: Fields) => pad(f.year, 4);
const monthKey = (f: Fields) => `${yearKey(f)}-${pad(f.month)}`;
const dayKey = (f: Fields) => `${monthKey(f)}-${pad(f.day)}`;
const hourKey = (f: Fields) => `${dayKey(f)}T${pad(f.hour)}`;

/** ISO 8601 week of the local date, e.g. "2020-W53"; the week-year can differ from the calendar year. */
function isoWeekKey(f: Fields): string {
  const date = wallMs({ ...f, hour: 0, minute: 0, second: 0 });
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  // A week belongs to the year that holds its Thursday.
  const thursday = date + (3 - weekday) * DAY_MS;
  const weekYear = new Date(thursday).getUTCFullYear();
  const firstJan = wallMs({ year: weekYear, month: 1, day: 1, hour: 0, minute: 0, second: 0 });
  const week = Math.floor((thursday - firstJan) / (7 * DAY_MS)) + 1;
  return `${pad(weekYear, 4)}-W${pad(week)}`;
}
