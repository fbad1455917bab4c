/**
 * From the config to what the scheduler takes: one backup and one drill task per job (scheduled when
 * the job or its drill has a `schedule`, else started only through the API), and `server:`'s
 * jitter, retries, deadline, grace period and history retention in milliseconds.
 */
import type { Config, ServerConfig } from '../config/schema.js';
import { parseDuration } from '../core/retention.js';
import type { RetryPolicy } from '../util/backoff.js';
import type { ScheduledTask } from './types.js';

export interface SchedulerSettings {
  jitterMs: number;
  retry: RetryPolicy;
  deadlineMs?: number;
  graceMs: number;
  /** Finished runs older than this are pruned from the history. */
  historyRetentionMs: number;
}

export function scheduledTasks(config: Pick<Config, 'jobs'>): ScheduledTask[] {
  return Object.entries(config.jobs).flatMap(([job, cfg]): ScheduledTask[] => [
    { job, kind: 'backup', ...(cfg.schedule && { schedule: cfg.schedule }) },
    { job, kind: 'drill', ...(cfg.drill?.schedule && { schedule: cfg.drill.schedule }) },
  ]);
}

/** `server` may be absent: every setting has its schema default then. */
export function schedulerSettings(server: Partial<ServerConfig> | undefined): SchedulerSettings {
  const retries = server?.retries ?? { attempts: 3, baseDelaySeconds: 30, maxDelaySeconds: 600 };
  return {
    jitterMs: (server?.jitterSeconds ?? 0) * 1000,
    retry: {
      maxAttempts: retries.attempts,
      baseDelayMs: retries.baseDelaySeconds * 1000,
      maxDelayMs: retries.maxDelaySeconds * 1000,
    },
    ...(server?.runDeadline && { deadlineMs: durationMs(server.runDeadline) }),
    graceMs: (server?.graceSeconds ?? 30) * 1000,
    historyRetentionMs: durationMs(server?.historyRetention ?? '90d'),
  };
}

/**
 * A config duration ("6h", "90d", "1y") as milliseconds. Months count 30 days and years 365: close
 * enough for a deadline or how long to keep run history, which need no calendar.
 */
export function durationMs(text: string): number {
  const d = parseDuration(text);
  return ((d.years * 365 + d.months * 30 + d.days) * 24 + d.hours) * 3600 * 1000;
}
