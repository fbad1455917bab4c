/**
 * Streams one source into several consumers (one per storage) with backpressure: the source moves
 * at the pace of the slowest live consumer. A consumer that fails is dropped and the others go on;
 * when the source fails, every consumer sees the error (so none commits).
 */
import { PassThrough } from 'node:stream';
import { once } from 'node:events';

export async function fanOut<T>(
  source: AsyncIterable<Uint8Array>,
  consumers: Array<(body: AsyncIterable<Uint8Array>) => Promise<T>>,
): Promise<PromiseSettledResult<T>[]> {
  const lanes = consumers.map((consume) => {
    const pass = new PassThrough({ highWaterMark: 1 << 20 });
    // The source's error reaches the consumer through its reads; a consumer that is not reading
    // yet (still opening its file) must not turn it into an uncaught 'error' event.
    pass.on('error', () => {});
    const lane = { pass, alive: true, result: undefined as unknown as Promise<T> };
    lane.result = consume(pass).finally(() => {
      lane.alive = false;
    });
    // Whatever the consumer did, its lane stops receiving bytes once its promise settles.
    lane.result.catch(() => {});
    return lane;
  });
  try {
    for await (const chunk of source) {
      const live = lanes.filter((l) => l.alive);
      if (live.length === 0) break;
      await Promise.all(
        live.map(async (l) => {
          if (!l.pass.write(chunk)) {
            await Promise.race([
              once(l.pass, 'drain'),
              l.result.then(
                () => undefined,
                () => undefined,
              ),
            ]);
          }
        }),
      );
    }
    for (const l of lanes) l.pass.end();
  } catch (err) {
    for (const l of lanes) l.pass.destroy(err as Error);
  }
  return Promise.allSettled(lanes.map((l) => l.result));
}
