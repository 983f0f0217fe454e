/**
 * The target side of `drc bootstrap` (the CopyApplier port): a chunk of rows copied from another
 * ezone, written in one target transaction through the same decisions as the stream's (decide.ts),
 * marker first so capture does not ship the copy again.
 *
 * Every row is an insert carrying its own version, from the origin `drc-bootstrap` — never an ezone —
 * so every tombstone recorded here holds it back when it is at least as new (resolver.ts: only a
 * change's *own* origin's tombstones let it through), and an existing row is replaced only by a newer
 * image. A copied row that loses is what the rules expect, not a clash between writers: it is counted,
 * not recorded in drc_meta.conflicts (the caller never asks for the conflict statements).
 *
 * No coverage wait (standalone-transaction.ts): a CLI process cannot see the local capture's progress;
 * README ("Not covered") says what that leaves open for a target that takes local deletes meanwhile.
 */
import type mysql from 'mysql2/promise';
import { findTombstonesStatement, newestTombstones } from '../db/tombstones.js';
import { quoteId, tableRef } from '../db/sql.js';
import type { RowChange } from '../model/change.js';
import { typeOf } from '../model/types/row.js';
import { fromWire, toWireRow, type Row, type WireValue } from '../model/value.js';
import type { ConflictRecord } from './sql/meta.js';
import type { TableInfo } from './table-cache.js';
import { compareVersions, versionOf } from '../model/version.js';
import { rowKey, tombstoneIdentity } from './keys.js';
import { compareRanks, rankOf } from './unique-claims.js';
import { marker } from './sql/meta.js';
import { COPY_ORIGIN, COPY_SLOT, COPY_SLOTS } from './copy-marker.js';
import type { CopyApplier, CopyOutcome, StaleRivals } from '../model/ports.js';
import { StandaloneApplier, type StandaloneApplierDeps } from './standalone-transaction.js';
import { journaledKeys, readJournalCoverage } from '../db/bootstrap-journal.js';
import { gtidPositionOf, gtidPositionSql } from '../db/connect.js';
import { CaptureBehindError } from '../errors.js';
import { positionCovers } from '../model/position.js';
import { COVERAGE_TIMEOUT_MS } from './coverage.js';

/** How often a versionless chunk reads the coverage TARGET's capture published (db/bootstrap-journal.ts). */
const JOURNAL_POLL_MS = 50;
/**
 * How long a versionless chunk waits for the journal while it holds its key range's locks: far below
 * innodb_lock_wait_timeout (50 s by default), so the writes it blocks do not time out; the chunk has
 * waited for capture without a lock first, and rolls back and is retried past it.
 */
const LOCKED_COVERAGE_MS = 3_000;

export { COPY_ORIGIN, COPY_SLOT, COPY_SLOTS } from './copy-marker.js';

/** Rounds of stale rivals removed for one chunk before it is written as the rules decide. */
const STALE_ROUNDS = 3;
/** How deep SOURCE's images copied for rivals meet rivals of their own (applyChunk). */
const STALE_DEPTH = 2;
/** Copied rows that lost a unique value kept per table for retryLosers, and copied again this many at a time. */
const LOSERS_KEPT = 10_000;
const RETRY_PAGE = 200;

/**
 * The keys of TARGET's rows that beat a copied row of a chunk on a unique value (its conflicts:
 * unique-collision, skipped, the winner as the local image) and are not newer than `horizon`. Pure.
 */
export function rivalsOf(conflicts: ConflictRecord[], info: Pick<TableInfo, 'primaryKey' | 'columnTypes'>, versionColumn: string, horizon: string): Row[] {
  const out = new Map<string, Row>();
  for (const c of conflicts) {
    if (c.reason !== 'unique-collision' || c.decision !== 'skipped' || c.local === null) continue;
    const version = versionOf(c.local[versionColumn] as WireValue, typeOf(info.columnTypes, versionColumn));
    if (version === undefined || version === null || compareVersions(version, horizon) > 0) continue;
    // The winner, not a holder the copied row removed before it lost elsewhere (same version: the tie-break decides).
    const order = compareVersions(version, c.incomingVersion);
    if (order < 0 || (order === 0 && (c.incoming === null || compareRanks(rankOf(version, c.local as Row, info.columnTypes), rankOf(version, c.incoming as Row, info.columnTypes)) <= 0))) continue;
    const key = Object.fromEntries(info.primaryKey.map((k) => [k, (c.local![k] ?? null) as WireValue]));
    out.set(JSON.stringify(key), key);
  }
  return [...out.values()];
}

export type CopyApplierDeps = Omit<StandaloneApplierDeps, 'routing'>;

export class ChunkCopyApplier extends StandaloneApplier implements CopyApplier {
  private chunks = 0;
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;

  constructor(deps: CopyApplierDeps) {
    // A copy moves what the source already holds: ownership is the stream's business, never enforced here.
    super(deps);
  }

  /**
   * With `stale` (a re-seed, README "Adding an ezone": unique values of rows only TARGET holds): each
   * copied image carries SOURCE's horizon (IncomingChange staleUpTo), and a row of TARGET that beat a
   * copied row on a unique value, not newer than the horizon, gives way to SOURCE's state of its key
   * first — removed as a row only TARGET holds where SOURCE lacks it, else SOURCE's image copied — and
   * the chunk, rolled back, is written again. Why such a row is stale: SOURCE held the copied row when
   * the chunk was read; had SOURCE ever received the rival's image (committed before the horizon, so it
   * had), the newer claim would have removed the copied row there (unique-claims.ts). At most
   * STALE_ROUNDS rounds; a rival that does not give way (SOURCE's image of its key is older) keeps the
   * value, with a warning, for the final comparison to report.
   */
  async applyChunk(changes: RowChange[], stale?: StaleRivals, depth = 0): Promise<CopyOutcome> {
    if (changes.length === 0) return { written: 0, skipped: 0 };
    const { schema, table } = changes[0]!;
    const incoming = changes.map((change) => ({ change, origin: COPY_ORIGIN, txId: COPY_ORIGIN, ...(stale ? { staleUpTo: stale.horizon } : {}) }));
    const met = new Set<string>();
    for (let round = 0, judge = stale !== undefined; ; round++) {
      let rivals: Row[] = [];
      const slot = this.takeSlot();
      try {
        const out = await this.inTransaction({ slot, origin: COPY_ORIGIN, originTx: `${COPY_ORIGIN}:${++this.chunks}` }, async (target) => {
          await target.apply(incoming);
          const info = judge ? await this.tables.get(schema, table) : undefined;
          rivals = info ? rivalsOf(target.conflicts, info, stale!.versionColumn, stale!.horizon) : [];
          if (rivals.length > 0) {
            await target.rollback();
            return undefined;
          }
          await target.commit();
          if (stale) this.noteLosers(schema, table, target.conflicts);
          const skipped = target.conflicts.filter((c) => c.decision === 'skipped').length;
          return { written: changes.length - skipped, skipped };
        });
        if (out) return out;
      } finally {
        this.freeSlots.push(slot);
      }
      const fresh = rivals.filter((k) => !met.has(JSON.stringify(k)));
      for (const k of rivals) met.add(JSON.stringify(k));
      if (fresh.length === 0 || round + 1 >= STALE_ROUNDS) {
        this.deps.log.warn({ table: `${schema}.${table}`, rows: rivals.length }, 'bootstrap: rows of the target that beat copied rows on a unique value did not give way to the source’s state of their keys; the final comparison reports them');
        judge = false;
        continue;
      }
      await this.giveWay(schema, table, fresh, stale!, depth);
    }
  }

  /** Keys of copied rows that lost a unique value, per table, for retryLosers (at most LOSERS_KEPT each). */
  private readonly losers = new Map<string, Map<string, Row>>();

  private noteLosers(schema: string, table: string, conflicts: ConflictRecord[]): void {
    const kept = this.losers.get(`${schema}.${table}`) ?? new Map<string, Row>();
    this.losers.set(`${schema}.${table}`, kept);
    for (const c of conflicts) {
      if (c.reason !== 'unique-collision' || c.decision !== 'skipped') continue;
      if (kept.size < LOSERS_KEPT) kept.set(JSON.stringify(c.key), c.key);
      else if (!this.losersFull.has(`${schema}.${table}`)) {
        this.losersFull.add(`${schema}.${table}`);
        this.deps.log.warn({ table: `${schema}.${table}`, kept: LOSERS_KEPT }, 'bootstrap: more copied rows lost a unique value than are copied once more after the table; the final comparison reports what is left');
      }
    }
  }

  private readonly losersFull = new Set<string>();

  /**
   * After a table's chunks: the copied rows that lost a unique value are copied once more, as SOURCE
   * holds them now (`stale.horizon` read afresh). A rival newer than the horizon of the loser's chunk
   * may have been removed since as a row only TARGET holds (its own chunk's horizon was later): the
   * loser no longer meets it. Returns what the second copy did.
   */
  async retryLosers(schema: string, table: string, stale: StaleRivals): Promise<CopyOutcome> {
    const keys = [...(this.losers.get(`${schema}.${table}`)?.values() ?? [])];
    const info = await this.tables.get(schema, table);
    if (!info || keys.length === 0) return { written: 0, skipped: 0 };
    let written = 0;
    let skipped = 0;
    for (let i = 0; i < keys.length; i += RETRY_PAGE) {
      const where = this.keysWhere(info, keys.slice(i, i + RETRY_PAGE));
      const out = await this.applyChunk(await stale.sourceRows(where.sql, where.params), stale);
      written += out.written;
      skipped += out.skipped;
    }
    this.losers.delete(`${schema}.${table}`);
    return { written, skipped };
  }

  /** `(k = ? AND …) OR …` over these keys (wire values), bound as the columns' own types. */
  private keysWhere(info: TableInfo, keys: Row[]): { sql: string; params: unknown[] } {
    const pk = info.primaryKey;
    const one = `(${pk.map((c) => `${quoteId(c)} = ?`).join(' AND ')})`;
    return { sql: keys.map(() => one).join(' OR '), params: keys.flatMap((k) => pk.map((c) => fromWire(k[c] ?? null, typeOf(info.columnTypes, c)))) };
  }

  /** Rows of TARGET (`keys`) take SOURCE's state of their keys: removed where SOURCE lacks the key, else SOURCE's image copied. */
  private async giveWay(schema: string, table: string, keys: Row[], stale: StaleRivals, depth: number): Promise<void> {
    const info = await this.tables.get(schema, table);
    if (!info) return;
    const where = (ks: Row[]) => this.keysWhere(info, ks);
    const asked = where(keys);
    const held = await stale.sourceRows(asked.sql, asked.params);
    const identity = (k: Row) => rowKey(`${schema}.${table}`, k, info.columnTypes);
    const inSource = new Set(held.map((c) => identity(c.key)));
    const gone = keys.filter((k) => !inSource.has(identity(k)));
    if (gone.length > 0) await this.removeTargetOnly(schema, table, stale.versionColumn, where(gone), stale.horizon);
    // SOURCE's images meet rivals of their own in turn, up to a depth (a longer chain is left to the rules and the final comparison).
    if (held.length > 0) await this.applyChunk(held, depth < STALE_DEPTH ? stale : undefined, depth + 1);
  }

  /**
   * Remove rows only TARGET holds (README "Adding an ezone": re-seeding): of the rows `where` selects
   * here — rows SOURCE did not have when the caller read it — those whose version is at most `horizon`
   * (every ezone's writes up to it had reached SOURCE) are deleted as a delete at their own version,
   * through the apply path: it decides under the row lock (a row updated meanwhile is newer and stays),
   * records the tombstone (origin drc-bootstrap: it holds back a write of that key only when not newer)
   * and runs the foreign keys' rules (cascade tombstones, refusing children). Under the copy's marker:
   * not shipped (SOURCE lacks the row already). Returns the rows deleted.
   */
  async removeTargetOnly(schema: string, table: string, versionColumn: string, where: { sql: string; params: unknown[] }, horizon: string): Promise<number> {
    const info = await this.tables.get(schema, table);
    if (!info) return 0;
    const columns = [...info.columns].filter((c) => !info.generated?.has(c));
    const [rows] = (await this.deps.pool.query(`SELECT ${columns.map(quoteId).join(', ')} FROM ${tableRef(schema, table)} WHERE ${where.sql}`, where.params)) as [mysql.RowDataPacket[], unknown];
    const versionType = typeOf(info.columnTypes, versionColumn);
    const deletes: RowChange[] = [];
    for (const r of rows) {
      const before = toWireRow(r, info.columnTypes);
      const version = versionOf(before[versionColumn], versionType);
      if (version === undefined || version === null || compareVersions(version, horizon) > 0) continue; // maybe a write SOURCE has not received yet
      deletes.push({ schema, table, op: 'delete', key: Object.fromEntries(info.primaryKey.map((c) => [c, before[c] ?? null])), before, version });
    }
    if (deletes.length === 0) return 0;
    const slot = this.takeSlot();
    try {
      return await this.inTransaction({ slot, origin: COPY_ORIGIN, originTx: `${COPY_ORIGIN}:target-only` }, async (target) => {
        await target.apply(deletes.map((change) => ({ change, origin: COPY_ORIGIN, txId: COPY_ORIGIN, unclaimed: true as const })));
        await target.commit();
        return deletes.length - target.conflicts.filter((c) => c.decision === 'skipped').length;
      });
    } finally {
      this.freeSlots.push(slot);
    }
  }

  /**
   * A chunk of a table without a version column (README "Adding an ezone": tables without a version
   * column), in one transaction in REPEATABLE READ: lock the chunk's key range here (`range`: rows and
   * gaps, so no change of a key in it commits until this one does), read this server's binlog
   * position, wait until TARGET's capture has journaled every change up to it (its published coverage,
   * db/bootstrap-journal.ts), then write only the rows whose key is not journaled: a change TARGET
   * received since the copy's start point is never overwritten by the copy. Journaled rows are skipped.
   */
  /** Tests only: runs while a versionless chunk holds its key range's locks, before it waits for the journal. */
  afterLock: (() => Promise<void>) | undefined;

  async applyVersionlessChunk(changes: RowChange[], range: { sql: string; params: unknown[] }): Promise<CopyOutcome & { journaled: number }> {
    if (changes.length === 0) return { written: 0, skipped: 0, journaled: 0 };
    const { schema, table } = changes[0]!;
    const info = await this.tables.get(schema, table);
    const identity = tombstoneIdentity(info ?? undefined);
    const slot = this.takeSlot();
    try {
      // Capture catches up first, no lock held: the wait under the lock is then short (capped).
      await this.journalCovers(await this.binlogPosition(), COVERAGE_TIMEOUT_MS);
      return await this.inTransaction({ slot, origin: COPY_ORIGIN, originTx: `${COPY_ORIGIN}:${++this.chunks}` }, async (target, conn) => {
        await conn.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ'); // before the deferred BEGIN: next-key locks
        await target.query({ sql: `SELECT 1 FROM ${tableRef(schema, table)} WHERE ${range.sql} FOR UPDATE`, params: range.params });
        await this.afterLock?.();
        // G, read once the range is locked: every change of it that committed before the lock is at or before G.
        const [position] = await target.query({ sql: gtidPositionSql(this.deps.flavor), params: [] });
        await this.journalCovers(gtidPositionOf(position as mysql.RowDataPacket[]), LOCKED_COVERAGE_MS);
        const journaled = await journaledKeys(this.deps.pool, { schema, table }, changes.map((c) => c.key), identity);
        const rest = changes.filter((_, i) => !journaled.has(i));
        if (rest.length > 0) await target.apply(rest.map((change) => ({ change, origin: COPY_ORIGIN, txId: COPY_ORIGIN })));
        await target.commit();
        const skipped = target.conflicts.filter((c) => c.decision === 'skipped').length;
        return { written: rest.length - skipped, skipped: skipped + journaled.size, journaled: journaled.size };
      });
    } finally {
      this.freeSlots.push(slot);
    }
  }

  /**
   * The rows of a table without a version column a concurrent delete overtook (README "Adding an
   * ezone"): a stream's delete that found the key missing here (drc_meta.conflicts `delete-missing`,
   * since the copy began) just before a chunk inserted it leaves no change in this binlog to journal.
   * Of `keys`, each row here whose key has no journaled change (nothing but the copy wrote it) and
   * that SOURCE no longer holds (`sourceHas`, asked with the key's values) is deleted, under the
   * copy's marker (not shipped: SOURCE lacks it), the key range locked and the journal covered as for
   * a chunk. Returns the rows deleted.
   */
  async removeResurrected(schema: string, table: string, keys: Row[], sourceHas: (where: string, params: unknown[]) => Promise<boolean>): Promise<number> {
    const { pool, flavor } = this.deps;
    const info = await this.tables.get(schema, table);
    if (!info || keys.length === 0) return 0;
    const identity = tombstoneIdentity(info);
    const pk = info.primaryKey;
    const where = pk.map((c) => `${quoteId(c)} = ?`).join(' AND ');
    const conn = await pool.getConnection();
    let removed = 0;
    try {
      for (const key of keys) {
        await this.journalCovers(await this.binlogPosition(), COVERAGE_TIMEOUT_MS); // no lock held yet
        const params = pk.map((c) => fromWire(key[c] ?? null, typeOf(info.columnTypes, c)));
        await conn.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        await conn.query('BEGIN');
        try {
          const [rows] = (await conn.query(`SELECT 1 FROM ${tableRef(schema, table)} WHERE ${where} FOR UPDATE`, params)) as [mysql.RowDataPacket[], unknown];
          const [pos] = (await conn.query(gtidPositionSql(flavor))) as [mysql.RowDataPacket[], unknown];
          if (rows.length === 0) {
            await conn.query('ROLLBACK');
            continue;
          }
          await this.journalCovers(gtidPositionOf(pos), LOCKED_COVERAGE_MS);
          if ((await journaledKeys(pool, { schema, table }, [key], identity)).size > 0 || (await sourceHas(where, params))) {
            await conn.query('ROLLBACK');
            continue;
          }
          const m = marker(flavor, COPY_SLOT - COPY_SLOTS, COPY_ORIGIN, `${COPY_ORIGIN}:resurrected`, '');
          await conn.query(m.sql, m.params);
          await conn.query(`DELETE FROM ${tableRef(schema, table)} WHERE ${where}`, params);
          await conn.query('COMMIT');
          removed++;
        } catch (err) {
          await conn.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
    } finally {
      conn.release();
    }
    return removed;
  }

  /** This server's binlog position now. */
  private async binlogPosition(): Promise<string> {
    const [rows] = (await this.deps.pool.query(gtidPositionSql(this.deps.flavor))) as [mysql.RowDataPacket[], unknown];
    return gtidPositionOf(rows);
  }

  /** Resolves once TARGET's capture published a coverage at or past `position`; CaptureBehindError after `timeoutMs` (the chunk is retried). */
  private async journalCovers(position: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const covered = await readJournalCoverage(this.deps.pool);
      if (covered !== undefined && positionCovers(covered, position)) return;
      if (Date.now() > deadline) throw new CaptureBehindError(position, timeoutMs);
      await new Promise((r) => setTimeout(r, JOURNAL_POLL_MS));
    }
  }

  private takeSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    return COPY_SLOT - (this.nextSlot++ % COPY_SLOTS);
  }

  /**
   * Delete the copied rows a delete has overtaken (README "Adding an ezone": the copy against a
   * concurrent delete): of the given keys, every row here whose version is not newer than a tombstone
   * of its key. A stream's delete that read the row as missing just before a chunk inserted it leaves
   * only a tombstone and the copied row; this decides that row again, as the stream would have, under
   * the copy's marker (capture ships nothing: every other ezone already applied the delete). One
   * transaction per key, the row locked; returns the keys deleted.
   */
  async removeOvertaken(schema: string, table: string, pk: string[], versionColumn: string, keys: Row[]): Promise<number> {
    const { pool, flavor } = this.deps;
    const info = await this.tables.get(schema, table);
    if (!info || keys.length === 0) return 0;
    const identity = tombstoneIdentity(info);
    const versionType = typeOf(info.columnTypes, versionColumn);
    const where = pk.map((c) => `${quoteId(c)} = ?`).join(' AND ');
    const conn = await pool.getConnection();
    let removed = 0;
    try {
      for (const key of keys) {
        const params = pk.map((c) => fromWire(key[c] ?? null, typeOf(info.columnTypes, c)));
        await conn.query('BEGIN');
        try {
          const [rows] = (await conn.query(`SELECT ${[...pk, versionColumn].map(quoteId).join(', ')} FROM ${tableRef(schema, table)} WHERE ${where} FOR UPDATE`, params)) as [mysql.RowDataPacket[], unknown];
          const found = rows[0] ? toWireRow(rows[0], info.columnTypes) : undefined;
          if (!found) {
            await conn.query('ROLLBACK');
            continue;
          }
          const rowKeyValues = Object.fromEntries(pk.map((c) => [c, found[c] ?? null]));
          const lookup = findTombstonesStatement(schema, table, [rowKeyValues], identity);
          const [marks] = (await conn.query(lookup.sql, lookup.params)) as [mysql.RowDataPacket[], unknown];
          const newest = newestTombstones(marks, 1)[0];
          const version = versionOf(found[versionColumn], versionType);
          if (!newest || version === undefined || compareVersions(newest.version, version) < 0) {
            await conn.query('ROLLBACK');
            continue;
          }
          const m = marker(flavor, COPY_SLOT - COPY_SLOTS, COPY_ORIGIN, `${COPY_ORIGIN}:recheck`, '');
          await conn.query(m.sql, m.params);
          await conn.query(`DELETE FROM ${tableRef(schema, table)} WHERE ${where}`, pk.map((c) => fromWire(found[c] ?? null, typeOf(info.columnTypes, c))));
          await conn.query('COMMIT');
          removed++;
        } catch (err) {
          await conn.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
    } finally {
      conn.release();
    }
    return removed;
  }
}
