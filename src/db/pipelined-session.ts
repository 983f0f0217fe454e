/**
 * A connection whose statements travel in as few round trips as the work allows. Round trips are the
 * cost on a busy server: statements whose results nobody waits for are deferred and go with the next
 * statement that needs an answer, all as one multi-statement query (the connection must allow
 * multiple statements; values are escaped by the driver). A deferred statement may carry a `check`
 * that throws on its result.
 */
import type mysql from 'mysql2/promise';
import type { DeferredStatement, Statement } from './sql.js';

/**
 * What a session needs of a connection: mysql2's `query` (a pool connection, or a recording fake in
 * unit tests). One call is one round trip; with several statements the result is one entry each.
 */
export interface QueryConnection {
  query(sql: string, params?: unknown[]): Promise<[unknown, unknown]>;
}

/** Bytes of SQL and values per round trip, well below the servers' max_allowed_packet (16 MB+). */
export const MAX_ROUND_TRIP_BYTES = 4 << 20;

export class PipelinedSession {
  private deferred: DeferredStatement[] = [];

  constructor(private readonly conn: QueryConnection) {}

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
    const [res] = await this.conn.query(all.map((s) => s.sql).join(';\n'), all.flatMap((s) => s.params));
    const results = all.length === 1 ? [res] : (res as unknown[]);
    all.forEach((s, i) => s.check?.(results[i]));
    return results.slice(all.length - statements.length);
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
