import { randomBytes } from 'node:crypto';
import { Admin, Consumer, type BaseOptions } from '@platformatic/kafka';
import { DrcError } from '../../errors.js';
import type { MessageStream, StoredMessage } from '../../model/ports.js';
import { backoff } from './options.js';
import { rethrowFor, toDrcError } from './errors.js';
import { PartitionReader } from './partition-reader.js';

/**
 * Partition 0 of one topic, read_committed, from an offset chosen by the caller (the applied position
 * kept in the target database), one message at a time (PartitionReader: no consumer group, so a
 * daemon taking over from a killed one waits for nobody). A broker that cannot be reached is asked
 * again with backoff, without end, as kafkajs restarts its consumer; an error retrying cannot help,
 * or the handler's own, ends the stream through `onFailure`.
 */
export class PlatformaticMessageStream implements MessageStream {
  private consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private run: { stopped: boolean; wake: () => void; done: Promise<void> } | undefined;
  private readonly groupId: string;
  private toCommit: string | undefined;
  private committing = false;
  private committer: NodeJS.Timeout | undefined;
  private admin: Admin | undefined;

  constructor(
    private readonly base: BaseOptions,
    private readonly topic: string,
    groupId: string,
  ) {
    this.groupId = `${groupId}.${randomBytes(4).toString('hex')}`;
  }

  async start(offset: string | undefined, handler: (m: StoredMessage) => Promise<void>, onFailure?: (err: Error) => void): Promise<void> {
    const consumer = new Consumer({ ...this.base, groupId: this.groupId, retries: 2, retryDelay: backoff(200, 2000) });
    this.consumer = consumer;
    const reader = new PartitionReader(consumer, this.topic, { maxWaitMs: 100, maxBytes: 4 << 20 });
    let from: bigint;
    try {
      from = offset !== undefined ? BigInt(offset) : (await reader.bounds()).low;
    } catch (err) {
      await consumer.close().catch(() => undefined);
      this.consumer = undefined;
      throw toDrcError(err, this.base);
    }
    let wake = () => {};
    const state = { stopped: false, wake: () => wake(), done: Promise.resolve() };
    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    state.done = (async () => {
      let next = from;
      let failures = 0;
      while (!state.stopped) {
        let range;
        try {
          range = await reader.fetch(next);
          failures = 0;
        } catch (err) {
          if (state.stopped) return;
          const drc = toDrcError(err, this.base);
          if (drc instanceof DrcError && drc.retryable) {
            await pause(Math.min(5000, 200 * 2 ** Math.min(failures++, 5)));
            continue;
          }
          onFailure?.(drc as Error);
          return;
        }
        for (const m of range.messages) {
          if (state.stopped) return;
          try {
            await handler(m);
          } catch (err) {
            if (!state.stopped) onFailure?.(err as Error);
            return;
          }
          next = BigInt(m.offset) + 1n;
        }
        if (range.next > next) next = range.next;
      }
    })();
    this.run = state;
  }

  async stop(): Promise<void> {
    const run = this.run;
    const consumer = this.consumer;
    this.run = undefined;
    this.consumer = undefined;
    if (run) {
      run.stopped = true;
      run.wake();
      await run.done;
    }
    clearInterval(this.committer);
    this.committer = undefined;
    await this.flushCommit().catch(() => undefined);
    const admin = this.admin;
    this.admin = undefined;
    await admin?.close().catch(() => undefined);
    await consumer?.close().catch(rethrowFor(this.base));
  }

  /**
   * Committed offsets are for monitoring only (backlog in other tools), and the applier records one
   * per applied group: the latest is written at most once a second, through one admin client (no
   * group member exists to commit as).
   */
  async commit(nextOffset: string): Promise<void> {
    if (!this.consumer) return;
    this.toCommit = nextOffset;
    this.committer ??= setInterval(() => void this.flushCommit().catch(() => undefined), 1000);
    this.committer.unref();
  }

  private async flushCommit(): Promise<void> {
    const offset = this.toCommit;
    if (offset === undefined || this.committing) return;
    this.toCommit = undefined;
    this.committing = true;
    try {
      this.admin ??= new Admin({ ...this.base, clientId: `${this.base.clientId}-commit`, retries: 1 });
      await this.admin.alterConsumerGroupOffsets({ groupId: this.groupId, topics: [{ name: this.topic, partitionOffsets: [{ partition: 0, offset: BigInt(offset) }] }] });
    } finally {
      this.committing = false;
    }
  }
}
