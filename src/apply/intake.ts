/**
 * Intake of one origin's stream: messages (in order) → reassembler → a queue bounded by bytes. The
 * stream's handler resolves only when there is room again, so a slow target pauses the Kafka reads
 * (back-pressure) instead of filling memory. Undecodable messages go to the dead-letter topic (their
 * offsets still count, as `skip` units).
 *
 * Each start is an epoch: after a reset, messages still arriving from the previous start are ignored.
 */
import type { MessageStream, StoredMessage } from '../model/ports.js';
import type { Logger } from '../ops/logger.js';
import { BoundedQueue } from '../pipeline/bounded-queue.js';
import { Reassembler, type Unit } from './reassembler.js';

export interface IntakeDeps {
  origin: string;
  stream: MessageStream;
  /** Queue budget: above it the stream's handler waits. */
  maxBufferBytes: number;
  log: Logger;
  /** Send an undecodable message to the dead-letter topic (counted by the caller). */
  deadLetter(m: StoredMessage, reason: string): Promise<void>;
}

/** How long a waiting handler sleeps at most before checking the budget again. */
const RECHECK_MS = 1000;

export class Intake {
  private readonly queue: BoundedQueue<Unit>;
  private readonly reassembler: Reassembler;
  private epoch = 0;
  private stopped = false;
  private drained: (() => void) | undefined;

  constructor(private readonly deps: IntakeDeps) {
    this.reassembler = new Reassembler(deps.origin);
    this.queue = new BoundedQueue<Unit>(deps.maxBufferBytes, (u) => u.bytes, { onDrained: () => this.drained?.() });
  }

  /** Bytes waiting to be applied. */
  get size(): number {
    return this.queue.size;
  }

  /** Start delivering from `offset` (the earliest when undefined). `onFailure`: the stream died. */
  start(offset: string | undefined, onFailure: (err: Error) => void): Promise<void> {
    const epoch = this.epoch;
    return this.deps.stream.start(offset, (m) => this.accept(m, epoch), onFailure);
  }

  /** Units from the head of the queue, up to `maxBytes` (see BoundedQueue.take). */
  take(maxBytes: number, timeoutMs: number): Promise<Unit[]> {
    return this.queue.take(maxBytes, timeoutMs);
  }

  /**
   * Stop the stream (resolves when no handler call runs). Messages of this start still arriving are
   * ignored from now on, and a waiting handler is released.
   */
  async stopStream(): Promise<void> {
    this.epoch++;
    this.drained?.();
    await this.deps.stream.stop();
  }

  /** Forget what is queued and half-reassembled: the stream restarts from the applied position. */
  reset(): void {
    this.queue.clear();
    this.reassembler.reset();
  }

  /** No more intake (shutdown); wakes a waiting take(). */
  close(): void {
    this.stopped = true;
    this.drained?.();
    this.queue.wake();
  }

  /** Wake a waiting take() (a recovery or a stop is under way). */
  wake(): void {
    this.queue.wake();
  }

  /** Record how far the stream has been applied (backlog monitoring). */
  commit(nextOffset: string): Promise<void> {
    return this.deps.stream.commit(nextOffset);
  }

  /** Take one message from the stream (in order); resolves when there is room for more. */
  private async accept(m: StoredMessage, epoch: number): Promise<void> {
    const current = () => epoch === this.epoch && !this.stopped;
    if (!current()) return;
    const { units, deadLetter } = this.reassembler.next(m);
    if (deadLetter) {
      this.deps.log.error({ offset: m.offset, reason: deadLetter }, 'message sent to the dead-letter topic');
      await this.deps.deadLetter(m, deadLetter);
    }
    for (const u of units) this.queue.push(u);
    while (this.queue.size > this.deps.maxBufferBytes && current()) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, RECHECK_MS);
      });
    }
  }
}
