/**
 * The single-change apply entry point of `drc verify --repair` (the RepairApplier port): one change,
 * in a transaction of its own, through the same decisions and writes as the stream's, marker first so
 * capture does not ship the repair again, with the repair's conflict record in the same transaction.
 *
 * A repair decides from rows it has just read in every ezone: no coverage wait (row-state.ts).
 * Ownership is reported, never enforced: the winner is applied wherever it is missing.
 */
import type { Config } from '../config/schema.js';
import type { Flavor } from '../db/sql.js';
import type { RowChange } from '../model/change.js';
import { Ownership } from '../model/ownership.js';
import type { RoutingBook } from '../model/routing.js';
import type { RepairApplier, RepairNote } from '../model/ports.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import type { Logger } from '../ops/logger.js';
import type { ApplyPool } from './connection.js';
import { insertConflicts } from './sql/meta.js';
import { TableCache } from './table-cache.js';
import { TargetTransaction } from './target-transaction.js';

/** The marker slot of repairs: above every stream's slots (64 per origin), never shared with them. */
export const REPAIR_SLOT = 65_535;
/** The marker's origin and the source transaction id of repairs. */
export const REPAIR_ORIGIN = 'drc-verify';

export interface RepairApplierDeps {
  /** The ezone whose database `pool` is. */
  ezone: string;
  pool: ApplyPool;
  flavor: Flavor;
  config: Pick<Config, 'replicate' | 'tables' | 'apply' | 'ownership'>;
  /** The routing in force in this ezone (drc_meta.routing): shards are owned as it says, not as the config's seed. */
  routing?: RoutingBook;
  log: Logger;
}

export class SingleChangeApplier implements RepairApplier {
  private readonly tables: TableCache;
  private readonly ownership: Ownership;

  constructor(private readonly deps: RepairApplierDeps) {
    this.tables = new TableCache(deps.pool);
    this.ownership = new Ownership({ ...deps.config.ownership, policy: 'report' }, deps.routing ? { routing: deps.routing, mode: 'incoming' } : {});
  }

  async apply(change: RowChange, origin: string, note: RepairNote): Promise<void> {
    const { ezone, pool, flavor, config, log } = this.deps;
    const conn = await pool.getConnection();
    const target = new TargetTransaction(conn, { ezone, flavor, config, ownership: this.ownership, tables: this.tables, coverage: 'not-needed', log });
    try {
      target.open(REPAIR_SLOT, REPAIR_ORIGIN, `verify:${canonicalKey(change.key)}`, '');
      await target.apply([{ change, origin, txId: REPAIR_ORIGIN }]);
      await target.commit(
        insertConflicts([
          { ezone, schema: change.schema, table: change.table, key: change.key, reason: 'verify-repair', decision: 'applied', ...note, originTx: REPAIR_ORIGIN, at: Date.now() },
        ]),
      );
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }
}
