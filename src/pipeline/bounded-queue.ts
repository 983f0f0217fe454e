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
   * to `maxBatchBytes` (at least one).
   */
  async take(maxBatchBytes: number, timeoutMs: number): Promise<T[]> {
    if (this.items.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiter = done;
      });
      this.waiter = undefined;
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
