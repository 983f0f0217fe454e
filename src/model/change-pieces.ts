/**
 * A change too large for one message (issue 12: one 2 MB LONGBLOB stalled capture for good) travels
 * as the UTF-8 bytes of its JSON, split across consecutive "piece" messages of its transaction (see
 * envelope.ts); the consumer joins them back into the change before the chunk that carries it. Pure.
 *
 * Memory: the encoder writes each piece straight from the change's JSON text (no second copy of the
 * whole change); the joiner copies each piece into one buffer of the announced size, so it holds the
 * change's bytes once plus the message being read.
 */
import { EnvelopeError } from '../errors.js';
import type { RowChange } from './change.js';
import type { ChangePiece } from './envelope.js';

const NEWLINE = 0x0a;
/** Pieces smaller than this mean a message limit too small for the header: a configuration error. */
const MIN_PIECE_BYTES = 1024;

/**
 * The piece messages of one change's JSON (`size`: its UTF-8 bytes), each at most `maxBytes`:
 * `headerOf(n, at)` is the header line of piece `n` starting at byte `at`. Pieces end on character
 * boundaries (a surrogate pair is never cut), so every piece is valid UTF-8 on its own.
 */
export function splitIntoPieces(json: string, size: number, maxBytes: number, headerOf: (n: number, at: number) => string): Buffer[] {
  const out: Buffer[] = [];
  let char = 0;
  let at = 0;
  while (at < size) {
    const head = headerOf(out.length, at);
    const headBytes = Buffer.byteLength(head, 'utf8');
    const room = maxBytes - headBytes - 1;
    if (room < MIN_PIECE_BYTES) throw new EnvelopeError(`a message of ${maxBytes} bytes leaves no room for a change piece`);
    const { end, bytes } = sliceFitting(json, char, room);
    const msg = Buffer.allocUnsafe(headBytes + 1 + bytes);
    msg.write(head, 0, 'utf8');
    msg[headBytes] = NEWLINE;
    msg.write(json.slice(char, end), headBytes + 1, 'utf8');
    out.push(msg);
    char = end;
    at += bytes;
  }
  return out;
}

/** The longest slice of `text` from `start` whose UTF-8 form fits `room` bytes, cut between characters. */
function sliceFitting(text: string, start: number, room: number): { end: number; bytes: number } {
  let end = Math.min(text.length, start + room); // a UTF-16 unit is at least one byte
  for (;;) {
    // Never end between the two halves of a surrogate pair (each half alone is not UTF-8).
    if (end < text.length && end > start + 1 && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    const bytes = Buffer.byteLength(text.slice(start, end), 'utf8');
    if (bytes <= room) return { end, bytes };
    // Shrink in proportion (multi-byte text), a little more to converge quickly.
    end = start + Math.max(1, Math.floor(((end - start) * room) / bytes) - 4);
  }
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * Joins the pieces of a transaction's oversized changes, in order. `take` returns the change once its
 * last piece arrived; `drain` hands the joined changes to the chunk that carries them.
 */
export class PieceJoiner {
  private open: { buf: Buffer; at: number } | undefined;
  private joined: RowChange[] = [];
  private joinedBytes = 0;

  constructor(private readonly decode: (json: string) => RowChange) {}

  /** Bytes held (joined changes and the one being joined). */
  get bytes(): number {
    return this.joinedBytes + (this.open?.buf.length ?? 0);
  }

  /** Take one piece. Throws EnvelopeError when it does not continue the change being joined. */
  take(p: ChangePiece): void {
    if (p.at === 0 && this.open === undefined) this.open = { buf: Buffer.allocUnsafe(p.size), at: 0 };
    const open = this.open;
    if (!open || open.at !== p.at || open.buf.length !== p.size) {
      throw new EnvelopeError(`change piece at byte ${p.at} of ${p.size} does not continue the change being joined`);
    }
    p.bytes.copy(open.buf, open.at);
    open.at += p.bytes.length;
    if (open.at < p.size) return;
    this.open = undefined;
    this.joined.push(this.decode(open.buf.toString('utf8')));
    this.joinedBytes += p.size;
  }

  /** The joined changes a chunk announces (`expected`); throws when they do not match what arrived. */
  drain(expected: number): { changes: RowChange[]; bytes: number } {
    if (this.open || this.joined.length !== expected) {
      throw new EnvelopeError(`a chunk carries ${expected} changes sent in pieces, but ${this.joined.length} arrived${this.open ? ' (one incomplete)' : ''}`);
    }
    const out = { changes: this.joined, bytes: this.joinedBytes };
    this.reset();
    return out;
  }

  /** Forget everything (a new transaction starts, or the stream restarts). */
  reset(): void {
    this.open = undefined;
    this.joined = [];
    this.joinedBytes = 0;
  }
}
