/**
 * The `notify:` list (SPEC §8): alert targets (webhook, Slack, e-mail), which hear of failures,
 * stale jobs and recoveries, and `ping` targets, which hear of every run's start and end in the
 * healthchecks.io convention, so that a run that never starts is noticed from outside.
 */
import { z } from 'zod';
import { name, timerSeconds } from './fields.js';

const alertKinds = ['failure', 'drill-failure', 'stale', 'recovery'] as const;

/** Which alerts a target receives; all of them by default. */
const notifyOn = z
  .array(z.enum(alertKinds, { error: 'expected failure, drill-failure, stale or recovery' }))
  .min(1, 'expected at least one of failure, drill-failure, stale, recovery')
  .default([...alertKinds]);

const notifyTimeout = timerSeconds().default(10);

const webhookUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

/** A generic webhook: POSTs the alert as JSON ({kind, job, summary, since, error, at, text}). */
export const webhookNotifySchema = z.strictObject({
  type: z.literal('webhook'),
  url: webhookUrl,
  on: notifyOn,
  timeoutSeconds: notifyTimeout,
});

/** A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): POSTs {"text": …}. */
export const slackNotifySchema = z.strictObject({
  type: z.literal('slack'),
  url: webhookUrl,
  on: notifyOn,
  timeoutSeconds: notifyTimeout,
});

/** E-mail over SMTP. `secure: true` is TLS from the start (port 465); otherwise STARTTLS when offered. */
export const emailNotifySchema = z.strictObject({
  type: z.literal('email'),
  host: z.string().min(1, 'expected an SMTP host name'),
  port: z.number().int('expected a whole number').min(1).max(65535).default(587),
  secure: z.boolean().default(false),
  user: z.string().min(1).optional(),
  password: z.string().optional(),
  from: z.string().min(1, 'expected a sender address'),
  to: z.array(z.string().min(1)).min(1, 'expected at least one recipient'),
  on: notifyOn,
  timeoutSeconds: notifyTimeout,
});

/**
 * A dead man's switch (healthchecks.io, Uptime Kuma push, Cronitor …): `URL/start` when a run
 * starts, `URL` when it succeeds, `URL/fail` when it fails, the run's last log lines as the body.
 * `{job}` in the URL is the job's name, so one entry serves several jobs (healthchecks.io's
 * `https://hc-ping.com/PING_KEY/{job}` slugs).
 */
export const pingNotifySchema = z.strictObject({
  type: z.literal('ping'),
  url: webhookUrl,
  /** Which runs ping: backups by default (a check has one period; drills run on their own). */
  runs: z
    .array(z.enum(['backup', 'drill'], { error: 'expected backup or drill' }))
    .min(1, 'expected backup, drill or both')
    .default(['backup']),
  /** Only these jobs; every job by default. */
  jobs: z.array(name).min(1, 'expected at least one job name').optional(),
  timeoutSeconds: notifyTimeout,
});

export const notifySchema = z.discriminatedUnion(
  'type',
  [webhookNotifySchema, slackNotifySchema, emailNotifySchema, pingNotifySchema],
  {
    error: 'expected type webhook, slack, email or ping',
  },
);

export type NotifyConfig = z.infer<typeof notifySchema>;
export type PingNotifyConfig = z.infer<typeof pingNotifySchema>;
export type AlertNotifyConfig = Exclude<NotifyConfig, PingNotifyConfig>;

/**
 * What the schema cannot see alone: a ping target's jobs must exist, and one URL must not be
 * pinged by several jobs (their starts and ends would interleave: one job's success would hide
 * another's failure). Returns "path: problem", or undefined.
 */
export function pingTargetProblem(
  notify: readonly NotifyConfig[] | undefined,
  jobs: readonly string[],
): string | undefined {
  for (const [i, target] of (notify ?? []).entries()) {
    if (target.type !== 'ping') continue;
    for (const [j, job] of (target.jobs ?? []).entries())
      if (!jobs.includes(job))
        return `notify[${i}].jobs[${j}]: no job named "${job}" (have: ${jobs.join(', ') || 'none'})`;
    const pinged = target.jobs ?? jobs;
    if (pinged.length > 1 && !target.url.includes('{job}'))
      return `notify[${i}].url: ${pinged.length} jobs would ping one URL; put {job} in it (e.g. https://hc-ping.com/KEY/{job}) or name one job in jobs:`;
  }
  return undefined;
}
