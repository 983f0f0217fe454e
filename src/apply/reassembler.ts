/**
 * Messages of one origin's changes topic → units for the dispatcher, in order. Pure: decodes and
 * validates each message, follows the chunk sequence of multi-chunk transactions, and says which
 * messages belong on the dead-letter topic (with the reason) instead of being applied.
 *
 * Each offset is taken once: after a group rebalance the Kafka consumer resumes from the offset last
 * committed to Kafka, which trails what was already taken, and delivers those messages again.
 */
import { decodeChunk, EnvelopeError, type TxChunk } from '../model/envelope.js';
import type { StoredMessage } from '../model/ports.js';

export type Unit =
  /** A whole source transaction in one message. */
  | { kind: 'tx'; chunk: TxChunk; offset: string; bytes: number }
  /** One chunk of a multi-chunk transaction. */
  | { kind: 'part'; chunk: TxChunk; offset: string; bytes: number }
  /** The open multi-chunk transaction will not complete: drop it. */
  | { kind: 'abandon'; offset: string; bytes: number }
  /** A dead-lettered message: nothing to apply, but its offset counts. */
  | { kind: 'skip'; offset: string; bytes: number };

export class Reassembler {
  private open: { id: string; nextSeq: number } | undefined;
  /** Highest offset taken since the last reset. */
  private taken = -1n;

  constructor(private readonly origin: string) {}

  /** The units of one message, and the dead-letter reason when it cannot be applied. */
  next(m: StoredMessage): { units: Unit[]; deadLetter?: string } {
    const offset = BigInt(m.offset);
    if (offset <= this.taken) return { units: [] }; // delivered again
    this.taken = offset;
    const bytes = (m.value?.length ?? 0) + 64;
    let chunk: TxChunk;
    try {
      chunk = decodeChunk(m.value);
      if (chunk.origin !== this.origin) throw new EnvelopeError(`origin ${chunk.origin} on the ${this.origin} stream`);
    } catch (err) {
      const reason = err instanceof EnvelopeError ? err.message : `undecodable: ${(err as Error).message}`;
      return { units: [{ kind: 'skip', offset: m.offset, bytes }], deadLetter: reason };
    }
    if (chunk.seq === 0) {
      const units: Unit[] = this.open ? [{ kind: 'abandon', offset: m.offset, bytes: 0 }] : [];
      this.open = chunk.last ? undefined : { id: chunk.id, nextSeq: 1 };
      units.push({ kind: chunk.last ? 'tx' : 'part', chunk, offset: m.offset, bytes });
      return { units };
    }
    if (this.open && this.open.id === chunk.id && this.open.nextSeq === chunk.seq) {
      this.open = chunk.last ? undefined : { id: chunk.id, nextSeq: chunk.seq + 1 };
      return { units: [{ kind: 'part', chunk, offset: m.offset, bytes }] };
    }
    return { units: [{ kind: 'skip', offset: m.offset, bytes }], deadLetter: `chunk ${chunk.seq} of transaction ${chunk.id} is out of sequence` };
  }

  /** Forget a transaction in progress and the offsets taken (the stream restarts). */
  reset(): void {
    this.open = undefined;
    this.taken = -1n;
  }
}
