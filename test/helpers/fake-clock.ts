/**
 * A Clock whose time only moves when a test says so, for scheduler, alert and server tests.
 * `advance()` walks through the pending sleeps in due order, waking each and letting the code it
 * resumes run (and register its next sleep) before going further, so a test can jump a day ahead
 * and see every cron run of that day happen in order.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

import type { Clock } from '../../src/util/clock.js';

interface Sleeper {
  due: number;
  seq: number;
  resolve: () => void;
}

export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly sleepers = new Set<Sleeper>();

  constructor(start: Date | string | number) {
    this.time = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.time);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      // Like setTimeout(0): due now, so it needs no advance() — only a turn of the event loop.
      if (ms <= 0) return void setImmediate(resolve);
      const sleeper: Sleeper = {
        due: this.time + ms,
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.sleepers.delete(sleeper);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.add(sleeper);
    });
  }

  /** How many sleeps are waiting. */
  pending(): number {
    return this.sleepers.size;
  }

  /** When the earliest pending sleep is due, if any. */
  nextDue(): Date | undefined {
    const first = this.earliest(Infinity);
    return first ? new Date(first.due) : undefined;
  }

  /** Moves time forward by `ms`, waking every sleep that comes due on the way, in order. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.time + ms);
  }

  /** Moves time forward to `to` (never backwards), waking sleeps on the way. */
  async advanceTo(to: Date | string | number): Promise<void> {
    const target = new Date(to).getTime();
    await this.flush();
    for (;;) {
      const sleeper = this.earliest(target);
      if (!sleeper) break;
      this.sleepers.delete(sleeper);
      this.time = Math.max(this.time, sleeper.due);
      sleeper.resolve();
      await this.flush();
    }
    this.time = Math.max(this.time, target);
    await this.flush();
  }

  /** Lets every promise chain that is ready run to its next real wait. */
  async flush(): Promise<void> {
    // One macrotask turn drains the whole microtask queue; a few more cover promise chains that
    // hop through a resolved I/O callback (e.g. a fake run resolving via setImmediate).
    for (let i = 0; i < 5; i++) await nextTurn();
  }

  private earliest(limit: number): Sleeper | undefined {
    let best: Sleeper | undefined;
    for (const s of this.sleepers) {
      if (s.due > limit) continue;
      if (!best || s.due < best.due || (s.due === best.due && s.seq < best.seq)) best = s;
    }
    return best;
  }
}
