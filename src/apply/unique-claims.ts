/**
 * Unique keys (DESIGN.md section 12, rule 5 of section 5): a row survives iff it is the newest
 * claimant of every unique value it holds. Pure: the claim book of one decide() call.
 *
 * Every row image that ever held or tried to hold a unique value — applied, skipped, removed, losers
 * included — is a claim on it. The newest claim of a value (version, then tie-break) only grows: it is
 * a maximum over a set of images that every ezone eventually sees in full, so its final value does not
 * depend on the order they arrive in. An image survives iff it is the newest claim of each of its
 * values; that too is then the same everywhere. "Newest so far" is the live holder (the row that holds
 * the value in the table) or the recorded claim (drc_meta.unique_claims: images that no longer hold
 * the value, or never did), whichever is newer. So, per incoming insert/update image I:
 *
 * - on every value where I is newer than both, the live holder (another row) is not the newest
 *   claimant: it is removed, with a tombstone at its own version — whether or not I itself survives
 *   (the cycle X(a,b) / Y(a) / Z(b): X removes Y on `a`, then loses `b` to Z);
 * - if some value has a newer claim, I loses: skipped, its key tombstoned at its version (an older
 *   image of the same key must not come back later), and its row removed if it holds I's key here;
 * - I's claims are recorded, whatever happened; so are the claims of every image that stops holding
 *   a value here (a removed or replaced row, an applied delete).
 *
 * NULL in any column of a unique key is no claim (the server holds any number of such rows). Value
 * identity follows the columns' collations: claim ids are computed from the server's weight strings
 * (unique-claims-state.ts), so 'A@x' and 'a@x' under a `_ci` collation are one value.
 */
import { createHash } from 'node:crypto';
import { keyIdentityOf } from '../db/key-identity.js';
import { addMark, LOSER_ORIGIN, type Tombstone, type TombstoneMark } from '../db/tombstones.js';
import { orderTextOf } from '../model/types/order.js';
import { typeOf, type ColumnTypes } from '../model/types/row.js';
import type { Row } from '../model/value.js';
import { compareVersions, versionOf } from '../model/version.js';
import type { ConflictNote } from './conflict-log.js';
import { rowKey } from './keys.js';
import type { Decision } from './resolver.js';
import type { TableInfo } from './table-cache.js';
import type { IncomingChange, Op } from './types.js';

/** Code units of the tie-break text kept in a rank (beyond them, equal prefixes compare by hash). */
export const RANK_TEXT_UNITS = 256;

/**
 * The order of claims: the LWW order of compareImages (version, then the image's tie-break text), with
 * the text stored as a prefix (UTF-16BE bytes, so byte order is JavaScript's code-unit order, in SQL
 * too) and the SHA-256 of the whole text deciding between images whose first RANK_TEXT_UNITS agree.
 */
export interface Rank {
  version: string | null;
  text: Buffer;
  hash: Buffer;
}

/** The rank of an image with this version. */
export function rankOf(version: string | null | undefined, image: Row, types?: ColumnTypes): Rank {
  const text = orderTextOf(image, types);
  const prefix = Buffer.from(text.slice(0, RANK_TEXT_UNITS), 'utf16le').swap16();
  return { version: version ?? null, text: prefix, hash: createHash('sha256').update(text).digest() };
}

/** > 0 when `a` is the newer claim. */
export function compareRanks(a: Rank, b: Rank): number {
  return compareVersions(a.version, b.version) || Buffer.compare(a.text, b.text) || Buffer.compare(a.hash, b.hash);
}

/**
 * The id of one unique value: SHA-256 (hex) of the table, the key's columns and each column's identity
 * part (a string column's weight string under its collation, from the server; any other column's
 * canonical key text). Stored: it must not change across versions for the same value.
 */
export function claimIdOf(schema: string, table: string, columns: string[], parts: string[]): string {
  return createHash('sha256').update(JSON.stringify([schema, table, columns, parts])).digest('hex');
}

/** The identity part of a column the server does not collate (numbers, times, binary strings). */
export const plainPart = (types: ColumnTypes | undefined, column: string, value: Row[string] | undefined): string => JSON.stringify(typeOf(types, column).keyText(value ?? null));

/** A claim to record (drc_meta.unique_claims keeps the newest per id). */
export interface ClaimRecord {
  id: string;
  schema: string;
  table: string;
  /** The unique key's columns. */
  columns: string[];
  rank: Rank;
  /** Primary key of the claiming image. */
  key: Row;
  origin: string;
  /**
   * Not a claim to record but stale ones to drop (a copy's image, copy-applier.ts): this id's recorded
   * claims not newer than this version (SOURCE's horizon) that beat `rank` — images SOURCE never saw.
   */
  staleUpTo?: string;
}

/** What the loader found (unique-claims-state.ts): everything the claim decisions of a batch need. */
export interface UniqueInput {
  /** Claim ids of each incoming after-image (one per unique key without NULL), by index in the batch. */
  incoming: Map<number, ClaimValue[]>;
  /** Claim ids of each row read here (batch rows and holders), by row identity (rowKey). */
  rowValues: Map<string, ClaimValue[]>;
  /** The row holding each claim id here, by identity. */
  holders: Map<string, string>;
  /** Rows that hold an incoming value and are not rows of the batch, by identity. */
  holderRows: Map<string, Row>;
  /** The newest recorded claim of each incoming claim id (key claims included). */
  claims: Map<string, Rank>;
  /** The key claim id (keyClaimColumns) of each incoming image, by index in the batch. */
  keyClaims: Map<number, string>;
  /** The key claim id of each row read here, by identity. */
  rowKeyClaims: Map<string, string>;
}

/**
 * The "columns" of a key claim: the newest image of a primary key that was removed for a unique value
 * (or lost one), by rank — a tombstone that also knows the tie-break, so that of two images of one
 * key with the same version the same one wins everywhere (see justBelow).
 */
export const keyClaimColumns = (primaryKey: string[]) => ['PRIMARY', ...primaryKey];

/** One unique value of an image. */
export interface ClaimValue {
  id: string;
  columns: string[];
}

/** The part of decide()'s output the claims add to. */
export interface ClaimOutput {
  ops: Op[];
  tombstones: Tombstone[];
  conflicts: ConflictNote[];
  claims: ClaimRecord[];
}

/**
 * The tombstone of an image removed for a unique value: just below its version. It holds back every
 * older image of its key (they would lose to it wherever it arrived first), but not one of the same
 * version that wins the tie-break against it: where that one arrived first, it beat the removed image
 * by last-writer-wins and never saw it as a rival (versions are decimal integer strings).
 */
export const justBelow = (version: string | null | undefined): string | undefined => (version === null || version === undefined ? undefined : (BigInt(version) - 1n).toString());

const pick = (row: Row, cols: string[]): Row => Object.fromEntries(cols.map((c) => [c, row[c] ?? null]));

/** The claim book of one batch: recorded claims and live holders as the batch's decisions leave them. */
export class ClaimBook {
  private readonly claims: Map<string, Rank>;
  private readonly holders: Map<string, string>;
  private readonly rowValues: Map<string, ClaimValue[]>;
  private readonly rowKeyClaims: Map<string, string>;

  constructor(
    private readonly input: UniqueInput,
    /** decide()'s rows, shared: a removed holder is gone for the rest of the batch. */
    private readonly rows: Map<string, Row | null>,
    /** decide()'s tombstones (by exact key), shared: a removed holder's tombstone holds back its older images later in the batch. */
    private readonly tombstones: Map<string, TombstoneMark[]>,
  ) {
    this.claims = new Map(input.claims);
    this.holders = new Map(input.holders);
    this.rowValues = new Map(input.rowValues);
    this.rowKeyClaims = new Map(input.rowKeyClaims);
    for (const [k, row] of input.holderRows) if (!rows.has(k)) rows.set(k, row);
  }

  /**
   * Judge the claims of an incoming insert/update (`d`: resolve()'s decision on its own key `k`, whose
   * row here was `local`). Returns the decision to carry out: `d`, or — the image loses — none.
   */
  judge(at: number, incoming: IncomingChange, k: string, local: Row | null, d: Decision, info: TableInfo, versionColumn: string, out: ClaimOutput): Decision {
    const values = this.input.incoming.get(at) ?? [];
    const { change } = incoming;
    if (change.after === undefined) return d;
    if (values.length === 0) {
      // No value claimed (NULLs), but an applied image still releases what the row held before.
      if (d.action === 'insert' || d.action === 'update') this.hold(k, [], rankOf(change.version, change.after, info.columnTypes), this.input.keyClaims.get(at), local, change.schema, change.table, info, versionColumn, incoming.origin, out);
      return d;
    }
    const types = info.columnTypes;
    const rank = rankOf(change.version, change.after, types);
    const keyClaim = this.input.keyClaims.get(at);
    const removed = keyClaim === undefined ? undefined : this.claims.get(keyClaim);
    if (local === null && (d.action === 'insert' || d.action === 'update') && removed && compareRanks(removed, rank) > 0) {
      // A newer image of this key was removed for a unique value: this one is older (tie-break at equal versions).
      d = { action: 'none', conflict: { reason: 'tombstone-newer', decision: 'skipped' }, next: null };
    }
    let loses: Row | null | undefined;
    const outranked = new Set<string>();
    const { staleUpTo } = incoming;
    for (const v of values) {
      const stored = this.claims.get(v.id);
      const holder = this.holders.get(v.id);
      const held = holder !== undefined && holder !== k ? this.rows.get(holder) : undefined;
      const heldRank = held ? rankOf(versionOf(held[versionColumn], typeOf(types, versionColumn)), held, types) : undefined;
      if (heldRank && compareRanks(heldRank, rank) > 0) loses = held;
      else if (stored && compareRanks(stored, rank) > 0 && staleUpTo !== undefined && stored.version !== null && compareVersions(stored.version, staleUpTo) <= 0) {
        // A copied image SOURCE holds: a claim up to SOURCE's horizon that beats it is one SOURCE never saw.
        this.claims.delete(v.id);
        out.claims.push({ id: v.id, schema: change.schema, table: change.table, columns: v.columns, rank, key: change.key, origin: incoming.origin, staleUpTo });
        if (held && holder !== undefined) outranked.add(holder);
      } else if (stored && compareRanks(stored, rank) > 0) loses ??= null;
      else if (held && holder !== undefined) outranked.add(holder);
    }
    // An image that becomes (or already is) the live holder of its values needs no record: the table
    // shows it, and whatever later releases it records it then. Every other image's claims are recorded.
    const holds = loses === undefined && (d.action === 'insert' || d.action === 'update');
    const replay = d.action === 'none' && d.conflict === undefined && local !== null;
    if (!holds && !replay) for (const v of values) this.record(out, { id: v.id, schema: change.schema, table: change.table, columns: v.columns, rank, key: change.key, origin: incoming.origin });
    for (const holder of outranked) this.remove(holder, incoming, info, versionColumn, loses !== undefined ? 'skipped' : 'applied', out);

    if (loses === undefined) {
      if (holds) this.hold(k, values, rank, keyClaim, local, change.schema, change.table, info, versionColumn, incoming.origin, out);
      return d;
    }
    // The image loses a value to a newer claim: it is as if deleted at its own version, here as everywhere.
    out.conflicts.push({ incoming, reason: 'unique-collision', decision: 'skipped', local: loses, versionColumn });
    const holdsKey = local !== null && (d.action === 'insert' || d.action === 'update' || (d.action === 'none' && d.conflict === undefined));
    if (holdsKey && local) {
      out.ops.push({ kind: 'delete', info, incoming, key: pick(local, info.primaryKey), image: local, removal: {} });
      this.release(k, local, change.schema, change.table, info, versionColumn, incoming.origin, out);
    }
    // Its key's tombstone keeps an older image of the same key from coming back: a loser's, as where
    // this image was the row here and a newer claimant removed it (remove()) — one tombstone whatever
    // this ezone held, so that the foreign-key rules read the same everywhere (db/tombstones.ts LOSER_ORIGIN).
    if (d.action === 'insert' || d.action === 'update' || holdsKey) {
      if (keyClaim !== undefined) this.record(out, { id: keyClaim, schema: change.schema, table: change.table, columns: keyClaimColumns(info.primaryKey), rank, key: change.key, origin: incoming.origin });
      this.loserTombstone(change.schema, change.table, change.key, change.version, info, out);
      return { action: 'none', next: null };
    }
    return d;
  }

  /** Row `k` (image `local`) leaves the table (an applied delete, a removal): its values' claims stay recorded. */
  release(k: string, local: Row, schema: string, table: string, info: TableInfo, versionColumn: string, origin: string, out: ClaimOutput, keeps?: (id: string, rank: Rank) => boolean): void {
    const values = this.rowValues.get(k) ?? [];
    if (values.length === 0) return;
    const rank = rankOf(versionOf(local[versionColumn], typeOf(info.columnTypes, versionColumn)), local, info.columnTypes);
    for (const v of values) {
      if (!keeps?.(v.id, rank)) this.record(out, { id: v.id, schema, table, columns: v.columns, rank, key: pick(local, info.primaryKey), origin });
      if (this.holders.get(v.id) === k) this.holders.delete(v.id);
    }
    this.rowValues.delete(k);
  }

  /** Row `k` now holds `values` (an applied insert/update); the values its old image held are released. */
  private hold(k: string, values: ClaimValue[], rank: Rank, keyClaim: string | undefined, local: Row | null, schema: string, table: string, info: TableInfo, versionColumn: string, origin: string, out: ClaimOutput): void {
    // A value the new image keeps needs no record of the old one, unless the old one was newer.
    const kept = new Set(values.map((v) => v.id));
    if (local) this.release(k, local, schema, table, info, versionColumn, origin, out, (id, old) => kept.has(id) && compareRanks(old, rank) <= 0);
    for (const v of values) this.holders.set(v.id, k);
    this.rowValues.set(k, values);
    if (keyClaim !== undefined) this.rowKeyClaims.set(k, keyClaim);
  }

  /**
   * A primary-key change decided outside the book (fk-key-change.ts): the live holders it moved or
   * replaced. Without this the book kept the old key as the holder of the moved row's values, and a
   * new row written at that key later in the batch was taken for their holder — removed by the next
   * claimant of a value it never held, in this ezone only. `oldGone`: no row at the old key any more;
   * `newWritten`: the change's image is now the row at the new key (it holds the incoming values).
   */
  keyChanged(at: number, kOld: string, k: string, oldGone: boolean, newWritten: boolean): void {
    const drop = (key: string) => {
      for (const v of this.rowValues.get(key) ?? []) if (this.holders.get(v.id) === key) this.holders.delete(v.id);
      this.rowValues.delete(key);
    };
    if (oldGone) drop(kOld);
    if (!newWritten) return;
    drop(k);
    const values = this.input.incoming.get(at) ?? [];
    for (const v of values) this.holders.set(v.id, k);
    this.rowValues.set(k, values);
  }

  /** Remove the live holder `holder`: a newer image claimed one of its values. */
  private remove(holder: string, incoming: IncomingChange, info: TableInfo, versionColumn: string, decision: 'applied' | 'skipped', out: ClaimOutput): void {
    const row = this.rows.get(holder);
    if (!row) return;
    const { schema, table } = incoming.change;
    const key = pick(row, info.primaryKey);
    out.ops.push({ kind: 'delete', info, incoming, key, image: row, removal: {} });
    this.loserTombstone(schema, table, key, versionOf(row[versionColumn], typeOf(info.columnTypes, versionColumn)), info, out);
    out.conflicts.push({ incoming, reason: 'unique-collision', decision, local: row, versionColumn });
    const keyClaim = this.rowKeyClaims.get(holder);
    if (keyClaim !== undefined) {
      this.record(out, { id: keyClaim, schema, table, columns: keyClaimColumns(info.primaryKey), rank: rankOf(versionOf(row[versionColumn], typeOf(info.columnTypes, versionColumn)), row, info.columnTypes), key, origin: incoming.origin });
    }
    this.release(holder, row, schema, table, info, versionColumn, incoming.origin, out);
    this.rows.set(holder, null);
  }

  /** The tombstone of a loser's key (an image of `version`), just below it (justBelow), as DRC's removal of a loser (LOSER_ORIGIN). */
  private loserTombstone(schema: string, table: string, key: Row, version: string | null | undefined, info: TableInfo, out: ClaimOutput): void {
    const stone = justBelow(version);
    if (stone === undefined) return;
    out.tombstones.push({ schema, table, key, version: stone, origin: LOSER_ORIGIN, identity: keyIdentityOf(info.columnMeta, info.columnTypes) });
    addMark(this.tombstones, rowKey(`${schema}.${table}`, key, info.columnTypes), { version: stone, origin: LOSER_ORIGIN });
  }

  private record(out: ClaimOutput, claim: ClaimRecord): void {
    const had = this.claims.get(claim.id);
    if (!had || compareRanks(claim.rank, had) > 0) this.claims.set(claim.id, claim.rank);
    out.claims.push(claim);
  }
}
