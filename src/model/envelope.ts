/**
 * The versioned wire format of `<prefix>.<ezone>.changes`. A source transaction travels as one or more
 * chunk messages, in order, each below the broker's size limit: `seq` counts from 0 and `last` marks
 * the final chunk. Every chunk repeats the transaction header, so a consumer can stream chunks into
 * one target transaction without holding the whole source transaction in memory.
 */
import { z } from 'zod';
import { EnvelopeError } from '../errors.js';
import type { RowChange, Transaction } from './change.js';

export const ENVELOPE_VERSION = 1;

export interface TxChunk {
  v: typeof ENVELOPE_VERSION;
  kind: 'tx';
  /** True origin ezone. */
  origin: string;
  /** Source transaction id. */
  id: string;
  /** Origin binlog position after this transaction. */
  pos: string;
  /** Commit time, ms since the epoch. */
  ts: number;
  /** Chunk number within the transaction, from 0. */
  seq: number;
  /** Whether this is the transaction's final chunk. */
  last: boolean;
  changes: RowChange[];
}

const wireValue = z.union([z.null(), z.boolean(), z.number(), z.string(), z.strictObject({ $b: z.string() })]);
const row = z.record(z.string(), wireValue);
const rowChange = z
  .strictObject({
    schema: z.string().min(1),
    table: z.string().min(1),
    op: z.enum(['insert', 'update', 'delete']),
    key: row,
    before: row.optional(),
    after: row.optional(),
    version: z.string().regex(/^-?\d+$/).nullable().optional(),
  })
  .refine((c) => (c.op === 'delete' ? c.before !== undefined : c.after !== undefined), {
    message: 'an insert or update needs an after-image; a delete needs a before-image',
  })
  .refine((c) => Object.keys(c.key).length > 0, { message: 'a change needs a primary key' });

const txChunk = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  kind: z.literal('tx'),
  origin: z.string().min(1),
  id: z.string().min(1),
  pos: z.string(),
  ts: z.number(),
  seq: z.number().int().nonnegative(),
  last: z.boolean(),
  changes: z.array(rowChange),
});

export { EnvelopeError };

/** Decode and validate one chunk message. Throws EnvelopeError. */
export function decodeChunk(value: Buffer | string | null): TxChunk {
  if (value === null) throw new EnvelopeError('empty message');
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    throw new EnvelopeError('not JSON');
  }
  if (typeof parsed === 'object' && parsed !== null && 'v' in parsed && parsed.v !== ENVELOPE_VERSION) {
    throw new EnvelopeError(`unsupported envelope version ${JSON.stringify(parsed.v)} (this build reads ${ENVELOPE_VERSION})`);
  }
  const result = txChunk.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new EnvelopeError(`invalid envelope at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown'}`);
  }
  return result.data as TxChunk;
}

/**
 * Whether a message is a transaction's final chunk, reading only its header (the encoder writes the
 * header before the changes), so scanning many large chunks stays cheap.
 */
export function isFinalChunk(value: Buffer | null): boolean {
  if (!value) return false;
  const head = value.subarray(0, 64 * 1024).toString('utf8');
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
 * Builds the chunk messages of one transaction incrementally: add changes as they are decoded, take
 * each full chunk as soon as it is ready, finish with the last one. Each change is serialised once.
 */
export class ChunkEncoder {
  private parts: string[] = [];
  private bytes = 0;
  private seq = 0;

  /** @param maxBytes target upper bound of one message (a single larger change gets a chunk of its own) */
  constructor(
    private header: Header,
    private readonly maxBytes: number,
  ) {}

  /** Add a change; returns a completed (non-final) chunk when the current one is full. */
  add(change: RowChange): Buffer | undefined {
    const json = JSON.stringify(change);
    let full: Buffer | undefined;
    if (this.parts.length > 0 && this.bytes + json.length + 256 > this.maxBytes) full = this.flush(false);
    this.parts.push(json);
    this.bytes += json.length + 1;
    return full;
  }

  /**
   * The final chunk (possibly with no changes: a position-only message). Non-final chunks carry the
   * header's position (where the transaction started); the final one the position after it.
   */
  finish(end: { position: string; commitTime: number }): Buffer {
    this.header = { ...this.header, position: end.position, commitTime: end.commitTime };
    return this.flush(true);
  }

  private flush(last: boolean): Buffer {
    const h = this.header;
    const head = JSON.stringify({ v: ENVELOPE_VERSION, kind: 'tx', origin: h.origin, id: h.id, pos: h.position, ts: h.commitTime, seq: this.seq, last });
    const text = `${head.slice(0, -1)},"changes":[${this.parts.join(',')}]}`;
    this.seq++;
    this.parts = [];
    this.bytes = 0;
    return Buffer.from(text, 'utf8');
  }
}

/** Encode a whole transaction as chunk messages (convenience for tests and small transactions). */
export function encodeTransaction(tx: Transaction, maxBytes: number): Buffer[] {
  const enc = new ChunkEncoder(tx, maxBytes);
  const out: Buffer[] = [];
  for (const c of tx.changes) {
    const full = enc.add(c);
    if (full) out.push(full);
  }
  out.push(enc.finish(tx));
  return out;
}
