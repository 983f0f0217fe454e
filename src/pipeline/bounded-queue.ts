/**
 * A FIFO between two stages, bounded by a byte budget (Vitess relaylog): the producer pushes
 * synchronously and is told to pause when the budget is exceeded and to resume below half of it; the
 * consumer takes everything available as one batch.
 */
export class BoundedQueue<T> {
  private items: T[] = [];
  private bytes = 0;
  private waiter: (() => void) | undefined;
  private over = false;
  /** Bumped by clear(): a take() that waited across a clear returns nothing (see take). */
  private epoch = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (item: T) => number,
    private readonly hooks: { onFull?: () => void; onDrained?: () => void } = {},
  ) {}

  push(item: T): void {
    this.items.push(item);
    this.bytes += this.sizeOf(item);
    if (!this.over && this.bytes > this.maxBytes) {
      this.over = true;
      this.hooks.onFull?.();
    }
    this.waiter?.();
  }

  /**
   * Wait until at least one item is available (or `timeoutMs` passes), then take items from the head up
   * to `maxBatchBytes` (at least one). A take that was waiting when the queue was cleared returns
   * nothing: its caller belongs to the epoch before the clear (a stage restarting from its checkpoint),
   * and must not receive — and then discard as stale — the first items of the new one.
   */
  async take(maxBatchBytes: number, timeoutMs: number): Promise<T[]> {
    if (this.items.length === 0) {
      const epoch = this.epoch;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiter = done;
      });
      this.waiter = undefined;
      if (epoch !== this.epoch) return [];
    }
    let n = 0;
    let taken = 0;
    while (n < this.items.length && (n === 0 || taken + this.sizeOf(this.items[n] as T) <= maxBatchBytes)) {
      taken += this.sizeOf(this.items[n] as T);
      n++;
    }
    const batch = this.items.splice(0, n);
    this.bytes -= taken;
    if (this.over && this.bytes <= this.maxBytes / 2) {
      this.over = false;
      this.hooks.onDrained?.();
    }
    return batch;
  }

  /** Drop everything queued. */
  clear(): void {
    this.epoch++;
    this.waiter?.();
    this.items = [];
    this.bytes = 0;
    if (this.over) {
      this.over = false;
      this.hooks.onDrained?.();
    }
  }

  /** Wake a waiting take() now (e.g. on shutdown). */
  wake(): void {
    this.waiter?.();
  }

  get length(): number {
    return this.items.length;
  }

  get size(): number {
    return this.bytes;
  }
}
