/**
 * The listing of a bucket a little ahead of the snapshot's window, so that large objects start
 * early. The window reads objects in key order (the index is written in that order); a multi-GB
 * object late in key order would be read last and alone, one stream while the rest of the machine
 * idles. Seen up to LOOKAHEAD objects ahead, it starts at once and overlaps the small ones; of the
 * large objects seen, the largest goes first.
 */
import type { ListedObject } from './bucket-client.js';

/** How far the listing runs ahead of the window (listed objects held: a few hundred KB). */
export const LOOKAHEAD = 2000;
/** Large objects read ahead of their turn at once (each streams to a temp file: little memory). */
export const EARLY_LARGE = 1;

/**
 * Which candidate starts early: the largest seen so far. The longest read going first is what ends
 * the run soonest (a 2 GB object after three 32 MB ones would start seconds later and end last);
 * among equals the first in key order.
 */
function largest(candidates: ListedObject[]): number {
  let at = 0;
  for (let i = 1; i < candidates.length; i++) if (candidates[i]!.size > candidates[at]!.size) at = i;
  return at;
}

export interface ListAheadOptions<T> {
  /** Whether a listed object belongs to the snapshot (not excluded). */
  keep: (o: ListedObject) => boolean;
  /** Whether it is large enough to start ahead of its turn. */
  large: (o: ListedObject) => boolean;
  /** Reads the object (its capture); called once per object, early or in turn. */
  capture: (o: ListedObject) => Promise<T>;
}

export function listAhead<T>(listing: AsyncIterable<ListedObject>, opts: ListAheadOptions<T>) {
  const it = listing[Symbol.asyncIterator]();
  const queue: ListedObject[] = [];
  const large: ListedObject[] = [];
  const early = new Map<ListedObject, Promise<T>>();
  let running = 0;
  let listed = false;
  const own = (p: Promise<T>) => {
    // Awaited by the window in turn (or at the end); a rejection is not unhandled meanwhile.
    p.catch(() => {});
    return p;
  };
  const startEarly = () => {
    while (running < EARLY_LARGE && large.length > 0) {
      const o = large.splice(largest(large), 1)[0]!;
      running++;
      early.set(
        o,
        own(
          opts.capture(o).finally(() => {
            running--;
          }),
        ),
      );
    }
  };
  return {
    /** The next object's capture, in key order (wrapped: a promise resolved with a promise would wait for it). */
    async next(): Promise<{ entry: Promise<T> } | undefined> {
      while (!listed && queue.length < LOOKAHEAD) {
        const n = await it.next();
        if (n.done) listed = true;
        else if (opts.keep(n.value)) {
          queue.push(n.value);
          if (opts.large(n.value)) large.push(n.value);
        }
      }
      startEarly();
      const o = queue.shift();
      if (!o) return undefined;
      const started = early.get(o);
      if (started) {
        early.delete(o);
        return { entry: started };
      }
      // Its turn came before an early start: it starts here, and is no longer a candidate. Both
      // lists are in key order (an early start takes from anywhere in `large`, which keeps the
      // rest in order) and every earlier large object has left `large` (started early, or taken
      // here), so a large one is at its head: no search through up to LOOKAHEAD entries.
      if (large[0] === o) large.shift();
      return { entry: own(opts.capture(o)) };
    },
    /** Captures started early that the window has not taken yet (to await when it stops). */
    started: () => [...early.values()],
    /** Lets go of the listing (a window that stopped early). */
    close: async () => {
      await it.return?.();
    },
  };
}
