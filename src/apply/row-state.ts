/**
 * Reads what the decisions need, in as few round trips as possible: the current rows of every key of
 * a batch (locked), and the tombstones of the keys that are missing here.
 *
 * Coverage (DESIGN.md section 5 rule 4, the race): with `coverage: { wait }`, the binlog position is
 * read right after the rows, and before looking tombstones up the loader waits until local capture has
 * passed it — a local delete that made a key missing then has its tombstone. A repair decides from
 * rows it has just read everywhere and passes `'not-needed'`.
 *
 * Identity (issue 12): which local row an incoming key means is the server's answer, under the key
 * columns' collations — each point lookup says which incoming key it answers. Tombstones of a missing
 * key are found by the server's identity of the key too (db/key-identity.ts); a table's truncates
 * count as tombstones of each of its keys.
 */
import type mysql from 'mysql2/promise';
import type { PipelinedSession } from '../db/pipelined-session.js';
import type { Flavor, Statement } from '../db/sql.js';
import { addMark, findTombstonesStatement, tombstonesByOrigin, type TombstoneMark } from '../db/tombstones.js';
import { splitTruncates, withTruncates } from '../db/truncates.js';
import { toWireRow, type Row } from '../model/value.js';
import { positionOf, positionRead, waitCovered } from './coverage.js';
import { rowKey, tombstoneIdentity } from './keys.js';
import { KEY_INDEX_COLUMN, selectByKeys } from './sql/rows.js';
import type { TableInfo } from './table-cache.js';
import type { Coverage, IncomingChange } from './types.js';
import type { UniqueInput } from './unique-claims.js';
import { UniqueStateLoader } from './unique-claims-state.js';

/** Keys per SELECT (point lookups joined by UNION ALL) and per tombstone lookup. */
const KEYS_PER_STATEMENT = 500;

export interface RowState {
  /** Every key of the batch, by identity (see `identities`): its row here, or null. */
  rows: Map<string, Row | null>;
  /**
   * The tombstones of keys missing here that a versioned change touches, by exact key (rowKey): the
   * newest per origin (a change never meets its own origin's, resolver.ts).
   */
  tombstones: Map<string, TombstoneMark[]>;
  /**
   * The identity of each incoming key (rowKey → rowKey): the key of the local row the server matched
   * it to under the key columns' collations ('alice' → the row stored as 'Alice' under a `_ci`
   * collation, 'x ' → 'x' under PAD SPACE), or the key itself when no row answers it.
   */
  identities: Map<string, string>;
  /** Unique values, holders and recorded claims (unique-claims-state.ts); absent when no table of the batch has unique keys. */
  unique?: UniqueInput;
}

type Keys = Map<string, { schema: string; table: string; keys: Row[] }>;

export class RowStateLoader {
  private readonly unique: UniqueStateLoader;

  constructor(
    private readonly flavor: Flavor,
    private readonly coverage: Coverage,
    /** Whether a table has a version column (unique claims are decided only then). */
    versioned: (schema: string, table: string) => boolean = () => true,
  ) {
    this.unique = new UniqueStateLoader(flavor, coverage, versioned);
  }

  async load(session: PipelinedSession, batch: IncomingChange[], infos: Map<string, TableInfo>): Promise<RowState> {
    const { rows, identities, position } = await this.loadRows(session, batch, infos);
    const tombstones = await this.loadTombstones(session, batch, rows, identities, position, infos);
    const unique = await this.unique.load(session, batch, infos);
    return { rows, tombstones, identities, ...(unique ? { unique } : {}) };
  }

  /**
   * Current rows of every key, locked, in one round trip; then, when a change carries a version and
   * coverage is waited for, the binlog position (read after the rows, so a local delete that made a
   * key missing is at or before it).
   */
  private async loadRows(session: PipelinedSession, batch: IncomingChange[], infos: Map<string, TableInfo>): Promise<{ rows: Map<string, Row | null>; identities: Map<string, string>; position: string | undefined }> {
    const byTable: Keys = new Map();
    const seen = new Set<string>();
    for (const { change } of batch) {
      const table = `${change.schema}.${change.table}`;
      const entry = byTable.get(table) ?? { schema: change.schema, table: change.table, keys: [] };
      byTable.set(table, entry);
      // A primary-key change needs the rows at both keys (fk-key-change.ts).
      for (const key of change.oldKey ? [change.oldKey, change.key] : [change.key]) {
        const k = rowKey(table, key, infos.get(table)?.columnTypes);
        if (seen.has(k)) continue;
        seen.add(k);
        entry.keys.push(key);
      }
    }
    const selects: { table: string; info: TableInfo; keys: Row[]; statement: Statement }[] = [];
    for (const [table, { schema, table: name, keys }] of byTable) {
      const info = infos.get(table) as TableInfo;
      for (let i = 0; i < keys.length; i += KEYS_PER_STATEMENT) {
        const chunk = keys.slice(i, i + KEYS_PER_STATEMENT);
        selects.push({ table, info, keys: chunk, statement: selectByKeys(schema, name, info.primaryKey, chunk, info) });
      }
    }
    const versioned = batch.some(({ change }) => change.version !== undefined);
    const results = await session.roundTrip([...selects.map((s) => s.statement), ...(versioned ? positionRead({ flavor: this.flavor, coverage: this.coverage }) : [])]);
    const rows = new Map<string, Row | null>();
    const identities = new Map<string, string>();
    selects.forEach(({ table, info, keys }, i) => {
      for (const r of results[i] as mysql.RowDataPacket[]) {
        const index = Number(r[KEY_INDEX_COLUMN]);
        delete r[KEY_INDEX_COLUMN];
        const row = toWireRow(r, info.columnTypes);
        const identity = rowKey(table, pick(row, info.primaryKey), info.columnTypes);
        identities.set(rowKey(table, keys[index] as Row, info.columnTypes), identity);
        rows.set(identity, row);
      }
    });
    for (const k of seen) {
      if (identities.has(k)) continue;
      identities.set(k, k);
      if (!rows.has(k)) rows.set(k, null);
    }
    return { rows, identities, position: versioned ? positionOf(this.coverage, results[selects.length]) : undefined };
  }

  /** Tombstones of the keys that are missing here and get a versioned change (inserts/updates may be older than a delete, deletes may be replays). */
  private async loadTombstones(
    session: PipelinedSession,
    batch: IncomingChange[],
    rows: Map<string, Row | null>,
    identities: Map<string, string>,
    position: string | undefined,
    infos: Map<string, TableInfo>,
  ): Promise<Map<string, TombstoneMark[]>> {
    const found = new Map<string, TombstoneMark[]>();
    const wanted: Keys = new Map();
    for (const { change } of batch) {
      const table = `${change.schema}.${change.table}`;
      const k = rowKey(table, change.key, infos.get(table)?.columnTypes);
      if (change.version === undefined || rows.get(identities.get(k) ?? k) !== null) continue;
      const entry = wanted.get(table) ?? { schema: change.schema, table: change.table, keys: [] };
      entry.keys.push(change.key);
      wanted.set(table, entry);
    }
    if (wanted.size === 0) return found;
    if (this.coverage !== 'not-needed') {
      if (position === undefined) return found;
      await waitCovered(this.coverage, position);
    }
    const lookups: { table: string; keys: Row[]; statement: Statement }[] = [];
    for (const [table, { schema, table: name, keys }] of wanted) {
      for (let i = 0; i < keys.length; i += KEYS_PER_STATEMENT) {
        const chunk = keys.slice(i, i + KEYS_PER_STATEMENT);
        // A table's truncates (db/truncates.ts) are tombstones of each of its keys.
        lookups.push({ table, keys: chunk, statement: withTruncates(findTombstonesStatement(schema, name, chunk, tombstoneIdentity(infos.get(table))), schema, name) });
      }
    }
    const results = await session.roundTrip(lookups.map((l) => l.statement));
    lookups.forEach(({ table, keys }, i) => {
      // Stored tombstones are found by the server's identity of the key (db/key-identity.ts: 'alice'
      // finds the tombstone of 'Alice' under a _ci collation); the batch's state is by the exact rowKey.
      const rowsRead = results[i] as mysql.RowDataPacket[];
      const tableMarks = splitTruncates(rowsRead);
      const marks = tombstonesByOrigin(rowsRead, keys.length);
      const types = infos.get(table)?.columnTypes;
      keys.forEach((key, j) => {
        const k = rowKey(table, key, types);
        for (const mark of [...(marks[j] ?? []), ...tableMarks]) addMark(found, k, mark);
      });
    });
    return found;
  }
}

function pick(row: Row, cols: string[]): Row {
  const out: Row = {};
  for (const c of cols) out[c] = row[c] ?? null;
  return out;
}
