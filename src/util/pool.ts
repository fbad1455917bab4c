/**
 * Bounded concurrency: work over many items (blobs to restore or read back) a few at a time, with
 * every lane awaited on every path, so no rejection is left without an owner.
 */
/** Runs `work` over `items` with at most `n` at once; the first failure stops the rest. */
export async function pool<T>(
  items: T[],
  n: number,
  signal: AbortSignal,
  work: (item: T, signal: AbortSignal) => Promise<void>,
) {
  const stop = new AbortController();
  const s = AbortSignal.any([signal, stop.signal]);
  let next = 0;
  const lanes = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length && !s.aborted) await work(items[next++]!, s);
  });
  const settled = await Promise.allSettled(
    lanes.map((l) => l.catch((err: unknown) => (stop.abort(err), Promise.reject(err)))),
  );
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
