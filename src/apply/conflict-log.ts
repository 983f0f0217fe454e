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

export class ConflictLog {
  readonly records: ConflictRecord[] = [];

  constructor(private readonly ezone: string) {}

  record(note: ConflictNote): void {
    const { incoming, reason, decision, local, versionColumn } = note;
    const { change } = incoming;
    // DRC's own rows (heartbeats) resolve like any other, but their divergence is no user conflict:
    // a restarted daemon's first heartbeat meets a row its predecessor's last one left behind.
    if (change.schema === 'drc_meta') return;
    this.records.push({
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
    });
  }

  /** The INSERTs of every record so far. */
  statements(): Statement[] {
    const out: Statement[] = [];
    for (let i = 0; i < this.records.length; i += PER_STATEMENT) out.push(insertConflicts(this.records.slice(i, i + PER_STATEMENT)));
    return out;
  }
}
