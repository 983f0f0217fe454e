/**
 * Reads what the decisions need, in as few round trips as possible: the current rows of every key of
 * a batch (locked), and the tombstones of the keys that are missing here.
 *
 * Coverage (DESIGN.md section 5 rule 4, the race): with `coverage: { wait }`, the binlog position is
 * read right after the rows, and before looking tombstones up the loader waits until local capture has
 * passed it — a local delete that made a key missing then has its tombstone. A repair decides from
 * rows it has just read everywhere and passes `'not-needed'`.
 */
import type mysql from 'mysql2/promise';
import { gtidPositionOf, gtidPositionSql } from '../db/connect.js';
import type { PipelinedSession } from '../db/pipelined-session.js';
import type { Flavor, Statement } from '../db/sql.js';
import { findTombstonesStatement, newestTombstones } from '../db/tombstones.js';
import { quoteId } from '../db/sql.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import { exactSelect } from '../model/types/row.js';
import { toWireRow, type Row } from '../model/value.js';
import { rowKey } from './decide.js';
import { selectByKeys } from './sql/rows.js';
import type { TableInfo } from './table-cache.js';
import type { Coverage, IncomingChange } from './types.js';

/** Keys per SELECT (point lookups joined by UNION ALL) and per tombstone lookup. */
const KEYS_PER_STATEMENT = 500;
/** How long a decision on a missing row waits for local capture. */
const COVERAGE_TIMEOUT_MS = 30_000;

export interface RowState {
  /** Every key of the batch (rowKey): its row here, or null. */
  rows: Map<string, Row | null>;
  /** The newest tombstone of keys missing here that a versioned change touches. */
  tombstones: Map<string, { version: string }>;
}

type Keys = Map<string, { schema: string; table: string; keys: Row[] }>;

export class RowStateLoader {
  constructor(
    private readonly flavor: Flavor,
    private readonly coverage: Coverage,
  ) {}

  async load(session: PipelinedSession, batch: IncomingChange[], infos: Map<string, TableInfo>): Promise<RowState> {
    const { rows, position } = await this.loadRows(session, batch, infos);
    const tombstones = await this.loadTombstones(session, batch, rows, position, infos);
    return { rows, tombstones };
  }

  /**
   * Current rows of every key, locked, in one round trip; then, when a change carries a version and
   * coverage is waited for, the binlog position (read after the rows, so a local delete that made a
   * key missing is at or before it).
   */
  private async loadRows(session: PipelinedSession, batch: IncomingChange[], infos: Map<string, TableInfo>): Promise<{ rows: Map<string, Row | null>; position: string | undefined }> {
    const rows = new Map<string, Row | null>();
    const byTable: Keys = new Map();
    const seen = new Set<string>();
    for (const { change } of batch) {
      const table = `${change.schema}.${change.table}`;
      const entry = byTable.get(table) ?? { schema: change.schema, table: change.table, keys: [] };
      byTable.set(table, entry);
      const k = rowKey(table, change.key, infos.get(table)?.columnTypes);
      rows.set(k, null);
      if (seen.has(k)) continue;
      seen.add(k);
      entry.keys.push(change.key);
    }
    const selects: { table: string; pk: string[]; statement: Statement }[] = [];
    for (const [table, { schema, table: name, keys }] of byTable) {
      const info = infos.get(table) as TableInfo;
      const pk = info.primaryKey;
      // Every column by name, each read exactly (FLOAT as CAST(… AS DOUBLE): its text has 6 digits).
      const select = exactSelect([...info.columns], info.columnTypes, quoteId);
      for (let i = 0; i < keys.length; i += KEYS_PER_STATEMENT) selects.push({ table, pk, statement: selectByKeys(schema, name, pk, keys.slice(i, i + KEYS_PER_STATEMENT), select) });
    }
    const versioned = batch.some(({ change }) => change.version !== undefined);
    const readPosition = versioned && this.coverage !== 'not-needed';
    const results = await session.roundTrip([...selects.map((s) => s.statement), ...(readPosition ? [{ sql: gtidPositionSql(this.flavor), params: [] }] : [])]);
    selects.forEach(({ table, pk }, i) => {
      const types = infos.get(table)?.columnTypes;
      for (const r of results[i] as mysql.RowDataPacket[]) {
        const row = toWireRow(r, types);
        const key: Row = {};
        for (const c of pk) key[c] = row[c] ?? null;
        rows.set(rowKey(table, key, types), row);
      }
    });
    return { rows, position: readPosition ? gtidPositionOf(results[selects.length] as mysql.RowDataPacket[]) : undefined };
  }

  /** Tombstones of the keys that are missing here and get a versioned change (inserts/updates may be older than a delete, deletes may be replays). */
  private async loadTombstones(
    session: PipelinedSession,
    batch: IncomingChange[],
    rows: Map<string, Row | null>,
    position: string | undefined,
    infos: Map<string, TableInfo>,
  ): Promise<Map<string, { version: string }>> {
    const found = new Map<string, { version: string }>();
    const wanted: Keys = new Map();
    for (const { change } of batch) {
      const table = `${change.schema}.${change.table}`;
      if (change.version === undefined || rows.get(rowKey(table, change.key, infos.get(table)?.columnTypes)) !== null) continue;
      const entry = wanted.get(table) ?? { schema: change.schema, table: change.table, keys: [] };
      entry.keys.push(change.key);
      wanted.set(table, entry);
    }
    if (wanted.size === 0) return found;
    if (this.coverage !== 'not-needed') {
      if (position === undefined) return found;
      await this.coverage.wait.waitUntilCovered(position, COVERAGE_TIMEOUT_MS);
    }
    const lookups: { table: string; keys: Row[]; statement: Statement }[] = [];
    for (const [table, { schema, table: name, keys }] of wanted) {
      for (let i = 0; i < keys.length; i += KEYS_PER_STATEMENT) {
        const some = keys.slice(i, i + KEYS_PER_STATEMENT);
        lookups.push({ table, keys: some, statement: findTombstonesStatement(schema, name, some) });
      }
    }
    const results = await session.roundTrip(lookups.map((l) => l.statement));
    lookups.forEach(({ table, keys }, i) => {
      // Stored tombstones are keyed by the type-agnostic canonical key; the batch's state by the typed rowKey.
      const newest = newestTombstones(results[i] as mysql.RowDataPacket[]);
      const types = infos.get(table)?.columnTypes;
      for (const key of keys) {
        const t = newest.get(canonicalKey(key));
        if (t) found.set(rowKey(table, key, types), { version: t.version });
      }
    });
    return found;
  }
}
