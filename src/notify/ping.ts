/**
 * The `ping` target (SPEC §8): a run's start and end in the healthchecks.io convention —
 * `URL/start` when it starts, `URL` when it succeeds, `URL/fail` when it fails — each a POST whose
 * body is the run's last log lines. An outside monitor that expects a ping every period then
 * notices a run that never started (a CronJob never scheduled, a node gone), which no alert sent
 * by the run itself can. The URL (it carries the check's key) never reaches a log line.
 */
import { randomUUID } from 'node:crypto';
import type { PingNotifyConfig } from '../config/notify.js';
import type { RunKind } from '../history/types.js';
import { postText } from './http-post.js';

export type PingEvent = 'start' | 'success' | 'fail';

export interface Pinger {
  /** "ping #2 (hc-ping.com)": the position and host, never the URL. */
  readonly name: string;
  wants(job: string, kind: RunKind): boolean;
  send(
    job: string,
    event: PingEvent,
    body: string,
    opts: { runId: string; signal?: AbortSignal },
  ): Promise<void>;
}

/** healthchecks.io keeps at most 100 kB of a ping's body; the last lines are what matter. */
export const PING_BODY_MAX = 10_000;

/**
 * The URL for one event: `{job}` replaced by the job's name, then `/start` or `/fail` appended to
 * the path (a query string stays last). `rid` pairs a start with its end, so healthchecks.io
 * measures each run's duration even when two overlap.
 */
export function pingUrl(base: string, job: string, event: PingEvent, runId: string): string {
  const url = new URL(base.replaceAll('{job}', encodeURIComponent(job)));
  const suffix = event === 'success' ? '' : `/${event}`;
  url.pathname = url.pathname.replace(/\/+$/, '') + suffix;
  url.searchParams.set('rid', runId);
  return url.toString();
}

/** The body: the last lines that fit in PING_BODY_MAX characters, oldest first. */
export function pingBody(lines: readonly string[]): string {
  const kept: string[] = [];
  let size = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    size += lines[i]!.length + 1;
    if (size > PING_BODY_MAX) break;
    kept.unshift(lines[i]!);
  }
  return kept.join('\n');
}

export function createPinger(
  target: PingNotifyConfig,
  name: string,
  opts: { fetch?: typeof fetch } = {},
): Pinger {
  const runs = new Set<RunKind>(target.runs);
  const jobs = target.jobs && new Set(target.jobs);
  return {
    name,
    wants: (job, kind) => runs.has(kind) && (!jobs || jobs.has(job)),
    send: (job, event, body, { runId, signal }) =>
      postText(pingUrl(target.url, job, event, runId), body, {
        name,
        action: `ping ${event}`,
        timeoutMs: target.timeoutSeconds * 1000,
        signal,
        fetch: opts.fetch,
      }),
  };
}

/** A run id for pingUrl: a UUID, as healthchecks.io requires. */
export const newRunId = (): string => randomUUID();
