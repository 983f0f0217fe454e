/**
 * A connection whose statements travel in as few round trips as the work allows. Round trips are the
 * cost on a busy server: statements whose results nobody waits for are deferred and go with the next
 * statement that needs an answer, all as one multi-statement query (the connection must allow
 * multiple statements; values are escaped by the driver). A deferred statement may carry a `check`
 * that throws on its result.
 */
import type mysql from 'mysql2/promise';
import type { SqlParam } from '../model/value.js';
import type { DeferredStatement, Statement } from './sql.js';

/**
 * What a session needs of a connection: mysql2's `query` (a pool connection, or a recording fake in
 * unit tests). One call is one round trip; with several statements the result is one entry each.
 */
export interface QueryConnection {
  query(sql: string, params?: unknown[]): Promise<[unknown, unknown]>;
  /** Optional: mysql2's `execute` (a prepared statement, values in the binary protocol). */
  execute?(sql: string, params?: SqlParam[]): Promise<[unknown, unknown]>;
  /** Optional: mysql2's `unprepare` (closes the prepared statement `execute` left cached). */
  unprepare?(sql: string): void;
}

/** Bytes of SQL and values per round trip, well below the servers' max_allowed_packet (16 MB+). */
export const MAX_ROUND_TRIP_BYTES = 4 << 20;

/**
 * A statement with a value larger than this (bytes) travels alone, as a prepared statement whose
 * values go in the binary protocol: escaped into the query text, a 30 MB BLOB becomes a 60 MB hex string
 * and a 60 MB packet on top of its own bytes (README, sizes: memory for a big value).
 */
export const BINARY_VALUE_BYTES = 1 << 20;
/** Statements that may go in the binary protocol: writes, whose results are no rows. */
const WRITE = /^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i;
/** Placeholders a prepared statement may have (the protocol's limit). */
const MAX_PREPARED_PARAMS = 65_535;

export class PipelinedSession {
  private deferred: DeferredStatement[] = [];

  /** `binaryValueBytes`: see BINARY_VALUE_BYTES (tests lower it to send every statement that way). */
  constructor(
    private readonly conn: QueryConnection,
    private readonly binaryValueBytes = BINARY_VALUE_BYTES,
  ) {}

  /** Send these with the next round trip. */
  defer(...statements: DeferredStatement[]): void {
    this.deferred.push(...statements);
  }

  /** Forget what is deferred (the transaction is rolled back). */
  discard(): void {
    this.deferred = [];
  }

  /**
   * One round trip: the deferred statements, then `statements` (they run in order; the first error
   * stops the rest). Returns the results of `statements`.
   */
  async roundTrip(statements: Statement[]): Promise<unknown[]> {
    const all: DeferredStatement[] = [...this.deferred, ...statements];
    this.deferred = [];
    const results: unknown[] = [];
    // Statements with a large value go alone, in the binary protocol; the others together, in order.
    for (let i = 0; i < all.length; ) {
      if (this.binary(all[i]!)) {
        const s = all[i++]!;
        const [res] = await this.execute(s);
        s.check?.(res);
        results.push(res);
        continue;
      }
      let j = i;
      while (j < all.length && !this.binary(all[j]!)) j++;
      // At most about MAX_ROUND_TRIP_BYTES per query: many deferred statements (a cascade's tombstones) stay below max_allowed_packet.
      for (const part of bySize(all.slice(i, j)) as DeferredStatement[][]) {
        const [res] = await this.conn.query(part.map((s) => s.sql).join(';\n'), part.flatMap((s) => s.params));
        const partResults = part.length === 1 ? [res] : (res as unknown[]);
        part.forEach((s, k) => s.check?.(partResults[k]));
        results.push(...partResults);
      }
      i = j;
    }
    return results.slice(all.length - statements.length);
  }

  /**
   * Whether a statement goes in the binary protocol: the connection can, it writes (reads stay in the
   * text protocol: their rows decode as everywhere else), and a value is large.
   */
  private binary(s: Statement): boolean {
    if (!this.conn.execute || s.params.length > MAX_PREPARED_PARAMS || !WRITE.test(s.sql)) return false;
    const limit = this.binaryValueBytes;
    return s.params.some((p) => (Buffer.isBuffer(p) ? p.length >= limit : typeof p === 'string' && p.length * 3 >= limit && Buffer.byteLength(p) >= limit));
  }

  /** Prepare, execute and close one statement (closed at once: the server's prepared statements are a shared, bounded pool). */
  private async execute(s: Statement): Promise<[unknown, unknown]> {
    try {
      // Bound as the text protocol would: undefined as NULL (mysql2's execute refuses undefined).
      return await this.conn.execute!(s.sql, s.params.map((p) => (p === undefined ? null : p)) as SqlParam[]);
    } finally {
      this.conn.unprepare?.(s.sql);
    }
  }

  /** Run one statement now (with whatever is deferred). */
  async exec(s: Statement): Promise<mysql.ResultSetHeader> {
    return (await this.roundTrip([s]))[0] as mysql.ResultSetHeader;
  }
}

/**
 * Bytes a parameter takes in the query text the driver sends (values are escaped into it): a string as
 * its UTF-8 bytes and quotes (a CJK character is 3 bytes, not one UTF-16 unit; escapes are rare and
 * ignored), a Buffer as a hex literal `X'…'` (two characters a byte), anything else as a short literal.
 */
export function paramBytes(p: unknown): number {
  if (typeof p === 'string') return Buffer.byteLength(p) + 2;
  if (Buffer.isBuffer(p)) return 2 * p.length + 3;
  return 24;
}

/** Bytes of a statement as sent: its SQL text in UTF-8 and its parameters (paramBytes). */
export const statementBytes = (s: Statement): number => s.params.reduce<number>((n, p) => n + paramBytes(p), Buffer.byteLength(s.sql));

/** Consecutive groups of statements of at most about `limit` bytes as sent (a larger one goes alone). */
export function bySize(statements: Statement[], limit = MAX_ROUND_TRIP_BYTES): Statement[][] {
  const size = statementBytes;
  const groups: Statement[][] = [];
  let bytes = 0;
  for (const s of statements) {
    const n = size(s);
    if (groups.length === 0 || bytes + n > limit) {
      groups.push([]);
      bytes = 0;
    }
    groups[groups.length - 1]!.push(s);
    bytes += n;
  }
  return groups;
}
