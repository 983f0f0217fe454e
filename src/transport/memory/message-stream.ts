/**
 * An in-memory MessageStream (model/ports.ts) for unit tests of pure logic and of the applier: one
 * ordered partition held in an array. Delivery follows the port's contract — from the offset asked
 * for, one message at a time, the next once the handler resolved — and waits for appends when caught
 * up. It never replaces Kafka in an integration test (DESIGN.md section 10).
 */
import type { MessageStream, StoredMessage } from '../../model/ports.js';

export class MemoryMessageStream implements MessageStream {
  /** The partition's messages; a message's offset is its index. */
  readonly messages: StoredMessage[] = [];
  /** The offset of every start (undefined: the earliest), in order. */
  readonly starts: (string | undefined)[] = [];
  /** The last offset recorded through `commit`. */
  committed: string | undefined;
  private run: { stopped: boolean; delivering: Promise<void>; onFailure?: (err: Error) => void } | undefined;
  private wakeUp: (() => void) | undefined;

  /** Append a message; returns its offset. */
  append(value: Buffer | null, key: string | null = null): string {
    const offset = String(this.messages.length);
    this.messages.push({ offset, key, value });
    this.wakeUp?.();
    return offset;
  }

  async start(offset: string | undefined, handler: (m: StoredMessage) => Promise<void>, onFailure?: (err: Error) => void): Promise<void> {
    if (this.run && !this.run.stopped) throw new Error('memory stream: already started');
    this.starts.push(offset);
    const run = { stopped: false, delivering: Promise.resolve(), ...(onFailure ? { onFailure } : {}) };
    run.delivering = this.deliver(run, Number(offset ?? 0), handler);
    this.run = run;
  }

  async stop(): Promise<void> {
    const run = this.run;
    if (!run) return;
    run.stopped = true;
    this.wakeUp?.();
    await run.delivering;
  }

  async commit(nextOffset: string): Promise<void> {
    this.committed = nextOffset;
  }

  /** Make the running stream die, as a consumer crash would: its `onFailure` hears of `err`. */
  crash(err: Error): void {
    const run = this.run;
    if (!run || run.stopped) return;
    run.stopped = true;
    this.wakeUp?.();
    run.onFailure?.(err);
  }

  private async deliver(run: { stopped: boolean }, from: number, handler: (m: StoredMessage) => Promise<void>): Promise<void> {
    await Promise.resolve(); // start() resolves before the first delivery, as with Kafka
    for (let next = from; !run.stopped; ) {
      const m = this.messages[next];
      if (!m) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        continue;
      }
      await handler(m);
      next++;
    }
  }
}
