/**
 * Reused buffers for work that holds many short-lived byte runs of similar sizes (a bucket
 * backup's objects, one at a time per lane). A fresh buffer that lives across a few young-generation
 * collections (an object held while it is hashed, encoded and uploaded) is promoted, and promoted
 * buffers bring on full collections: fresh buffers per 1 MiB object cost a bucket backup 100-250
 * of them, about a third of its CPU. A buffer taken from here and given back is never garbage.
 *
 * Capacities are powers of two from 64 KiB, so a buffer fits every later request of its class;
 * free buffers are kept up to `maxFreeBytes` in all, beyond which a given-back buffer is let go.
 */
const MIN_CLASS = 64 * 1024;

/** The capacity of the class that holds `size` bytes. */
export function classOf(size: number): number {
  return size <= MIN_CLASS ? MIN_CLASS : 2 ** Math.ceil(Math.log2(size));
}

export class BytePool {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;

  constructor(private readonly maxFreeBytes: number) {}

  /** A buffer of at least `size` bytes (its class's capacity); its contents are not zeroed. */
  take(size: number): Buffer {
    const capacity = classOf(size);
    const buf = this.free.get(capacity)?.pop();
    if (!buf) return Buffer.allocUnsafeSlow(capacity);
    this.freeBytes -= capacity;
    return buf;
  }

  /**
   * Returns a buffer from take() once nothing reads or writes it any more (an upload that may
   * still send it, an encoder that may still read it: give it back only after they settled).
   */
  give(buf: Buffer): void {
    if (this.freeBytes + buf.length > this.maxFreeBytes || buf.length !== classOf(buf.length)) return;
    const list = this.free.get(buf.length) ?? [];
    list.push(buf);
    this.free.set(buf.length, list);
    this.freeBytes += buf.length;
  }
}
