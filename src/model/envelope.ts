/**
 * The versioned wire format of `<prefix>.<ezone>.changes`. A source transaction travels as one or more
 * messages, in order, each at most `maxBytes` bytes (exact UTF-8 bytes of what is sent, not string
 * length): `seq` counts every message of the transaction from 0 and `last` marks the final one.
 *
 * - A transaction chunk (`kind: 'tx'`) is one JSON document holding whole row changes. Every chunk
 *   repeats the transaction header, so a consumer can stream chunks into one target transaction
 *   without holding the whole source transaction in memory.
 * - Version 2 adds change pieces (`kind: 'piece'`, see change-pieces.ts): a change whose JSON alone is
 *   larger than a message (a LONGBLOB of tens of MB) travels as the bytes of its JSON, split across
 *   messages, ahead of the chunk that carries it (`joined`: how many such changes come first).
 *
 * Version 1 messages (no pieces) still decode: messages already on Kafka stay readable after an upgrade.
 */
import { z } from 'zod';
import { EnvelopeError } from '../errors.js';
import type { RowChange, Transaction } from './change.js';
import { splitIntoPieces } from './change-pieces.js';

export const ENVELOPE_VERSION = 2;
/** The versions this build decodes. */
const READABLE_VERSIONS: readonly number[] = [1, 2];

export interface TxChunk {
  v: 1 | 2;
  kind: 'tx';
  /** True origin ezone. */
  origin: string;
  /** Source transaction id. */
  id: string;
  /** Origin binlog position after this transaction. */
  pos: string;
  /** Commit time, ms since the epoch. */
  ts: number;
  /** Message number within the transaction, from 0. */
  seq: number;
  /** Whether this is the transaction's final message. */
  last: boolean;
  /** v2: changes that arrived in pieces right before this chunk; they precede `changes` (0 when absent). */
  joined?: number;
  changes: RowChange[];
}

/** One piece of the JSON of a change too large for one message (version 2). */
export interface ChangePiece {
  v: 2;
  kind: 'piece';
  origin: string;
  id: string;
  pos: string;
  ts: number;
  seq: number;
  last: false;
  /** UTF-8 bytes of the whole change's JSON. */
  size: number;
  /** Offset of this piece's bytes within them. */
  at: number;
  /** This piece's bytes (a view into the message, after the header line). */
  bytes: Buffer;
}

export type EnvelopeMessage = TxChunk | ChangePiece;

const wireValue = z.union([z.null(), z.boolean(), z.number(), z.string(), z.strictObject({ $b: z.string() })]);
const row = z.record(z.string(), wireValue);
const rowChange = z
  .strictObject({
    schema: z.string().min(1),
    table: z.string().min(1),
    op: z.enum(['insert', 'update', 'delete', 'truncate']),
    key: row,
    oldKey: row.optional(),
    noFkChecks: z.literal(true).optional(),
    before: row.optional(),
    after: row.optional(),
    version: z.string().regex(/^-?\d+$/).nullable().optional(),
    rv: z.number().int().nonnegative().optional(),
    wrong: z.string().min(1).optional(),
  })
  .refine((c) => (c.op === 'truncate' ? c.before === undefined && c.after === undefined : c.op === 'delete' ? c.before !== undefined : c.after !== undefined), {
    message: 'an insert or update needs an after-image; a delete needs a before-image; a truncate has none',
  })
  .refine((c) => (c.op === 'truncate' ? Object.keys(c.key).length === 0 : Object.keys(c.key).length > 0), { message: 'a change needs a primary key (a truncate none)' })
  .refine((c) => c.oldKey === undefined || (c.op === 'update' && c.before !== undefined), { message: 'only an update with a before-image carries an old key' });

const header = {
  origin: z.string().min(1),
  id: z.string().min(1),
  pos: z.string(),
  ts: z.number(),
  seq: z.number().int().nonnegative(),
};
const txChunk = z.strictObject({
  v: z.union([z.literal(1), z.literal(2)]),
  kind: z.literal('tx'),
  ...header,
  last: z.boolean(),
  joined: z.number().int().nonnegative().optional(),
  changes: z.array(rowChange),
});
/** A change's JSON stays below V8's longest string; larger sizes are garbage. */
const MAX_CHANGE_BYTES = 2 ** 30;
const pieceHeader = z.strictObject({
  v: z.literal(2),
  kind: z.literal('piece'),
  ...header,
  last: z.literal(false),
  size: z.number().int().positive().max(MAX_CHANGE_BYTES),
  at: z.number().int().nonnegative(),
});

export { EnvelopeError };

const NEWLINE = 0x0a;

function validated<T>(schema: z.ZodType<T>, parsed: unknown): T {
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new EnvelopeError(`invalid envelope at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown'}`);
  }
  return result.data;
}

/**
 * Decode and validate one message of a changes topic: a transaction chunk, or (v2) a change piece,
 * whose JSON header line is followed by raw bytes. Throws EnvelopeError.
 */
export function decodeMessage(value: Buffer | string | null): EnvelopeMessage {
  if (value === null) throw new EnvelopeError('empty message');
  const buf = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  // JSON.stringify never writes a raw newline: one separates a piece's header from its bytes.
  const nl = buf.indexOf(NEWLINE);
  let parsed: unknown;
  try {
    parsed = JSON.parse((nl < 0 ? buf : buf.subarray(0, nl)).toString('utf8'));
  } catch {
    throw new EnvelopeError('not JSON');
  }
  if (typeof parsed === 'object' && parsed !== null && 'v' in parsed && !READABLE_VERSIONS.includes(parsed.v as number)) {
    throw new EnvelopeError(`unsupported envelope version ${JSON.stringify(parsed.v)} (this build reads ${READABLE_VERSIONS.join(', ')})`);
  }
  if (typeof parsed === 'object' && parsed !== null && 'kind' in parsed && parsed.kind === 'piece') {
    if (nl < 0) throw new EnvelopeError('a change piece without its bytes');
    const bytes = buf.subarray(nl + 1);
    const piece = validated(pieceHeader, parsed);
    if (piece.at + bytes.length > piece.size) throw new EnvelopeError(`change piece at ${piece.at} (${bytes.length} bytes) runs past the change's ${piece.size} bytes`);
    return { ...piece, bytes };
  }
  if (nl >= 0) throw new EnvelopeError('not JSON');
  const chunk = validated(txChunk, parsed) as TxChunk;
  if (chunk.v === 1 && chunk.joined !== undefined) throw new EnvelopeError('invalid envelope at joined: not in version 1');
  return chunk;
}

/** Decode and validate one transaction chunk (a change piece is an error here). Throws EnvelopeError. */
export function decodeChunk(value: Buffer | string | null): TxChunk {
  const m = decodeMessage(value);
  if (m.kind !== 'tx') throw new EnvelopeError(`a change piece (message ${m.seq} of ${m.id}), not a transaction chunk`);
  return m;
}

/** Validate the JSON of a change reassembled from its pieces. Throws EnvelopeError. */
export function decodeChange(json: string): RowChange {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new EnvelopeError('reassembled change is not JSON');
  }
  return validated(rowChange, parsed) as RowChange;
}

/**
 * Whether a message is a transaction's final chunk, reading only its header (the encoder writes the
 * header before the changes; a piece's header ends at its first newline), so scanning many large
 * messages stays cheap.
 */
export function isFinalChunk(value: Buffer | null): boolean {
  if (!value) return false;
  const window = value.subarray(0, 64 * 1024);
  if (window.includes(NEWLINE)) return false; // a piece: never final
  const head = window.toString('utf8');
  const end = head.indexOf(',"changes":');
  if (end < 0) return false;
  try {
    return (JSON.parse(`${head.slice(0, end)}}`) as { last?: unknown }).last === true;
  } catch {
    return false;
  }
}

type Header = Omit<Transaction, 'changes'>;

/**
 * Bytes a transport adds around one message's key and value (Kafka: the record batch header, the
 * record's lengths, offset and timestamp deltas), generously.
 */
export const FRAMING_BYTES = 128;

/** The room for a message's value when the whole message (key and framing included) must fit `maxMessageBytes`. */
export function valueBudget(maxMessageBytes: number, key: string): number {
  return maxMessageBytes - FRAMING_BYTES - Buffer.byteLength(key, 'utf8');
}

/**
 * Builds the messages of one transaction incrementally: add changes as they are decoded, take each
 * full message as soon as it is ready, finish with the last one. Sizes are exact UTF-8 bytes; every
 * message, header included, stays within `maxBytes`. Each change is serialised once.
 */
export class ChunkEncoder {
  private parts: string[] = [];
  /** UTF-8 bytes of `parts` joined with commas. */
  private bytes = 0;
  private seq = 0;
  /** Changes sent in pieces since the last chunk (the next chunk carries them). */
  private joined = 0;

  /** @param maxBytes upper bound of one message's value, in bytes (the caller leaves room for key and framing) */
  constructor(
    private header: Header,
    private readonly maxBytes: number,
  ) {}

  /** Add a change; returns the messages completed by it (none, a full chunk, and/or the change's pieces). */
  add(change: RowChange): Buffer[] {
    const json = JSON.stringify(change);
    const size = Buffer.byteLength(json, 'utf8');
    const out: Buffer[] = [];
    if (!this.fits(size)) {
      if (this.parts.length > 0 || this.joined > 0) out.push(this.flush(false));
      if (!this.fits(size)) {
        const pieces = splitIntoPieces(json, size, this.maxBytes, this.pieceHeader(size));
        this.seq += pieces.length;
        out.push(...pieces);
        this.joined = 1;
        return out;
      }
    }
    this.bytes += this.parts.length > 0 ? size + 1 : size;
    this.parts.push(json);
    return out;
  }

  /**
   * The final messages (usually one; possibly with no changes: a position-only message). Non-final
   * chunks carry the header's position (where the transaction started); the final one the position
   * after it.
   */
  finish(end: { position: string; commitTime: number }): Buffer[] {
    const start = this.header;
    const out: Buffer[] = [];
    this.header = { ...start, position: end.position, commitTime: end.commitTime };
    if (this.parts.length > 0 && this.sizeOf(true) > this.maxBytes) {
      // The end position made the header longer than the room left: the changes go first.
      this.header = start;
      out.push(this.flush(false));
      this.header = { ...start, position: end.position, commitTime: end.commitTime };
    }
    out.push(this.flush(true));
    return out;
  }

  /** Whether a change of `size` bytes fits the current chunk. */
  private fits(size: number): boolean {
    return this.sizeOf(false, this.parts.length > 0 ? size + 1 : size) <= this.maxBytes;
  }

  /** Exact bytes of the current chunk (plus `extra` bytes of changes). */
  private sizeOf(last: boolean, extra = 0): number {
    return Buffer.byteLength(this.head(last), 'utf8') - 1 + ',"changes":['.length + this.bytes + extra + ']}'.length;
  }

  private head(last: boolean): string {
    const h = this.header;
    return JSON.stringify({ v: ENVELOPE_VERSION, kind: 'tx', origin: h.origin, id: h.id, pos: h.position, ts: h.commitTime, seq: this.seq, last, ...(this.joined > 0 ? { joined: this.joined } : {}) });
  }

  /** The header line of the `n`th piece (from the current message number) at byte offset `at`. */
  private pieceHeader(size: number): (n: number, at: number) => string {
    const h = this.header;
    const seq = this.seq;
    return (n, at) => JSON.stringify({ v: ENVELOPE_VERSION, kind: 'piece', origin: h.origin, id: h.id, pos: h.position, ts: h.commitTime, seq: seq + n, last: false, size, at });
  }

  private flush(last: boolean): Buffer {
    const text = `${this.head(last).slice(0, -1)},"changes":[${this.parts.join(',')}]}`;
    this.seq++;
    this.parts = [];
    this.bytes = 0;
    this.joined = 0;
    return Buffer.from(text, 'utf8');
  }
}

/** Encode a whole transaction as messages (convenience for tests and small transactions). */
export function encodeTransaction(tx: Transaction, maxBytes: number): Buffer[] {
  const enc = new ChunkEncoder(tx, maxBytes);
  const out: Buffer[] = [];
  for (const c of tx.changes) out.push(...enc.add(c));
  out.push(...enc.finish(tx));
  return out;
}
