/**
 * Messages of one origin's changes topic → units for the dispatcher, in order. Pure: decodes and
 * validates each message, follows the message sequence of multi-message transactions, joins the
 * pieces of a change too large for one message (envelope v2) back into the change before the chunk
 * that carries it, and says which messages belong on the dead-letter topic (with the reason) instead
 * of being applied.
 *
 * Units number a transaction's chunks from 0 (`chunk.seq`), pieces left out: the dispatcher sees
 * whole changes only. Each offset is taken once: after a group rebalance the Kafka consumer resumes
 * from the offset last committed to Kafka, which trails what was already taken, and delivers those
 * messages again.
 */
import { PieceJoiner } from '../model/change-pieces.js';
import { decodeChange, decodeMessage, EnvelopeError, type EnvelopeMessage, type TxChunk } from '../model/envelope.js';
import type { StoredMessage } from '../model/ports.js';

export type Unit =
  /** A whole source transaction in one chunk. */
  | { kind: 'tx'; chunk: TxChunk; offset: string; bytes: number }
  /** One chunk of a multi-chunk transaction. */
  | { kind: 'part'; chunk: TxChunk; offset: string; bytes: number }
  /** The open multi-chunk transaction will not complete: drop it. */
  | { kind: 'abandon'; offset: string; bytes: number }
  /** A dead-lettered message: nothing to apply, but its offset counts. */
  | { kind: 'skip'; offset: string; bytes: number };

/** Bookkeeping bytes per unit on top of the message. */
const UNIT_OVERHEAD = 64;

export class Reassembler {
  /** The transaction being read: its id, the next message number, the chunks handed on so far. */
  private open: { id: string; nextSeq: number; chunks: number } | undefined;
  private readonly pieces = new PieceJoiner(decodeChange);
  /** Highest offset taken since the last reset. */
  private taken = -1n;

  constructor(private readonly origin: string) {}

  /** The units of one message, and the dead-letter reason when it cannot be applied. */
  next(m: StoredMessage): { units: Unit[]; deadLetter?: string } {
    const offset = BigInt(m.offset);
    if (offset <= this.taken) return { units: [] }; // delivered again
    this.taken = offset;
    const bytes = (m.value?.length ?? 0) + UNIT_OVERHEAD;
    const units: Unit[] = [];
    try {
      const msg = decodeMessage(m.value);
      if (msg.origin !== this.origin) throw new EnvelopeError(`origin ${msg.origin} on the ${this.origin} stream`);
      this.follow(msg, m.offset, bytes, units);
      return { units };
    } catch (err) {
      const reason = err instanceof EnvelopeError ? err.message : `undecodable: ${(err as Error).message}`;
      units.push({ kind: 'skip', offset: m.offset, bytes });
      return { units, deadLetter: reason };
    }
  }

  /** Forget a transaction in progress and the offsets taken (the stream restarts). */
  reset(): void {
    this.open = undefined;
    this.pieces.reset();
    this.taken = -1n;
  }

  /** Add the units of one decoded message to `units` (throws EnvelopeError when it cannot be applied). */
  private follow(msg: EnvelopeMessage, offset: string, bytes: number, units: Unit[]): void {
    if (msg.seq === 0) {
      if (this.open) units.push({ kind: 'abandon', offset, bytes: 0 });
      this.open = { id: msg.id, nextSeq: 0, chunks: 0 };
      this.pieces.reset();
    }
    const open = this.open;
    if (!open || open.id !== msg.id || open.nextSeq !== msg.seq) {
      throw new EnvelopeError(`${msg.kind === 'piece' ? 'piece' : 'chunk'} ${msg.seq} of transaction ${msg.id} is out of sequence`);
    }
    open.nextSeq = msg.seq + 1;
    if (msg.kind === 'piece') {
      this.pieces.take(msg);
      return;
    }
    const joined = this.pieces.drain(msg.joined ?? 0);
    const chunk: TxChunk = { ...msg, seq: open.chunks, changes: joined.changes.length > 0 ? [...joined.changes, ...msg.changes] : msg.changes };
    open.chunks++;
    if (msg.last) this.open = undefined;
    units.push({ kind: msg.last && chunk.seq === 0 ? 'tx' : 'part', chunk, offset, bytes: bytes + joined.bytes });
  }
}
