/**
 * Reads what the unique-claim decisions of a batch need (unique-claims.ts): the unique values of each
 * incoming image and of each row of the batch, as claim ids the server's collations decide; the rows
 * holding the incoming values here (locked); and, after local capture has covered the position read
 * with them (the race of DESIGN.md section 5 rule 4, for claims capture may write), the recorded
 * claims of those values. Two round trips, only for batches that write tables with unique keys.
 */
import type mysql from 'mysql2/promise';
import type { PipelinedSession } from '../db/pipelined-session.js';
import type { Flavor, Statement } from '../db/sql.js';
import { toWireRow, type Row } from '../model/value.js';
import { positionOf, positionRead, waitCovered } from './coverage.js';
import { rowKey } from './keys.js';
import { collated, findClaims, lockClaims, LOOKUP_COLUMN, rowsWithWeights, valueWeights, weightColumn, type Lookup, type Weighed } from './sql/claims.js';
import type { TableInfo } from './table-cache.js';
import type { Coverage, IncomingChange } from './types.js';
import { claimIdOf, compareRanks, keyClaimColumns, plainPart, type ClaimValue, type Rank, type UniqueInput } from './unique-claims.js';

const LOOKUPS_PER_STATEMENT = 500;

const pick = (row: Row, cols: string[]): Row => Object.fromEntries(cols.map((c) => [c, row[c] ?? null]));

/** A weight string read for a column (of its first `prefix` characters: a prefix key). */
export type WeightOf = (column: string, prefix?: number) => string | undefined;

const metaOf = (info: TableInfo, column: string) => info.columnMeta?.find((m) => m.name === column);

/** The prefix length of `column` in the unique key at `index` (TableInfo.uniquePrefixes). */
export const prefixOf = (info: TableInfo, index: number, column: string): number | undefined => info.uniquePrefixes?.[index]?.[column];

/**
 * The weights the claims of a table are identified by: the string columns of its primary and unique
 * keys (whole), and every prefix of a unique key (a string's first characters, a binary's first bytes).
 */
export function weightedColumns(info: TableInfo): Weighed[] {
  const out = new Map<string, Weighed>();
  const add = (column: string, prefix: number | undefined) => {
    if (prefix === undefined && !collated(metaOf(info, column))) return;
    out.set(weightColumn(column, prefix), prefix === undefined ? { column } : { column, prefix });
  };
  for (const c of info.primaryKey) add(c, undefined);
  info.uniqueKeys.forEach((columns, i) => columns.forEach((c) => add(c, prefixOf(info, i, c))));
  return [...out.values()];
}

/** The claim ids of an image: one per unique key without NULL; `weight` gives a string column's (or a prefix's) weight string. */
export function valuesOf(schema: string, table: string, info: TableInfo, image: Row, weight: WeightOf): ClaimValue[] {
  const out: ClaimValue[] = [];
  info.uniqueKeys.forEach((columns, i) => {
    if (columns.some((c) => image[c] === null || image[c] === undefined)) return; // NULL: no claim
    out.push({ id: idOf(schema, table, info, columns, columns, image, weight, (c) => prefixOf(info, i, c)), columns });
  });
  return out;
}

/** The key claim id of an image (unique-claims.ts keyClaimColumns). */
const keyClaimOf = (schema: string, table: string, info: TableInfo, image: Row, weight: WeightOf) =>
  idOf(schema, table, info, keyClaimColumns(info.primaryKey), info.primaryKey, image, weight, () => undefined);

function idOf(schema: string, table: string, info: TableInfo, name: string[], columns: string[], image: Row, weight: WeightOf, prefix: (column: string) => number | undefined): string {
  const parts = columns.map((c) => {
    const p = prefix(c);
    return p !== undefined || collated(metaOf(info, c)) ? `w:${weight(c, p) ?? ''}` : `v:${plainPart(info.columnTypes, c, image[c])}`;
  });
  return claimIdOf(schema, table, name, parts);
}

/** The weights an image needs read (its columns without a value have none). */
export const weightsOfImage = (weighted: Weighed[], image: Row): Weighed[] => weighted.filter((w) => image[w.column] !== null && image[w.column] !== undefined);

/** Lookups of the rows holding an image's unique values (keys without NULL), with their prefixes. */
export function uniqueLookups(info: TableInfo, image: Row): Lookup[] {
  const out: Lookup[] = [];
  info.uniqueKeys.forEach((columns, i) => {
    if (columns.some((c) => image[c] === null || image[c] === undefined)) return;
    const prefixes = info.uniquePrefixes?.[i];
    out.push({ columns, values: pick(image, columns), ...(prefixes && Object.keys(prefixes).length > 0 ? { prefixes } : {}) });
  });
  return out;
}

interface Pending {
  statement: Statement;
  read(rows: mysql.RowDataPacket[]): void;
}

export class UniqueStateLoader {
  constructor(
    private readonly flavor: Flavor,
    private readonly coverage: Coverage,
    /** Whether a table has a version column: without one, claims are not decided (decide.ts), so not read. */
    private readonly versioned: (schema: string, table: string) => boolean = () => true,
  ) {}

  /** Undefined when no change of the batch touches a table with unique keys. */
  async load(session: PipelinedSession, batch: IncomingChange[], infos: Map<string, TableInfo>): Promise<UniqueInput | undefined> {
    const unique: UniqueInput = { incoming: new Map(), rowValues: new Map(), holders: new Map(), holderRows: new Map(), claims: new Map(), keyClaims: new Map(), rowKeyClaims: new Map() };
    const batchKeys = new Set<string>();
    const pending: Pending[] = [];
    /** The holder lookups: read once the claims are locked (below). */
    const holders: Pending[] = [];
    const byTable = new Map<string, { schema: string; name: string; info: TableInfo; keys: Row[]; images: { at: number; image: Row }[] }>();
    for (const [at, { change }] of batch.entries()) {
      const table = `${change.schema}.${change.table}`;
      const info = infos.get(table);
      if (!info || info.uniqueKeys.length === 0 || !this.versioned(change.schema, change.table)) continue;
      const entry = byTable.get(table) ?? { schema: change.schema, name: change.table, info, keys: [], images: [] };
      byTable.set(table, entry);
      // A key change's old row too: the values it holds are released when it moves (fk-key-change.ts).
      for (const key of change.oldKey ? [change.key, change.oldKey] : [change.key]) {
        const k = rowKey(table, key, info.columnTypes);
        if (!batchKeys.has(k)) entry.keys.push(key);
        batchKeys.add(k);
      }
      if (change.op !== 'delete' && change.after) entry.images.push({ at, image: change.after });
    }
    if (byTable.size === 0) return undefined;

    for (const [table, { schema, name, info, keys, images }] of byTable) {
      const weighted = weightedColumns(info);
      const readRow = (r: mysql.RowDataPacket): { k: string; row: Row; values: ClaimValue[] } => {
        const names = weighted.map((w) => weightColumn(w.column, w.prefix));
        const weights = new Map(names.map((n) => [n, String(r[n] ?? '')]));
        for (const c of [LOOKUP_COLUMN, ...names]) delete r[c];
        const row = toWireRow(r, info.columnTypes);
        const k = rowKey(table, pick(row, info.primaryKey), info.columnTypes);
        const weight: WeightOf = (c, p) => weights.get(weightColumn(c, p));
        unique.rowKeyClaims.set(k, keyClaimOf(schema, name, info, row, weight));
        return { k, row, values: valuesOf(schema, name, info, row, weight) };
      };
      // The batch's own rows (already locked by row-state.ts), for the values they hold now.
      for (let i = 0; i < keys.length; i += LOOKUPS_PER_STATEMENT) {
        const chunk = keys.slice(i, i + LOOKUPS_PER_STATEMENT).map((key) => ({ columns: info.primaryKey, values: key }));
        pending.push({
          statement: rowsWithWeights(schema, name, chunk, info, weighted),
          read: (rows) => {
            for (const r of rows) {
              const { k, values } = readRow(r);
              unique.rowValues.set(k, values);
              for (const v of values) unique.holders.set(v.id, k);
            }
          },
        });
      }
      // The rows holding each incoming value, under the key's collation.
      const lookups = images.flatMap(({ image }) => uniqueLookups(info, image));
      for (let i = 0; i < lookups.length; i += LOOKUPS_PER_STATEMENT) {
        holders.push({
          statement: rowsWithWeights(schema, name, lookups.slice(i, i + LOOKUPS_PER_STATEMENT), info, weighted),
          read: (rows) => {
            for (const r of rows) {
              const { k, row, values } = readRow(r);
              unique.rowValues.set(k, values);
              for (const v of values) unique.holders.set(v.id, k);
              if (!batchKeys.has(k)) unique.holderRows.set(k, row);
            }
          },
        });
      }
      // The incoming images' own weight strings.
      const entries = images.map(({ at, image }) => ({ at, image, columns: weightsOfImage(weighted, image) }));
      const needWeights = entries.filter((e) => e.columns.length > 0);
      for (const e of entries) {
        if (e.columns.length > 0) continue;
        unique.incoming.set(e.at, valuesOf(schema, name, info, e.image, () => undefined));
        unique.keyClaims.set(e.at, keyClaimOf(schema, name, info, e.image, () => undefined));
      }
      for (let i = 0; i < needWeights.length; i += LOOKUPS_PER_STATEMENT) {
        const chunk = needWeights.slice(i, i + LOOKUPS_PER_STATEMENT);
        pending.push({
          statement: valueWeights(chunk.map((e) => ({ values: e.image, columns: e.columns })), info),
          read: (rows) => {
            for (const r of rows) {
              const e = chunk[Number(r[LOOKUP_COLUMN])];
              if (!e) continue;
              const weight: WeightOf = (c, p) => (r[weightColumn(c, p)] == null ? undefined : String(r[weightColumn(c, p)]));
              unique.incoming.set(e.at, valuesOf(schema, name, info, e.image, weight));
              unique.keyClaims.set(e.at, keyClaimOf(schema, name, info, e.image, weight));
            }
          },
        });
      }
    }

    const results = await session.roundTrip([...pending.map((p) => p.statement), ...positionRead({ flavor: this.flavor, coverage: this.coverage })]);
    pending.forEach((p, i) => p.read(results[i] as mysql.RowDataPacket[]));

    const ids = [...new Set([...[...unique.incoming.values()].flat().map((v) => v.id), ...unique.keyClaims.values()])].sort();
    if (ids.length > 0) await waitCovered(this.coverage, positionOf(this.coverage, results[pending.length]));
    // The claims are locked first, all of them and in order (sql/claims.ts lockClaims); then the rows
    // holding the values and the recorded claims are read. A transaction deciding on the same value
    // from another stream waits here until this one commits, and then sees what it wrote: the row it
    // made hold the value, or the claim it recorded.
    const locks: Statement[] = [];
    const reads: Statement[] = [];
    for (let i = 0; i < ids.length; i += LOOKUPS_PER_STATEMENT) {
      locks.push(lockClaims(ids.slice(i, i + LOOKUPS_PER_STATEMENT)));
      reads.push(findClaims(ids.slice(i, i + LOOKUPS_PER_STATEMENT)));
    }
    if (locks.length + holders.length === 0) return unique;
    const answers = (await session.roundTrip([...locks, ...holders.map((h) => h.statement), ...reads])) as mysql.RowDataPacket[][];
    holders.forEach((h, i) => h.read(answers[locks.length + i] as mysql.RowDataPacket[]));
    for (const rows of answers.slice(locks.length + holders.length)) {
      for (const r of rows) {
        const rank = rankOfStored(r);
        const had = unique.claims.get(String(r.id));
        if (!had || compareRanks(rank, had) > 0) unique.claims.set(String(r.id), rank);
      }
    }
    return unique;
  }
}

/** The rank of a claim row read by findClaims. */
export function rankOfStored(r: mysql.RowDataPacket): Rank {
  return { version: r.version === null ? null : String(r.version), text: Buffer.from(r.rank_text as Buffer), hash: Buffer.from(r.rank_hash as Buffer) };
}
