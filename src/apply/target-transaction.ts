/**
 * One target transaction: the marker first, then the incoming changes decided by the resolver and
 * the ownership rules (decide.ts), with tombstones and conflict records written alongside. The caller
 * writes the applied position and commits. Used for a group of small source transactions, and chunk
 * by chunk for a huge one (state is re-read per batch, so memory stays bounded).
 *
 * Thin: it orchestrates the schema check, row-state loading, the decisions, write batching and the
 * conflict log. Statements whose results nobody waits for (BEGIN, the marker, the fence check,
 * tombstones, conflicts, the position) travel with the next one that needs an answer
 * (db/pipelined-session.ts): a group of small transactions takes three or four round trips (rows,
 * tombstones, writes and commit together or apart).
 */
import type mysql from 'mysql2/promise';
import { versionColumnOf } from '../config/tables.js';
import { PipelinedSession, type QueryConnection } from '../db/pipelined-session.js';
import type { DeferredStatement, Statement } from '../db/sql.js';
import { recordTombstonesStatements, type Tombstone } from '../db/tombstones.js';
import { ConflictLog, type ConflictNote } from './conflict-log.js';
import { decide } from './decide.js';
import { isDuplicateKey } from '../db/mysql-errors.js';
import { RowStateLoader } from './row-state.js';
import { applyTruncate, isTruncate } from './truncate.js';
import { checkSchema } from './schema-check.js';
import { heartbeatSeen, marker, type ConflictRecord } from './sql/meta.js';
import { recordClaimsStatement } from './sql/claims.js';
import type { ClaimRecord } from './unique-claims.js';
import type { IncomingChange, Op, TargetContext } from './types.js';
import { inTable, WriteBatcher } from './write-batch.js';
import { placeWaiting } from './fk-waiting.js';
import { forcedFlipsOf, forcedFlipsStatement } from '../db/routing-store.js';
import { lateFor, type ForcedFlip } from '../model/routing.js';

/**
 * Unflagged changes kept whole (images and all) for the commit's second read of the forced flips; past
 * this many in one transaction (a big one, chunk after chunk) only what judges and records them is
 * kept — the shard, key and versions, no images — so memory stays bounded.
 */
const KEPT_WHOLE = 2_000;

/** A change the forced flips read with its batch did not flag (`shard`: computed when kept compact). */
interface Unflagged {
  note: ConflictNote;
  shard?: number;
}

function compact(note: ConflictNote, ownership: TargetContext['ownership']): Unflagged {
  const { change } = note.incoming;
  const image = change.after ?? change.before;
  const shard = image ? ownership.shardOfRow(`${change.schema}.${change.table}`, image) : undefined;
  const { after: _after, before: _before, ...kept } = change;
  return { note: { ...note, incoming: { ...note.incoming, change: kept }, local: null }, ...(shard === undefined ? {} : { shard }) };
}

const BEGIN: Statement = { sql: 'BEGIN', params: [] };
const COMMIT: Statement = { sql: 'COMMIT', params: [] };

export class TargetTransaction {
  /** The conflicts met so far (written by writeConflicts, published by the caller after commit). */
  readonly log: ConflictLog;
  rows = 0;
  /** The last heartbeat this transaction applied (origin clock, UTC text). */
  heartbeat: { origin: string; sentAt: string } | undefined;
  private readonly warnedDrops = new Set<string>();
  private readonly session: PipelinedSession;
  private readonly loader: RowStateLoader;
  private readonly writes: WriteBatcher;
  /** Writes left for the commit's round trip, to replay one by one if one of them collides. */
  private unwritten: { ops: Op[]; tombstones: Tombstone[]; heartbeats: Statement[]; claims: ClaimRecord[] } | undefined;
  /**
   * The changes judged by the versioned routing that the forced flips read with their batch did not
   * flag (each with the decision a flag would carry), for the read after the applied position at commit.
   */
  private unflagged: Unflagged[] = [];

  constructor(
    private readonly conn: QueryConnection,
    private readonly ctx: TargetContext,
  ) {
    this.session = new PipelinedSession(conn);
    this.log = new ConflictLog(ctx.ezone);
    this.loader = new RowStateLoader(ctx.flavor, ctx.coverage, (schema, table) => this.versionColumnOf(schema, table) !== null);
    this.writes = new WriteBatcher(this.session, (op) => ({
      session: this.session,
      ezone: ctx.ezone,
      versionColumn: this.versionColumnOf(op.incoming.change.schema, op.incoming.change.table),
      conflicts: this.log,
    }), { ezone: ctx.ezone, tables: ctx.tables, versionColumnOf: (schema, table) => this.versionColumnOf(schema, table), local: { flavor: ctx.flavor, coverage: ctx.coverage }, log: ctx.log });
  }

  get conflicts(): ConflictRecord[] {
    return this.log.records;
  }

  /**
   * Begin, with the marker naming the true origin as the first row written. `fence` (the leader
   * check, a read) goes with the first round trip: a daemon taking over kills this daemon's sessions,
   * so a check passed early holds until commit.
   */
  open(slot: number, origin: string, originTx: string, originPos: string, fence?: DeferredStatement): void {
    this.session.discard();
    this.unflagged = [];
    this.session.defer(BEGIN, ...(fence ? [fence] : []), marker(this.ctx.flavor, slot, origin, originTx, originPos));
  }

  /**
   * Send what is deferred and these statements, then COMMIT, in one round trip. When the transaction
   * holds changes judged by the versioned routing, the forced flips are read again after `statements`
   * (the applied position's upsert), before COMMIT: see recheckLate.
   */
  async commit(...statements: Statement[]): Promise<void> {
    const recheck = this.recheckRead();
    const tail = [...statements, ...(recheck ? [recheck.statement] : []), COMMIT];
    const unwritten = this.unwritten;
    this.unwritten = undefined;
    try {
      await this.session.roundTrip(tail);
    } catch (err) {
      if (!unwritten || !isDuplicateKey(err)) throw unwritten ? inTable(err, unwritten.ops) : err;
      // A write left for this round trip collided: nothing after it ran, nor the commit. Replay the
      // writes one by one, then rebuild what followed them (the replay may add tombstones, conflicts).
      await this.writes.replay(unwritten.ops, unwritten.tombstones);
      this.deferAfterWrites(unwritten.tombstones, unwritten.heartbeats, unwritten.claims);
      this.writeConflicts();
      await this.session.roundTrip(tail);
    }
    if (recheck?.flips) await this.recheckLate(recheck.flips);
  }

  /**
   * The forced flips read after the applied position's upsert. A forced flip's cut is the old owner's
   * position it reads with a lock (admin/switchover-forced.ts): if this transaction's upsert went
   * first, the flip waited for this commit and its cut includes this transaction (nothing here is
   * late); if the flip went first, the upsert waited for it and this read (READ COMMITTED) sees it. So
   * the flips read here judge the whole transaction — every batch of it, every chunk of a big one,
   * however long it waited for row locks or for its predecessor (a parked group).
   */
  private recheckRead(): { statement: DeferredStatement; flips?: ForcedFlip[] } | undefined {
    const topology = this.ctx.ownership.routedTopology;
    if (topology === undefined || this.unflagged.length === 0) return undefined;
    const origins = new Set(this.unflagged.map((u) => u.note.incoming.origin));
    const read: { statement: DeferredStatement; flips?: ForcedFlip[] } = { statement: { sql: '', params: [] } };
    read.statement = { ...forcedFlipsStatement(topology, origins.size === 1 ? [...origins][0] : undefined), check: (rows) => (read.flips = forcedFlipsOf(rows as mysql.RowDataPacket[])) };
    return read;
  }

  /**
   * The changes the commit's read shows late that their batch's read did not (a forced flip committed
   * in between: rare). The write decisions stand (a late row is decided by last-writer-wins, flagged
   * or not); their conflict records are written right after the commit, in a statement of their own
   * (a crash between the two loses them: the row changes are applied either way), and published with
   * the transaction's others.
   */
  private async recheckLate(flips: readonly ForcedFlip[]): Promise<void> {
    const pending = this.unflagged;
    this.unflagged = [];
    if (flips.length === 0) return;
    const late = new ConflictLog(this.ctx.ezone);
    for (const { note, shard: known } of pending) {
      const { change, origin, offset } = note.incoming;
      const image = change.after ?? change.before;
      const shard = known ?? (image ? this.ctx.ownership.shardOfRow(`${change.schema}.${change.table}`, image) : undefined);
      if (shard === undefined || change.rv === undefined) continue;
      const rv = change.rv;
      if (flips.some((f) => lateFor(f, shard, origin, rv, offset))) late.record(note);
    }
    if (late.records.length === 0) return;
    this.ctx.log.warn({ count: late.records.length, origin: pending[0]?.note.incoming.origin }, 'a forced switchover committed while this transaction was applied: its late rows are flagged after the commit');
    this.log.records.push(...late.records);
    await this.session.roundTrip(late.statements());
  }

  /** Send what is deferred (BEGIN, the marker) and these statements now; their results, in order. */
  async query(...statements: Statement[]): Promise<unknown[]> {
    return this.session.roundTrip(statements);
  }

  async rollback(): Promise<void> {
    this.session.discard();
    this.unwritten = undefined;
    this.unflagged = [];
    await this.conn.query('ROLLBACK');
  }

  /**
   * Decide and write a batch of changes, in order. With `writeAtCommit` answering true when the writes
   * are ready, they are left for the commit's round trip instead of one of their own (one apply per
   * transaction then): the caller passes it when nothing has to happen between writing and committing.
   */
  async apply(incoming: IncomingChange[], options: { writeAtCommit?: () => boolean } = {}): Promise<void> {
    if (incoming.length === 0) return;
    // A truncate (alone in its source transaction) splits the batch: what follows it decides on the rows it left.
    const cut = incoming.findIndex(isTruncate);
    if (cut >= 0) {
      await this.apply(incoming.slice(0, cut));
      const truncate = { session: this.session, tables: this.ctx.tables, conflicts: this.log, versionColumnOf: (s: string, t: string) => this.versionColumnOf(s, t) };
      const deleted = await applyTruncate(truncate, incoming[cut]!);
      this.ctx.log.info({ table: `${incoming[cut]!.change.schema}.${incoming[cut]!.change.table}`, origin: incoming[cut]!.origin, deleted }, 'TRUNCATE TABLE applied: rows not newer than it deleted');
      this.rows += 1;
      return this.apply(incoming.slice(cut + 1), options);
    }
    // Children waiting for a deleted parent that came back in an earlier transaction (fk-waiting.ts), before this batch reads its rows.
    const { placed, dropped } = await placeWaiting(this.ctx.ezone, this.session, { tables: this.ctx.tables, versionColumnOf: (s, t) => this.versionColumnOf(s, t), local: { flavor: this.ctx.flavor, coverage: this.ctx.coverage } }, Date.now(), this.log);
    // A placed child is the applied half of its fk-parent-missing conflict (DESIGN.md section 5.6: every conflict is recorded).
    for (const c of placed) {
      const change = { schema: c.schema, table: c.table, op: c.replaced ? ('update' as const) : ('insert' as const), key: c.key, after: c.image, version: c.version };
      this.log.record({ incoming: { change, origin: c.origin ?? this.ctx.ezone, txId: c.txId ?? '' }, reason: 'fk-parent-missing', decision: 'applied', local: c.replaced ?? null, versionColumn: this.versionColumnOf(c.schema, c.table) });
    }
    for (const d of dropped) this.ctx.log.warn({ table: `${d.schema}.${d.table}`, errno: d.errno }, 'a child waiting for its deleted parent was rejected by this ezone and dropped (fk-waiting)');
    const { infos, batch } = await checkSchema(incoming, this.ctx.tables, this.ctx.config.apply.onUnknownColumn, (table, column) => this.warnDrop(table, column));
    const read = this.forcedFlips(batch);
    const { rows, tombstones, identities, unique } = await this.loader.load(this.session, batch, infos);
    const forced = read?.flips;
    const decisions = decide({ batch, infos, rows, tombstones, identities, ...(unique ? { unique } : {}), ...(forced ? { forced } : {}), ...(read ? { recheck: true } : {}), ownership: this.ctx.ownership, versionColumnOf: (s, t) => this.versionColumnOf(s, t) });
    for (const note of decisions.conflicts) this.log.record(note);
    for (const note of decisions.unflagged ?? []) this.unflagged.push(this.unflagged.length < KEPT_WHOLE ? { note } : compact(note, this.ctx.ownership));

    const leftForCommit = await this.writes.write(decisions.ops, decisions.tombstones, options.writeAtCommit?.() ?? false);
    const heartbeats = this.heartbeatsOf(decisions.ops);
    this.deferAfterWrites(decisions.tombstones, heartbeats, decisions.claims);
    if (leftForCommit) this.unwritten = { ops: decisions.ops, tombstones: decisions.tombstones, heartbeats, claims: decisions.claims };
    this.rows += incoming.length;
  }

  /**
   * The forced switchovers taking shards from the batch's origin, read in this transaction
   * (db/routing-store.ts forcedFlipsStatement) when the batch holds changes judged by the
   * versioned routing (RowChange.rv): a flip written here a moment ago judges this batch's late rows,
   * where the routing polled every 250 ms might not have it yet. Its statement goes with the round trip
   * that reads the batch's rows. Undefined: nothing to judge (decide falls back to the book's).
   */
  private forcedFlips(batch: readonly IncomingChange[]): { flips?: ForcedFlip[] } | undefined {
    const topology = this.ctx.ownership.routedTopology;
    const first = batch.find((i) => i.change.rv !== undefined && i.offset !== undefined);
    if (topology === undefined || !first) return undefined;
    const read: { flips?: ForcedFlip[] } = {};
    this.session.defer({ ...forcedFlipsStatement(topology, first.origin), check: (rows) => (read.flips = forcedFlipsOf(rows as mysql.RowDataPacket[])) });
    return read;
  }

  /** Record the conflicts of this transaction (call once, before commit; they go with the commit). */
  writeConflicts(): void {
    this.session.defer(...this.log.statements());
  }

  /** When each applied heartbeat became visible here (drc_meta.lag, read by `drc lag`). */
  private heartbeatsOf(ops: Op[]): Statement[] {
    const heartbeats: Statement[] = [];
    for (const op of ops) {
      const { change } = op.incoming;
      if (change.schema !== 'drc_meta' || change.table !== 'heartbeat' || !change.after) continue;
      const sentAt = String(change.after.sent_at);
      heartbeats.push(heartbeatSeen(this.ctx.flavor, String(change.after.ezone), sentAt));
      this.heartbeat = { origin: String(change.after.ezone), sentAt };
    }
    return heartbeats;
  }

  /** The tombstones of applied deletes and the heartbeats seen, written after the rows. */
  private deferAfterWrites(tombstones: Tombstone[], heartbeats: Statement[], claims: ClaimRecord[]): void {
    this.session.defer(...recordTombstonesStatements('applied_tombstones', tombstones));
    const claimed = recordClaimsStatement(claims);
    if (claimed) this.session.defer(claimed);
    this.session.defer(...heartbeats);
  }

  private versionColumnOf(schema: string, table: string): string | null {
    return versionColumnOf(this.ctx.config, schema, table);
  }

  private warnDrop(table: string, column: string): void {
    if (this.warnedDrops.has(`${table}.${column}`)) return;
    this.warnedDrops.add(`${table}.${column}`);
    this.ctx.log.warn({ table, column }, 'dropping a column this ezone does not have (apply.onUnknownColumn: drop)');
  }
}
