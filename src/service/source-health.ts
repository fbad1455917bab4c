/**
 * Source health for `lifeboat serve` (SPEC §4: `/status/summary` says per source `up`/`down`):
 * probes each job's source once at start and then every interval, each probe bounded by a short
 * timeout, and keeps the last result per job in memory. Readers (the HTTP request path) only ever
 * see the cache, so a source that hangs can slow nothing but its own probe.
 *
 * What a probe does depends on the source type and lives in source-probes.ts; this file only
 * schedules probes, times them out and remembers their outcome.
 */
import { oneLine } from '../util/errors.js';
import { systemClock, type Clock } from '../util/clock.js';

/** The last probe of one job's source; the same shape as the storages' health. */
export interface SourceStatus {
  /** The job the source belongs to. */
  name: string;
  up: boolean;
  /** When the probe finished (ISO 8601). */
  checkedAt: string;
  /** One redacted line, when down. */
  error?: string;
}

export interface SourceCheck {
  /** The job's name. */
  name: string;
  /** Resolves when the source answers; rejects with why not. Must give up when `signal` aborts. */
  probe(signal: AbortSignal): Promise<void>;
}

export interface SourceHealth {
  /** The last result per source, in job order; no I/O. Sources never probed yet are left out. */
  statuses(): SourceStatus[];
  /** Probes every source now (all at once) and resolves when each has a result. */
  probeAll(signal?: AbortSignal): Promise<SourceStatus[]>;
  /** Probes now, then every interval, until stop(). */
  start(): void;
  stop(): Promise<void>;
}

export interface SourceHealthOptions {
  sources: SourceCheck[];
  clock?: Clock;
  /** Between probe rounds; default 60 s. */
  intervalMs?: number;
  /** A source that has not answered by then is down; default 5 s. */
  timeoutMs?: number;
  /** Makes an error line safe to show (Redactor.redact): a driver's message may quote a URL. */
  redact?: (text: string) => string;
  /** Called with every new result, e.g. to move the source-up metric. */
  onProbe?: (status: SourceStatus) => void;
}

export function createSourceHealth(opts: SourceHealthOptions): SourceHealth {
  const clock = opts.clock ?? systemClock;
  const intervalMs = opts.intervalMs ?? 60_000;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const redact = opts.redact ?? ((text: string) => text);
  const last = new Map<string, SourceStatus>();
  let loop: { controller: AbortController; done: Promise<void> } | undefined;

  async function probeOne(check: SourceCheck, outer?: AbortSignal): Promise<SourceStatus> {
    const controller = new AbortController();
    const onOuter = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuter, { once: true });
    const timer = new AbortController();
    // The race, not the probe's good will, bounds the wait: a probe that ignores its signal still
    // cannot hold the round (its late settlement is dropped).
    const timedOut = clock.sleep(timeoutMs, timer.signal).then(
      () => {
        controller.abort(new Error(`no answer within ${timeoutMs / 1000}s`));
        throw controller.signal.reason;
      },
      () => new Promise<never>(() => {}), // disarmed: the probe settled first
    );
    let error: unknown;
    try {
      await Promise.race([check.probe(controller.signal), timedOut]);
    } catch (err) {
      error = err;
    } finally {
      timer.abort();
      outer?.removeEventListener('abort', onOuter);
    }
    const status: SourceStatus = {
      name: check.name,
      up: error === undefined,
      checkedAt: clock.now().toISOString(),
      ...(error !== undefined && { error: redact(`check source of ${check.name}: ${oneLine(error)}`) }),
    };
    // Being stopped says nothing about the source: keep what was known.
    if (outer?.aborted) return last.get(check.name) ?? status;
    last.set(check.name, status);
    try {
      opts.onProbe?.(status);
    } catch {
      // a listener's bug must not stop the probes
    }
    return status;
  }

  const probeAll = (signal?: AbortSignal) => Promise.all(opts.sources.map((s) => probeOne(s, signal)));

  return {
    statuses: () => opts.sources.flatMap((s) => last.get(s.name) ?? []),
    probeAll,
    start() {
      if (loop) return;
      const controller = new AbortController();
      const done = (async () => {
        while (!controller.signal.aborted) {
          await probeAll(controller.signal);
          try {
            await clock.sleep(intervalMs, controller.signal);
          } catch {
            return; // stopped
          }
        }
      })();
      loop = { controller, done };
    },
    async stop() {
      const current = loop;
      loop = undefined;
      current?.controller.abort(new Error('source health stopped'));
      await current?.done;
    },
  };
}
