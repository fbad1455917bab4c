/**
 * Retention: decides which committed backups of a job to keep and which to remove, and why. It
 * follows restic's `forget` (ApplyPolicy in internal/restic/snapshot_policy.go) so operators can
 * reason about it with documentation they already know. Pure and deterministic: the clock comes in
 * as `now`, there is no I/O, and calendar buckets come from the policy's IANA time zone, never from
 * the process's TZ.
 *
 * Only *good* backups fill keep slots (keepLast, the calendar buckets, minKeep). A backup is not good
 * when the caller says so (`problem`: incomplete, partial) or when it is dated after `now` (clock
 * skew). A backup that is not good is kept while it is newer than the newest good backup (it may hold
 * the latest data of what it does hold, and someone should look at it) and removed once a good
 * backup is newer; when there is no good backup at all, nothing is removed.
 *
 * Deliberate differences from restic:
 * - keepWithin counts from the newest backup that is not in the future (with `now` given), so one
 *   future-dated manifest cannot push every real backup out of the window.
 * - Newer restic also keeps the oldest snapshot while a bucket rule has counts left; we keep
 *   exactly the newest backup of each of the N most recent buckets that hold one.
 * - minKeep and the newest-good-backup guarantee are ours: retention never removes the newest good
 *   backup, nor leaves fewer than minKeep good ones.
 * - "w" (weeks) is accepted in durations; a repeated unit adds up instead of the last one winning.
 */
import { LifeboatError } from '../util/errors.js';

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Keep everything this close to the newest backup, e.g. "14d", "36h", "2w", "1y6m" ("m" is months). */
  keepWithin?: string;
  /** Never keep fewer than this many good backups, newest first. Default 1. */
  minKeep?: number;
}

/** A committed backup. */
export interface RetentionItem {
  id: string;
  time: Date;
  /** Why this backup is not good (e.g. "incomplete: app.sql.zst is missing"); absent when good. */
  problem?: string;
}

export interface RetentionOptions {
  /** IANA zone of the calendar buckets. Default UTC. */
  timeZone?: string;
  /** The clock: backups after it are future-dated, so not good and not the keepWithin anchor. */
  now?: Date;
}

export interface RetentionDecision {
  id: string;
  time: Date;
  keep: boolean;
  /** Why the backup is kept, e.g. "last 3", "daily 2026-11-20", "within 14d"; empty when removed. */
  reasons: string[];
  /** Set when the backup is not good: why it fills no keep slot ("dated in the future", the item's problem). */
  problem?: string;
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
  for (const [, digits, unit] of trimmed.matchAll(/(\d+)([ymwdh])/g)) {
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
  opts: RetentionOptions = {},
): RetentionDecision[] {
  for (const rule of [...COUNT_RULES, 'minKeep'] as const) checkCount(rule, policy[rule]);
  const within = policy.keepWithin === undefined ? undefined : parseDuration(policy.keepWithin);
  const calendar = zoneCalendar(opts.timeZone ?? 'UTC');
  const now = opts.now?.getTime() ?? Infinity;

  const sorted = items.map(({ id, time, problem }) => {
    if (Number.isNaN(time.getTime())) {
      throw new LifeboatError('failed', `apply retention: backup "${id}" has an invalid time`);
    }
    const future = time.getTime() > now ? `dated in the future (${time.toISOString()})` : undefined;
    return { id, time: new Date(time.getTime()), problem: future ?? problem };
  });
  // Ties on time are broken by id so the result never depends on the input order.
  sorted.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const reasons: string[][] = sorted.map(() => []);
  const newestGood = sorted.findIndex((item) => item.problem === undefined);

  if (isEmptyPolicy(policy)) {
    reasons.forEach((r) => r.push('no retention policy'));
  } else {
    // Measured from the newest backup, not the clock: a job that stopped running keeps its history.
    // Not from a future-dated one, though: clock skew must not push real backups out of the window.
    const anchor = sorted.find((item) => item.time.getTime() <= now);
    const cutoff = within && !isZero(within) && anchor ? calendar.subtract(anchor.time, within) : undefined;
    const withinReason = `within ${policy.keepWithin?.trim()}`;
    let lastLeft = policy.keepLast ?? 0;
    const buckets = [
      { kind: 'hourly', left: policy.keepHourly ?? 0, key: hourKey },
      { kind: 'daily', left: policy.keepDaily ?? 0, key: dayKey },
      { kind: 'weekly', left: policy.keepWeekly ?? 0, key: isoWeekKey },
      { kind: 'monthly', left: policy.keepMonthly ?? 0, key: monthKey },
      { kind: 'yearly', left: policy.keepYearly ?? 0, key: yearKey },
    ].map((bucket) => ({ ...bucket, lastKey: '' }));

    sorted.forEach((item, index) => {
      // A backup that is not good fills no slot: keepLast 1 must not "keep" only a corrupt one.
      if (item.problem !== undefined) return;
      const why = reasons[index]!;
      if (cutoff !== undefined && item.time.getTime() > cutoff) why.push(withinReason);
      if (lastLeft > 0) {
        why.push(`last ${policy.keepLast}`);
        lastLeft--;
      }
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

    // Not good and newer than every good backup (or no good backup at all): kept, see the top.
    sorted.forEach((item, index) => {
      if (item.problem === undefined || (newestGood >= 0 && index > newestGood)) return;
      reasons[index]!.push(newestGood >= 0 ? 'newer than the newest good backup' : 'no good backup');
    });
  }

  const minKeep = policy.minKeep ?? 1;
  let kept = sorted.filter((item, i) => item.problem === undefined && reasons[i]!.length > 0).length;
  sorted.forEach((item, index) => {
    const why = reasons[index]!;
    if (kept >= minKeep || item.problem !== undefined || why.length > 0) return;
    why.push(`minKeep ${minKeep}`);
    kept++;
  });
  // The guarantee, whatever the rules say (a keepWithin window anchored on a newer backup that is
  // not good can leave the newest good one outside it).
  if (newestGood >= 0 && reasons[newestGood]!.length === 0) reasons[newestGood]!.push('newest good backup');

  return sorted.map((item, index) => {
    const why = reasons[index]!;
    const decision: RetentionDecision = { id: item.id, time: item.time, keep: why.length > 0, reasons: why };
    if (item.problem !== undefined) decision.problem = item.problem;
    return decision;
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
      // Beyond the Date range ("300000y"): everything is within. Checked here, as the zone's
      // offset cannot be looked up for an invalid time (Intl throws a RangeError).
      if (Number.isNaN(wall)) return -Infinity;
      const target = wall + (((ms % 1000) + 1000) % 1000);
      // Two passes settle the offset; a wall time skipped by DST lands just after the gap.
      const instant = target - offsetAt(target - offsetAt(target));
      return instant - d.hours * HOUR_MS;
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
