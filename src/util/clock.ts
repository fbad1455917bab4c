/** Time, injectable so scheduler, catalog cache and alert tests run on a fake clock. */
import { sleep } from './sleep.js';

export interface Clock {
  now(): Date;
  /** Resolves after `ms` (or rejects with the signal's reason when it aborts first). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep,
};
