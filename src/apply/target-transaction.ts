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
import { ConflictLog } from './conflict-log.js';
import { decide } from './decide.js';
import { isDuplicateKey, isSubqueryManyRows } from '../db/mysql-errors.js';
import { RowStateLoader } from './row-state.js';
import { applyTruncate, isTruncate } from './truncate.js';
import { checkSchema } from './schema-check.js';
import { heartbeatSeen, marker, type ConflictRecord } from './sql/meta.js';
import { dropStaleClaimsStatements, recordClaimsStatement } from './sql/claims.js';
import type { ClaimRecord } from './unique-claims.js';
import type { IncomingChange, Op, TargetContext } from './types.js';
import { WriteBatcher } from './write-batch.js';
import { inTable } from './write-statements.js';
import { placeWaiting } from './fk-waiting.js';
import { forcedFlipsOf } from '../db/routing-store.js';
import { ForcedFlipRaced, ForcedFlipWatch } from './forced-flips.js';

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
  /** The forced switchovers this transaction is judged by (forced-flips.ts). */
  private readonly flips: ForcedFlipWatch;

  constructor(
    private readonly conn: QueryConnection,
    private readonly ctx: TargetContext,
  ) {
    this.session = new PipelinedSession(conn);
    this.flips = new ForcedFlipWatch(ctx.ownership.routedTopology);
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
    this.flips.reset();
    this.session.defer(BEGIN, ...(fence ? [fence] : []), marker(this.ctx.flavor, slot, origin, originTx, originPos));
  }

  /**
   * Send what is deferred and these statements, then COMMIT, in one round trip. When the transaction
   * holds changes judged by the versioned routing, a check that no forced flip committed meanwhile goes
   * after `statements` (the applied position's upsert) and before COMMIT (forced-flips.ts): when it
   * fails, nothing is committed and ForcedFlipRaced is thrown. Nothing is written after COMMIT.
   */
  async commit(...statements: Statement[]): Promise<void> {
    const check = this.flips.commitCheck();
    const tail = [...statements, ...(check ? [check] : []), COMMIT];
    const unwritten = this.unwritten;
    this.unwritten = undefined;
    try {
      await this.commitRoundTrip(tail, check !== undefined);
    } catch (err) {
      if (err instanceof ForcedFlipRaced) throw err;
      if (!unwritten || !isDuplicateKey(err)) throw unwritten ? inTable(err, unwritten.ops) : err;
      // A write left for this round trip collided: nothing after it ran, nor the commit. Replay the
      // writes one by one, then rebuild what followed them (the replay may add tombstones, conflicts).
      await this.writes.replay(unwritten.ops, unwritten.tombstones);
      this.deferAfterWrites(unwritten.tombstones, unwritten.heartbeats, unwritten.claims);
      this.writeConflicts();
      await this.commitRoundTrip(tail, check !== undefined);
    }
  }

  /** The commit's round trip; with `checked`, a failure of the forced-flip check becomes ForcedFlipRaced. */
  private async commitRoundTrip(tail: Statement[], checked: boolean): Promise<void> {
    try {
      await this.session.roundTrip(tail);
    } catch (err) {
      const read = checked && isSubqueryManyRows(err) ? this.flips.explainRead() : undefined;
      if (!read) throw err;
      const [rows] = (await this.session.roundTrip([read])) as [mysql.RowDataPacket[]];
      throw this.flips.raced(forcedFlipsOf(rows)) ?? err;
    }
  }

  /** Send what is deferred (BEGIN, the marker) and these statements now; their results, in order. */
  async query(...statements: Statement[]): Promise<unknown[]> {
    return this.session.roundTrip(statements);
  }

  async rollback(): Promise<void> {
    this.session.discard();
    this.unwritten = undefined;
    this.flips.reset();
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
    // The forced switchovers, read with the batch's rows: a flip written here a moment ago judges this
    // batch's late rows, where the routing polled every 250 ms might not have it yet.
    const flipRead = this.flips.batchRead(batch);
    if (flipRead) this.session.defer(flipRead.statement);
    const { rows, tombstones, identities, unique } = await this.loader.load(this.session, batch, infos);
    this.flips.assertSame();
    const forced = flipRead?.read.flips;
    const decisions = decide({ batch, infos, rows, tombstones, identities, ...(unique ? { unique } : {}), ...(forced ? { forced } : {}), ownership: this.ctx.ownership, versionColumnOf: (s, t) => this.versionColumnOf(s, t) });
    for (const note of decisions.conflicts) this.log.record(note);

    const leftForCommit = await this.writes.write(decisions.ops, decisions.tombstones, options.writeAtCommit?.() ?? false);
    const heartbeats = this.heartbeatsOf(decisions.ops);
    this.deferAfterWrites(decisions.tombstones, heartbeats, decisions.claims);
    if (leftForCommit) this.unwritten = { ops: decisions.ops, tombstones: decisions.tombstones, heartbeats, claims: decisions.claims };
    this.rows += incoming.length;
  }

  /** Record the conflicts of this transaction not yet written (call once, before commit; they go with the commit). */
  writeConflicts(): void {
    this.session.defer(...this.log.statements());
  }

  /**
   * Write the conflicts recorded so far now, in the transaction, and keep only what fits for publishing
   * (conflict-log.ts): a big transaction does this after each chunk, so its memory stays bounded.
   */
  async flushConflicts(): Promise<void> {
    const statements = this.log.statements();
    if (statements.length === 0) return;
    await this.session.roundTrip(statements);
    this.log.flushed();
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
    const stale = dropStaleClaimsStatements(claims);
    this.session.defer(...stale.unique);
    const claimed = recordClaimsStatement(claims);
    if (claimed) this.session.defer(claimed);
    this.session.defer(...heartbeats, ...stale.local);
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
