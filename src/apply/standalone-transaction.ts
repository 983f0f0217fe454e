/**
 * The shared base of the apply entry points a CLI process uses outside the stream (`drc verify
 * --repair`, `drc bootstrap`): one target transaction of their own on a pooled connection, through the
 * same decisions and writes as the stream's (TargetTransaction), marker first so capture does not ship
 * it again, rolled back on any error and the connection given back.
 *
 * No coverage wait: a CLI process cannot see the local capture's progress (row-state.ts). Ownership is
 * reported, never enforced: these tools move what an ezone already holds.
 */
import type { Config } from '../config/schema.js';
import type { Flavor } from '../db/sql.js';
import { Ownership } from '../model/ownership.js';
import type { RoutingBook } from '../model/routing.js';
import type { Logger } from '../ops/logger.js';
import type { ApplyConnection, ApplyPool } from './connection.js';
import { TableCache } from './table-cache.js';
import { TargetTransaction } from './target-transaction.js';

export interface StandaloneApplierDeps {
  /** The ezone whose database `pool` is. */
  ezone: string;
  pool: ApplyPool;
  flavor: Flavor;
  config: Pick<Config, 'replicate' | 'tables' | 'apply' | 'ownership'>;
  /** The routing in force in this ezone (drc_meta.routing): shards are owned as it says, not as the config's seed. */
  routing?: RoutingBook;
  log: Logger;
}

/** Where a standalone transaction's marker goes: its slot, origin and source transaction id. */
export interface MarkerOf {
  slot: number;
  origin: string;
  originTx: string;
}

export abstract class StandaloneApplier {
  protected readonly tables: TableCache;
  protected readonly ownership: Ownership;

  constructor(protected readonly deps: StandaloneApplierDeps) {
    this.tables = new TableCache(deps.pool);
    this.ownership = new Ownership({ ...deps.config.ownership, policy: 'report' }, deps.routing ? { routing: deps.routing, mode: 'incoming' } : {});
  }

  /** Run `work` in a target transaction opened with `marker`; it commits (the transaction is rolled back when it throws). */
  protected async inTransaction<T>(marker: MarkerOf, work: (target: TargetTransaction, conn: ApplyConnection) => Promise<T>): Promise<T> {
    const { ezone, pool, flavor, config, log } = this.deps;
    const conn = await pool.getConnection();
    const target = new TargetTransaction(conn, { ezone, flavor, config, ownership: this.ownership, tables: this.tables, coverage: 'not-needed', log });
    try {
      target.open(marker.slot, marker.origin, marker.originTx, '');
      return await work(target, conn);
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }
}
