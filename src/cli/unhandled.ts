/**
 * A promise that rejects with nobody listening is a bug in Lifeboat: every child's `done`, stream
 * error and timer has an owner that awaits it. Node's default for such a bug is to print a stack
 * trace and kill the process, which in `lifeboat serve` takes the scheduler, the API and the
 * alerts down with it, and in the CLI skips the cleanup of a failed run. Instead the process logs
 * one line (redacted by the caller's logger; the stack only with LIFEBOAT_DEBUG), counts it, and
 * goes on: the operation the promise belonged to still ends through its own path.
 */
import { oneLine } from '../util/errors.js';

type Listener = () => void;

const listeners = new Set<Listener>();
let seen = 0;

/** How many unhandled rejections this process has seen. */
export function unhandledRejections(): number {
  return seen;
}

/** Calls `fn` for every unhandled rejection from now on (serve counts them in its metrics). */
export function onUnhandledRejection(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The one line logged for an unhandled rejection. */
export function unhandledRejectionLine(reason: unknown): string {
  return `internal error (a bug in Lifeboat, please report it): unhandled promise rejection: ${oneLine(reason)}`;
}

/** Installs the process-wide handler; `log` writes one error line (and redacts it). */
export function installUnhandledRejectionHandler(log: (line: string) => void): void {
  process.on('unhandledRejection', (reason) => {
    seen++;
    try {
      log(unhandledRejectionLine(reason));
      if (process.env.LIFEBOAT_DEBUG) console.error(reason);
    } catch {
      // a broken logger must not turn a logged bug into a crash
    }
    for (const fn of listeners) {
      try {
        fn();
      } catch {
        // same: counting is best effort
      }
    }
  });
}
