/**
 * `drc quarantine retry`: a quarantined source transaction applied again, whole, through the stream's
 * path (the same decisions, conflict rules and writes, marker first so capture does not ship it
 * again, with its true origin), and its drc_meta.quarantine record marked applied **in the same
 * database transaction**: it is applied once, or not at all.
 *
 * Later changes of the same keys from its origin were applied meanwhile: last-writer-wins decides
 * between them and this older change as it would have in order (an older image loses to a newer row
 * and is recorded as a conflict), so a retry never overwrites newer data.
 */
import type { Config } from '../config/schema.js';
import type { Flavor } from '../db/sql.js';
import { decodeChunk } from '../model/envelope.js';
import { Ownership } from '../model/ownership.js';
import type { RoutingBook } from '../model/routing.js';
import type { Logger } from '../ops/logger.js';
import type { ApplyPool } from './connection.js';
import { incomingOf } from './group-executor.js';
import { TableCache } from './table-cache.js';
import { TargetTransaction } from './target-transaction.js';

/** The marker slot of retries: above every stream's slots, below the repairs' (repair-applier.ts). */
export const QUARANTINE_SLOT = 65_534;

export interface QuarantineRetrierDeps {
  /** The ezone whose database `pool` is. */
  ezone: string;
  /** Connections allowing several statements per round trip (as the stream's). */
  pool: ApplyPool;
  flavor: Flavor;
  config: Pick<Config, 'replicate' | 'tables' | 'apply' | 'ownership'>;
  /** The routing in force in this ezone (drc_meta.routing): shards are owned as it says, not as the config's seed. */
  routing?: RoutingBook;
  log: Logger;
}

export class QuarantineRetrier {
  private readonly tables: TableCache;
  private readonly ownership: Ownership;

  constructor(private readonly deps: QuarantineRetrierDeps) {
    this.tables = new TableCache(deps.pool);
    this.ownership = new Ownership(deps.config.ownership, deps.routing ? { routing: deps.routing, mode: 'incoming' } : {});
  }

  /** Apply the transaction of record `id` (its stored `message`) and mark the record applied; throws what the target says. */
  async retry(id: number, message: Buffer): Promise<void> {
    const { ezone, pool, flavor, config, log } = this.deps;
    const chunk = decodeChunk(message);
    const conn = await pool.getConnection();
    // The capture-coverage wait needs a running capture; a retry runs from the command line.
    const target = new TargetTransaction(conn, { ezone, flavor, config, ownership: this.ownership, tables: this.tables, coverage: 'not-needed', log });
    try {
      target.open(QUARANTINE_SLOT, chunk.origin, chunk.id, chunk.pos);
      await target.apply(incomingOf(chunk));
      target.writeConflicts();
      await target.commit({
        sql: "UPDATE drc_meta.quarantine SET state = 'applied', resolved_at = UTC_TIMESTAMP(6), resolution = 'retried: applied' WHERE id = ? AND state = 'quarantined'",
        params: [id],
      });
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }
}
