/**
 * The conflicts one target transaction met (DESIGN.md section 5 rule 6): collected while deciding and
 * writing, then inserted into drc_meta.conflicts with the commit, and published after it.
 *
 * A value larger than RECORDED_VALUE_BYTES is recorded as its size and SHA-256 (OmittedValue), not
 * whole: a row of tens of MB would otherwise double in the commit's round trip (both images, as JSON,
 * base64 for bytes), could exceed the server's max_allowed_packet or the column, and so fail — and
 * retry — the very transaction that must go on. The row itself is applied whole, as decided.
 */
import { createHash } from 'node:crypto';
import type { Row, WireValue } from '../model/value.js';
import { versionOf } from '../model/version.js';
import type { ConflictDecision, ConflictReason } from './resolver.js';
import { insertConflicts, type ConflictRecord, type RecordedImage, type Statement } from './sql/meta.js';

/** Values up to this size (bytes of text or binary) are recorded whole in a conflict's images. */
export const RECORDED_VALUE_BYTES = 64 * 1024;

/** A value's bytes (binary as they are, text as UTF-8, anything else as its JSON) — what the size and digest are of. */
function bytesOf(v: WireValue): Buffer | undefined {
  if (v !== null && typeof v === 'object') return v.$b.length * 0.75 > RECORDED_VALUE_BYTES ? Buffer.from(v.$b, 'base64') : undefined;
  if (typeof v === 'string') return v.length > RECORDED_VALUE_BYTES / 4 && Buffer.byteLength(v) > RECORDED_VALUE_BYTES ? Buffer.from(v) : undefined;
  return undefined;
}

/** The image as recorded: every value, except those over RECORDED_VALUE_BYTES, which become `{ $omitted: { bytes, sha256 } }`. */
export function recordedImage(row: Row | null): RecordedImage | null {
  if (row === null) return null;
  let out: RecordedImage | undefined;
  for (const [column, value] of Object.entries(row)) {
    const bytes = bytesOf(value);
    if (!bytes || bytes.length <= RECORDED_VALUE_BYTES) continue;
    out ??= { ...row };
    out[column] = { $omitted: { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') } };
  }
  return out ?? row;
}
import type { IncomingChange } from './types.js';

/** A conflict as the decisions see it; the log turns it into a record. */
export interface ConflictNote {
  incoming: IncomingChange;
  reason: ConflictReason;
  decision: ConflictDecision;
  /** The local row the change met (null: none). */
  local: Row | null;
  versionColumn: string | null;
}

/** Conflict records per INSERT statement. */
const PER_STATEMENT = 500;

/**
 * Records kept, once written, for publishing after the commit: a big transaction written chunk by chunk
 * (flushed) keeps no more than these, and no more than KEPT_BYTES of their images, so its memory stays
 * bounded however many of its rows conflict, however wide (every row of an old owner's big transaction
 * after a forced switchover); the rest are in drc_meta.conflicts only, counted.
 */
export const KEPT_FOR_PUBLISHING = 5_000;
export const KEPT_BYTES = 16 << 20;

/** About what a record's images hold (text and binary values by length). Pure. */
function imageBytes(r: ConflictRecord): number {
  let n = 64;
  for (const image of [r.incoming, r.local]) {
    if (!image) continue;
    for (const v of Object.values(image)) n += typeof v === 'string' ? v.length : v !== null && typeof v === 'object' && '$b' in v && typeof v.$b === 'string' ? v.$b.length : 8;
  }
  return n;
}

export class ConflictLog {
  /** Recorded, not yet written (statements() writes them; flushed() once that ran). */
  private unwritten: ConflictRecord[] = [];
  /** Written by a flush and kept for publishing. */
  private readonly kept: ConflictRecord[] = [];
  /** About the bytes of the kept records' images. */
  private keptBytes = 0;
  /** Written by a flush and not kept (past KEPT_FOR_PUBLISHING or KEPT_BYTES). */
  omitted = 0;
  /** Every record of this transaction, by reason, kept or not. */
  readonly byReason = new Map<ConflictReason, number>();
  /** The tables with records, by reason (`schema.table`). */
  private readonly tables = new Map<ConflictReason, Set<string>>();

  constructor(private readonly ezone: string) {}

  /** The records to publish after the commit: every one, unless a flush omitted some (`omitted`). */
  get records(): ConflictRecord[] {
    return this.kept.length === 0 ? this.unwritten : [...this.kept, ...this.unwritten];
  }

  /** How many records this transaction has, kept or not. */
  get total(): number {
    return this.kept.length + this.omitted + this.unwritten.length;
  }

  /** The tables with a record of `reason`. */
  tablesOf(reason: ConflictReason): ReadonlySet<string> {
    return this.tables.get(reason) ?? new Set();
  }

  /** Record a conflict; returns the record (undefined for DRC's own rows), which the caller may still amend before the commit. */
  record(note: ConflictNote): ConflictRecord | undefined {
    const { incoming, reason, decision, local, versionColumn } = note;
    const { change } = incoming;
    // DRC's own rows (heartbeats) resolve like any other, but their divergence is no user conflict:
    // a restarted daemon's first heartbeat meets a row its predecessor's last one left behind.
    if (change.schema === 'drc_meta') return undefined;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    let tables = this.tables.get(reason);
    if (!tables) this.tables.set(reason, (tables = new Set()));
    tables.add(`${change.schema}.${change.table}`);
    const record: ConflictRecord = {
      ezone: this.ezone,
      origin: incoming.origin,
      schema: change.schema,
      table: change.table,
      key: change.key,
      reason,
      decision,
      incomingVersion: change.version ?? null,
      localVersion: local && versionColumn ? (versionOf(local[versionColumn]) ?? null) : null,
      incoming: recordedImage(change.after ?? change.before ?? null),
      local: recordedImage(local),
      originTx: incoming.txId,
      at: Date.now(),
    };
    this.unwritten.push(record);
    return record;
  }

  /** The INSERTs of every record not yet written. */
  statements(): Statement[] {
    const out: Statement[] = [];
    for (let i = 0; i < this.unwritten.length; i += PER_STATEMENT) out.push(insertConflicts(this.unwritten.slice(i, i + PER_STATEMENT)));
    return out;
  }

  /** The statements() made before this call have run (in the transaction): keep what fits for publishing, drop the rest. */
  flushed(): void {
    for (const r of this.unwritten) {
      const bytes = this.omitted === 0 && this.kept.length < KEPT_FOR_PUBLISHING ? imageBytes(r) : Infinity;
      if (this.keptBytes + bytes <= KEPT_BYTES) {
        this.kept.push(r);
        this.keptBytes += bytes;
      } else this.omitted++;
    }
    this.unwritten = [];
  }
}
