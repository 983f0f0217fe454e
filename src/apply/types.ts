/**
 * The vocabulary shared by the parts of a target transaction: what comes in, what is decided, and
 * what the parts are handed.
 */
import type { Config } from '../config/schema.js';
import type { Flavor } from '../db/sql.js';
import type { RowChange } from '../model/change.js';
import type { Ownership } from '../model/ownership.js';
import type { LocalProgress } from '../model/ports.js';
import type { Row } from '../model/value.js';
import type { Logger } from '../ops/logger.js';
import type { TableInfo, TableSource } from './table-cache.js';

/** An incoming change and the source transaction it belongs to. */
export interface IncomingChange {
  change: RowChange;
  origin: string;
  txId: string;
  /** The Kafka offset of its message in the origin's changes topic (absent: not read from it, e.g. a quarantine retry). */
  offset?: string;
  /**
   * A re-seed's removal of a row SOURCE lacks (copy-applier.ts removeTargetOnly: a row only TARGET
   * holds, or an orphan): the unique values it held leave no claim (unique-claims.ts), so SOURCE's row
   * that claims one of them older is not held back by an image SOURCE never saw.
   */
  unclaimed?: true;
  /**
   * A copied image of a re-seed (copy-applier.ts applyChunk), read from SOURCE after SOURCE's horizon
   * (admin/bootstrap-target-only.ts): a recorded claim here that beats it and is not newer than this is
   * an image SOURCE never saw (had SOURCE received it, SOURCE would not hold this image) — dropped, not
   * obeyed (unique-claims.ts).
   */
  staleUpTo?: string;
}

/** One write decided for a change: the statement to run and what it is about. */
export interface Op {
  kind: 'insert' | 'update' | 'delete';
  info: TableInfo;
  incoming: IncomingChange;
  key: Row;
  /** The after-image (insert, update) or the before-image (delete). */
  image: Row;
  /**
   * After the write, move the children of `from` (referenced values) to `to` as the origin's ON UPDATE
   * CASCADE / SET NULL did: a key change whose old row stays here (fk-key-change.ts). `before`: only
   * children whose version column (same name as the parent's) is older than this value — the old row's
   * newer version here.
   */
  children?: { from: Row; to: Row; before?: { column: string; value: Row[string] } };
  /**
   * Before the batch's writes: the children an older concurrent key change of the same row took along
   * move on to this key change's new key (fk-adopt.ts). The table's version column.
   */
  adopt?: { versionColumn: string };
  /**
   * After the write (a rewrite of the local parent as it is): its children older than `before` go as
   * the parent's ON DELETE action says — a parent delete that lost here to a newer row (fk-conflict.ts
   * orphanStatements).
   */
  orphans?: { before: { column: string; value: Row[string] } };
  /**
   * A delete whose row is not here (delete-missing) because an older concurrent key change moved it
   * away: nothing is deleted, but the children that key change took along go as the ON DELETE action
   * says, as the delete's cascade removed them in its origin (fk-adopt.ts abandonMovedChildren). The
   * table's version column; `wait`: the key holds a row (delete-diverged), so local capture is waited
   * for before its tombstones are read. Writes nothing itself (WriteBatcher takes it out of the batch).
   */
  movedAway?: { versionColumn: string; wait?: true };
  /**
   * A delete whose row is not here (delete-missing) of a table with foreign keys: its row may be a
   * child waiting in drc_meta.fk_waiting for its parent, or one a sweep is placing now. Its waiting
   * images not newer than the delete go, under that entry's lock, and a row a sweep placed meanwhile is
   * deleted as an ordinary delete (fk-prepass.ts dropWaiting). The table's version column.
   */
  waitingGone?: { versionColumn: string };
  /**
   * An update that lost here to a newer row at its key (update-diverged, skipped) but is newer than an
   * older concurrent key change that moved the row's children away: they follow it to its key, where
   * the newer row stands (fk-adopt.ts), as in the ezones where it arrived before that newer row. Goes
   * with `adopt`; writes nothing itself (WriteBatcher takes it out of the batch).
   */
  adoptOnly?: true;
  /**
   * A delete DRC decided itself: the row lost a unique value to a newer claimant (unique-claims.ts). No
   * origin deleted it, and the key's newest image decides whether it comes back: its children (every
   * one its delete would remove) wait for it (fk-waiting.ts) rather than go. `to`: the old row of a
   * key change whose new half lost a unique value (fk-key-change.ts) — its children wait for the new
   * key, where the origin's ON UPDATE CASCADE took them (the after-image's referenced values).
   */
  removal?: { to?: Row };
}

/** The config a target transaction reads: version columns and the unknown-column policy. */
export type TargetConfig = Pick<Config, 'replicate' | 'tables'> & { apply: Pick<Config['apply'], 'onUnknownColumn'> };

/**
 * Whether a decision on a missing row must first wait for local capture to cover the binlog position
 * (DESIGN.md section 5 rule 4, the race): the stream's appliers wait; a repair, which decides from
 * rows it has just read in every ezone, explicitly does not.
 */
export type Coverage = { wait: LocalProgress } | 'not-needed';

export interface TargetContext {
  /** This ezone. */
  ezone: string;
  flavor: Flavor;
  config: TargetConfig;
  ownership: Ownership;
  tables: TableSource;
  coverage: Coverage;
  log: Logger;
}
