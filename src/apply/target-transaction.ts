/**
 * One target transaction: the marker first, then the incoming changes decided by the resolver and
 * the ownership rules, with tombstones and conflict records written alongside. The caller writes the
 * applied position and commits. Used for a group of small source transactions, and chunk by chunk for
 * a huge one (state is re-read per batch, so memory stays bounded).
 *
 * Statements whose results nobody waits for (BEGIN, the marker, the fence check, tombstones,
 * conflicts, the position) travel with the next one that needs an answer (db/pipelined-session.ts):
 * a group of small transactions takes three or four round trips (rows, tombstones, writes and commit
 * together or apart).
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { versionColumnOf } from '../config/tables.js';
import { gtidPositionOf, gtidPositionSql } from '../db/connect.js';
import { bySize, PipelinedSession } from '../db/pipelined-session.js';
import type { DeferredStatement } from '../db/sql.js';
import { findTombstonesStatement, newestTombstones, recordTombstonesStatement, type Tombstone } from '../db/tombstones.js';
import { RetryableApplyError, SchemaMismatchError } from '../errors.js';
import type { RowChange } from '../model/change.js';
import type { Ownership } from '../model/ownership.js';
import { canonicalRow, toWireRow, type Row } from '../model/value.js';
import { compareVersions, versionOf } from '../model/version.js';
import type { Logger } from '../ops/logger.js';
import * as sql from './planner.js';
import { compareImages, resolve, type ConflictDecision, type ConflictReason } from './resolver.js';
import type { TableCache, TableInfo } from './table-cache.js';

/** Waits until local capture has recorded every local delete up to a binlog position. */
export interface LocalProgress {
  waitUntilCovered(position: string, timeoutMs: number): Promise<void>;
}

export interface TargetContext {
  /** This ezone. */
  ezone: string;
  flavor: sql.Flavor;
  config: Pick<Config, 'replicate' | 'tables' | 'apply'>;
  ownership: Ownership;
  tables: TableCache;
  progress: LocalProgress;
  log: Logger;
}

/** An incoming change and the source transaction it belongs to. */
export interface IncomingChange {
  change: RowChange;
  origin: string;
  txId: string;
}

interface Op {
  kind: 'insert' | 'update' | 'delete';
  info: TableInfo;
  incoming: IncomingChange;
  key: Row;
  image: Row;
}

const ER_DUP_ENTRY = 1062;

function statementOf(op: Op): sql.Statement {
  const { schema, table } = op.incoming.change;
  if (op.kind === 'insert') return sql.insertRows(schema, table, [op.image]);
  if (op.kind === 'update') return sql.updateRow(schema, table, op.info.primaryKey, op.key, op.image);
  return sql.deleteRow(schema, table, op.info.primaryKey, op.key);
}

export class TargetTransaction {
  readonly conflicts: sql.ConflictRecord[] = [];
  rows = 0;
  /** The last heartbeat this transaction applied (origin clock, UTC text). */
  heartbeat: { origin: string; sentAt: string } | undefined;
  private readonly warnedDrops = new Set<string>();
  private readonly session: PipelinedSession;
  /** Writes left for the commit's round trip, to replay one by one if one of them collides. */
  private unwritten: { ops: Op[]; tombstones: Tombstone[]; heartbeats: sql.Statement[] } | undefined;

  constructor(
    private readonly conn: mysql.PoolConnection,
    private readonly ctx: TargetContext,
  ) {
    this.session = new PipelinedSession(conn);
  }

  /**
   * Begin, with the marker naming the true origin as the first row written. `fence` (the leader
   * check, a read) goes with the first round trip: a daemon taking over kills this daemon's sessions,
   * so a check passed early holds until commit.
   */
  open(slot: number, origin: string, originTx: string, originPos: string, fence?: DeferredStatement): void {
    this.session.discard();
    this.session.defer({ sql: 'BEGIN', params: [] }, ...(fence ? [fence] : []), sql.marker(this.ctx.flavor, slot, origin, originTx, originPos));
  }

  /** Send what is deferred and these statements, then COMMIT, in one round trip. */
  async commit(...statements: sql.Statement[]): Promise<void> {
    const tail = [...statements, { sql: 'COMMIT', params: [] }];
    const unwritten = this.unwritten;
    this.unwritten = undefined;
    try {
      await this.session.roundTrip(tail);
    } catch (err) {
      if (!unwritten || !isDuplicate(err)) throw err;
      // A write left for this round trip collided: nothing after it ran, nor the commit. Replay the
      // writes one by one, then rebuild what followed them (the replay may add tombstones, conflicts).
      await this.session.exec({ sql: 'ROLLBACK TO SAVEPOINT drc_writes', params: [] });
      for (const op of unwritten.ops) await this.runOne(op, unwritten.tombstones);
      this.deferAfterWrites(unwritten.tombstones, unwritten.heartbeats);
      this.writeConflicts();
      await this.session.roundTrip(tail);
    }
  }

  async rollback(): Promise<void> {
    this.session.discard();
    this.unwritten = undefined;
    await this.conn.query('ROLLBACK');
  }

  /**
   * Decide and write a batch of changes, in order. With `writeAtCommit` answering true when the writes
   * are ready, they are left for the commit's round trip instead of one of their own (one apply per
   * transaction then): the caller passes it when nothing has to happen between writing and committing.
   */
  async apply(batch: IncomingChange[], options: { writeAtCommit?: () => boolean } = {}): Promise<void> {
    if (batch.length === 0) return;
    const infos = await this.checkSchema(batch);
    const { state, position } = await this.loadRows(batch, infos);
    const tombstones = await this.loadTombstones(batch, state, position);
    const newTombstones: Tombstone[] = [];
    const ops: Op[] = [];

    for (const incoming of batch) {
      const { change } = incoming;
      const table = `${change.schema}.${change.table}`;
      const info = infos.get(table) as TableInfo;
      const k = rowKey(table, change.key);
      const local = state.get(k) ?? null;
      const versionColumn = versionColumnOf(this.ctx.config, change.schema, change.table);

      const violation = this.ctx.ownership.violates(table, change.after ?? (change.before as Row), incoming.origin);
      if (violation) {
        const decision = this.ctx.ownership.policy === 'reject' ? 'skipped' : 'applied';
        this.conflict(incoming, 'ownership', decision, local, versionColumn);
        if (decision === 'skipped') continue;
      }

      const d = resolve({ change, local, tombstone: tombstones.get(k) ?? null, versionColumn });
      if (d.conflict) this.conflict(incoming, d.conflict.reason, d.conflict.decision, local, versionColumn);
      if (d.tombstone !== undefined) {
        newTombstones.push({ schema: change.schema, table: change.table, key: change.key, version: d.tombstone, origin: incoming.origin });
        // A key keeps its newest tombstone (as recordTombstones does with GREATEST).
        const had = tombstones.get(k);
        if (!had || compareVersions(d.tombstone, had.version) > 0) tombstones.set(k, { version: d.tombstone });
      }
      state.set(k, d.next);
      if (d.action === 'insert') ops.push({ kind: 'insert', info, incoming, key: change.key, image: change.after as Row });
      else if (d.action === 'update') ops.push({ kind: 'update', info, incoming, key: change.key, image: change.after as Row });
      else if (d.action === 'delete') ops.push({ kind: 'delete', info, incoming, key: change.key, image: change.before as Row });
    }

    const leftForCommit = await this.run(ops, newTombstones, options.writeAtCommit?.() ?? false);
    const heartbeats: sql.Statement[] = [];
    for (const op of ops) {
      const { change } = op.incoming;
      if (change.schema !== 'drc_meta' || change.table !== 'heartbeat' || !change.after) continue;
      const sentAt = String(change.after.sent_at);
      heartbeats.push(sql.heartbeatSeen(this.ctx.flavor, String(change.after.ezone), sentAt));
      this.heartbeat = { origin: String(change.after.ezone), sentAt };
    }
    this.deferAfterWrites(newTombstones, heartbeats);
    if (leftForCommit) this.unwritten = { ops, tombstones: newTombstones, heartbeats };
    this.rows += batch.length;
  }

  /** The tombstones of applied deletes and the heartbeats seen, written after the rows. */
  private deferAfterWrites(tombstones: Tombstone[], heartbeats: sql.Statement[]): void {
    const stones = recordTombstonesStatement('applied_tombstones', tombstones);
    if (stones) this.session.defer(stones);
    this.session.defer(...heartbeats);
  }

  /** Record the conflicts of this transaction (call once, before commit; they go with the commit). */
  writeConflicts(): void {
    for (let i = 0; i < this.conflicts.length; i += 500) this.session.defer(sql.insertConflicts(this.conflicts.slice(i, i + 500)));
  }

  /** Every table exists with every column of the incoming images (or unknown columns are dropped). */
  private async checkSchema(batch: IncomingChange[]): Promise<Map<string, TableInfo>> {
    const infos = new Map<string, TableInfo>();
    for (const { change } of batch) {
      const table = `${change.schema}.${change.table}`;
      let info = infos.get(table);
      if (!info) {
        info = (await this.ctx.tables.get(change.schema, change.table)) ?? undefined;
        if (!info) throw new SchemaMismatchError(`table ${table} does not exist here — create it (DDL is not replicated)`);
        if (info.primaryKey.length === 0) throw new SchemaMismatchError(`table ${table} has no primary key here`);
        infos.set(table, info);
      }
      const missingKey = Object.keys(change.key).filter((c) => !info!.primaryKey.includes(c));
      if (missingKey.length > 0 || Object.keys(change.key).length !== info.primaryKey.length) {
        throw new SchemaMismatchError(`table ${table} has primary key (${info.primaryKey.join(', ')}) here, the change has (${Object.keys(change.key).join(', ')})`);
      }
      for (const image of [change.before, change.after]) {
        if (!image) continue;
        for (const col of Object.keys(image)) {
          if (info.columns.has(col)) continue;
          if (this.ctx.config.apply.onUnknownColumn === 'pause') {
            throw new SchemaMismatchError(`table ${table} has no column ${col} here — add it, or set apply.onUnknownColumn: drop`);
          }
          delete image[col];
          if (!this.warnedDrops.has(`${table}.${col}`)) {
            this.warnedDrops.add(`${table}.${col}`);
            this.ctx.log.warn({ table, column: col }, 'dropping a column this ezone does not have (apply.onUnknownColumn: drop)');
          }
        }
      }
    }
    return infos;
  }

  /**
   * Current rows of every key in the batch, locked, in one round trip; then, when a change carries a
   * version, the binlog position: read after the rows, so a local delete that made a key missing is
   * at or before it.
   */
  private async loadRows(batch: IncomingChange[], infos: Map<string, TableInfo>): Promise<{ state: Map<string, Row | null>; position: string | undefined }> {
    const state = new Map<string, Row | null>();
    const byTable = new Map<string, { schema: string; table: string; keys: Map<string, Row> }>();
    for (const { change } of batch) {
      const table = `${change.schema}.${change.table}`;
      const entry = byTable.get(table) ?? { schema: change.schema, table: change.table, keys: new Map<string, Row>() };
      entry.keys.set(rowKey(table, change.key), change.key);
      byTable.set(table, entry);
    }
    const selects: { table: string; pk: string[]; statement: sql.Statement }[] = [];
    for (const [table, { schema, table: name, keys }] of byTable) {
      const pk = (infos.get(table) as TableInfo).primaryKey;
      for (const k of keys.keys()) state.set(k, null);
      const list = [...keys.values()];
      for (let i = 0; i < list.length; i += 500) selects.push({ table, pk, statement: sql.selectByKeys(schema, name, pk, list.slice(i, i + 500)) });
    }
    const versioned = batch.some(({ change }) => change.version !== undefined);
    const results = await this.session.roundTrip([...selects.map((s) => s.statement), ...(versioned ? [{ sql: gtidPositionSql(this.ctx.flavor), params: [] }] : [])]);
    selects.forEach(({ table, pk }, i) => {
      for (const r of results[i] as mysql.RowDataPacket[]) {
        const row = toWireRow(r);
        const key: Row = {};
        for (const c of pk) key[c] = row[c] ?? null;
        state.set(rowKey(table, key), row);
      }
    });
    return { state, position: versioned ? gtidPositionOf(results[selects.length] as mysql.RowDataPacket[]) : undefined };
  }

  /**
   * Tombstones of the keys that are missing here and get a versioned insert/update. First waits until
   * local capture has passed the current binlog position, so a local delete committed before this
   * point has its tombstone (DESIGN.md section 5 rule 4, the race).
   */
  private async loadTombstones(batch: IncomingChange[], state: Map<string, Row | null>, position: string | undefined): Promise<Map<string, { version: string }>> {
    const found = new Map<string, { version: string }>();
    // Versioned changes to keys missing here: inserts/updates may be older than a delete, deletes may be replays.
    const wanted = new Map<string, { schema: string; table: string; keys: Row[] }>();
    for (const { change } of batch) {
      const table = `${change.schema}.${change.table}`;
      if (change.version === undefined || state.get(rowKey(table, change.key)) !== null) continue;
      const entry = wanted.get(table) ?? { schema: change.schema, table: change.table, keys: [] };
      entry.keys.push(change.key);
      wanted.set(table, entry);
    }
    if (wanted.size === 0 || position === undefined) return found;
    await this.ctx.progress.waitUntilCovered(position, 30_000);
    const lookups: { table: string; statement: sql.Statement }[] = [];
    for (const [table, { schema, table: name, keys }] of wanted) {
      for (let i = 0; i < keys.length; i += 500) lookups.push({ table, statement: findTombstonesStatement(schema, name, keys.slice(i, i + 500)) });
    }
    const results = await this.session.roundTrip(lookups.map((l) => l.statement));
    lookups.forEach(({ table }, i) => {
      for (const [keyJson, t] of newestTombstones(results[i] as mysql.RowDataPacket[])) found.set(`${table}|${keyJson}`, { version: t.version });
    });
    return found;
  }

  /**
   * Execute the planned writes in order, in as few round trips as their size allows (consecutive
   * inserts into one table go as one statement). A duplicate key anywhere rolls the writes back to a
   * savepoint and replays them one by one, resolving unique-key collisions (rule 5). With `atCommit`,
   * writes that fit one round trip are deferred instead (commit replays them if they collide); returns
   * whether they were.
   */
  private async run(ops: Op[], tombstones: Tombstone[], atCommit: boolean): Promise<boolean> {
    if (ops.length === 0) return false;
    const statements: sql.Statement[] = [];
    for (let i = 0; i < ops.length; ) {
      const op = ops[i] as Op;
      let j = i + 1;
      if (op.kind === 'insert') {
        const cols = Object.keys(op.image).join(',');
        while (j < ops.length && j - i < 500 && ops[j]!.kind === 'insert' && sameTable(ops[j]!, op) && Object.keys(ops[j]!.image).join(',') === cols) j++;
        statements.push(sql.insertRows(op.incoming.change.schema, op.incoming.change.table, ops.slice(i, j).map((o) => o.image)));
      } else {
        statements.push(statementOf(op));
      }
      i = j;
    }
    const parts = bySize(statements);
    this.session.defer({ sql: 'SAVEPOINT drc_writes', params: [] });
    if (atCommit && parts.length === 1) {
      this.session.defer(...parts[0]!);
      return true;
    }
    try {
      for (const part of parts) await this.session.roundTrip(part);
      return false;
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      await this.session.exec({ sql: 'ROLLBACK TO SAVEPOINT drc_writes', params: [] });
    }
    for (const op of ops) await this.runOne(op, tombstones);
    return false;
  }

  private async runOne(op: Op, tombstones: Tombstone[]): Promise<void> {
    const statement = statementOf(op);
    try {
      await this.session.exec(statement);
    } catch (err) {
      if (!isDuplicate(err) || op.kind === 'delete') throw err;
      if (await this.resolveUniqueCollision(op, tombstones)) await this.session.exec(statement);
    }
  }

  /**
   * Rule 5: another row holds one of the incoming row's unique-key values. The newer row (version,
   * then tie-break) wins and the loser is removed, here as in every other ezone. Returns whether the
   * incoming write should be retried (it won).
   */
  private async resolveUniqueCollision(op: Op, tombstones: Tombstone[]): Promise<boolean> {
    const { change } = op.incoming;
    const table = `${change.schema}.${change.table}`;
    const versionColumn = versionColumnOf(this.ctx.config, change.schema, change.table);
    const lookups = op.info.uniqueKeys
      .map((columns) => ({ columns, values: pick(op.image, columns) }))
      .filter((k) => k.columns.every((c) => k.values[c] !== null));
    if (lookups.length === 0) throw new RetryableApplyError(`duplicate primary key in ${table}: the row appeared concurrently`);
    const [found] = (await this.session.roundTrip([sql.selectByUniqueKeys(change.schema, change.table, lookups)])) as [mysql.RowDataPacket[]];
    const others = found.map((r) => toWireRow(r)).filter((r) => canonicalRow(pick(r, op.info.primaryKey)) !== canonicalRow(op.key));
    if (others.length === 0) throw new RetryableApplyError(`duplicate primary key in ${table}: the row appeared concurrently`);

    const version = (r: Row) => (versionColumn === null ? undefined : versionOf(r[versionColumn]));
    const incomingWins = versionColumn === null || others.every((r) => compareImages(change.version, op.image, version(r), r) > 0);
    const losers = incomingWins ? others : op.kind === 'update' ? [await this.currentRow(op)] : [];
    for (const loser of losers) {
      if (!loser) continue;
      const key = pick(loser, op.info.primaryKey);
      await this.session.exec(sql.deleteRow(change.schema, change.table, op.info.primaryKey, key));
      const v = version(loser);
      if (v) tombstones.push({ schema: change.schema, table: change.table, key, version: v, origin: this.ctx.ezone });
    }
    this.conflict(op.incoming, 'unique-collision', incomingWins ? 'applied' : 'skipped', incomingWins ? (others[0] ?? null) : null, versionColumn);
    return incomingWins;
  }

  private async currentRow(op: Op): Promise<Row | undefined> {
    const [rows] = (await this.session.roundTrip([sql.selectByKeys(op.incoming.change.schema, op.incoming.change.table, op.info.primaryKey, [op.key])])) as [mysql.RowDataPacket[]];
    return rows[0] ? toWireRow(rows[0]) : undefined;
  }

  private conflict(incoming: IncomingChange, reason: ConflictReason, decision: ConflictDecision, local: Row | null, versionColumn: string | null): void {
    const { change } = incoming;
    // DRC's own rows (heartbeats) resolve like any other, but their divergence is no user conflict:
    // a restarted daemon's first heartbeat meets a row its predecessor's last one left behind.
    if (change.schema === 'drc_meta') return;
    this.conflicts.push({
      ezone: this.ctx.ezone,
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
}

const rowKey = (table: string, key: Row) => `${table}|${canonicalRow(key)}`;
const sameTable = (a: Op, b: Op) => a.incoming.change.schema === b.incoming.change.schema && a.incoming.change.table === b.incoming.change.table;
const isDuplicate = (err: unknown) => (err as { errno?: number }).errno === ER_DUP_ENTRY;

function pick(row: Row, cols: string[]): Row {
  const out: Row = {};
  for (const c of cols) out[c] = row[c] ?? null;
  return out;
}
