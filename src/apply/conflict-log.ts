/**
 * The conflicts one target transaction met (DESIGN.md section 5 rule 6): collected while deciding and
 * writing, then inserted into drc_meta.conflicts with the commit, and published after it.
 */
import type { Row } from '../model/value.js';
import { versionOf } from '../model/version.js';
import type { ConflictDecision, ConflictReason } from './resolver.js';
import { insertConflicts, type ConflictRecord, type Statement } from './sql/meta.js';
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
      incoming: change.after ?? change.before ?? null,
      local,
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
