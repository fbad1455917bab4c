/** Waiting on a Writable that said "later" (write() returned false). */
import type { Writable } from 'node:stream';

/**
 * Resolves once `into` has drained or closed, whichever comes first: a closed stream will never
 * drain, and the caller learns why from its own outcome, not from a write that hangs.
 */
export function writableAgain(into: Writable): Promise<void> {
  return new Promise<void>((resolve) => {
    const go = () => {
      into.off('drain', go);
      into.off('close', go);
      resolve();
    };
    into.once('drain', go);
    into.once('close', go);
  });
}
