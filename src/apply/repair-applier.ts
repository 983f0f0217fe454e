/**
 * The single-change apply entry point of `drc verify --repair` (the RepairApplier port): one change,
 * in a transaction of its own, through the same decisions and writes as the stream's, marker first so
 * capture does not ship the repair again, with the repair's conflict record in the same transaction
 * (standalone-transaction.ts: no coverage wait, a repair decides from rows it has just read in every
 * ezone; ownership reported, never enforced — the winner is applied wherever it is missing).
 */
import type { RowChange } from '../model/change.js';
import type { RepairApplier, RepairNote } from '../model/ports.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import { insertConflicts } from './sql/meta.js';
import { StandaloneApplier, type StandaloneApplierDeps } from './standalone-transaction.js';

/** The marker slot of repairs: above every stream's slots (64 per origin), never shared with them. */
export const REPAIR_SLOT = 65_535;
/** The marker's origin and the source transaction id of repairs. */
export const REPAIR_ORIGIN = 'drc-verify';

export type RepairApplierDeps = StandaloneApplierDeps;

export class SingleChangeApplier extends StandaloneApplier implements RepairApplier {
  async apply(change: RowChange, origin: string, note: RepairNote): Promise<void> {
    const { ezone } = this.deps;
    await this.inTransaction({ slot: REPAIR_SLOT, origin: REPAIR_ORIGIN, originTx: `verify:${canonicalKey(change.key)}` }, async (target) => {
      await target.apply([{ change, origin, txId: REPAIR_ORIGIN }]);
      await target.commit(
        insertConflicts([
          { ezone, schema: change.schema, table: change.table, key: change.key, reason: 'verify-repair', decision: 'applied', ...note, originTx: REPAIR_ORIGIN, at: Date.now() },
        ]),
      );
    });
  }
}
