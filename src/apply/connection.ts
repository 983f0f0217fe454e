/**
 * What apply needs of the database: a pool handing out connections for target transactions, and
 * plain queries (table metadata, the applied position). mysql2's pool fits; unit tests hand in a
 * recording pool (db/recording-session.ts) instead.
 */
import type { QueryConnection } from '../db/pipelined-session.js';

/** A connection taken from the pool for one target transaction. */
export interface ApplyConnection extends QueryConnection {
  /** Back to the pool (after COMMIT or ROLLBACK). */
  release(): void;
}

export interface ApplyPool extends QueryConnection {
  getConnection(): Promise<ApplyConnection>;
}
