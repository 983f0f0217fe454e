/**
 * The target side of `drc bootstrap` (the CopyApplier port): a chunk of rows copied from another
 * ezone, written in one target transaction through the same decisions as the stream's (decide.ts),
 * marker first so capture does not ship the copy again.
 *
 * Every row is an insert carrying its own version, from the origin `drc-bootstrap` — never an ezone —
 * so every tombstone recorded here holds it back when it is at least as new (resolver.ts: only a
 * change's *own* origin's tombstones let it through), and an existing row is replaced only by a newer
 * image. A copied row that loses is what the rules expect, not a clash between writers: it is counted,
 * not recorded in drc_meta.conflicts (the caller never asks for the conflict statements).
 *
 * No coverage wait (like a repair): a CLI process cannot see the local capture's progress; README
 * ("Not covered") says what that leaves open for a target that takes local deletes meanwhile.
 */
import type { Config } from '../config/schema.js';
import type { Flavor } from '../db/sql.js';
import type { RowChange } from '../model/change.js';
import { Ownership } from '../model/ownership.js';
import type { CopyApplier, CopyOutcome } from '../model/ports.js';
import type { Logger } from '../ops/logger.js';
import type { ApplyPool } from './connection.js';
import { TableCache } from './table-cache.js';
import { TargetTransaction } from './target-transaction.js';

/** The marker slot of bootstrap copies: beside the repairs' (65535), above every stream's slots. */
export const COPY_SLOT = 65_534;
/** The marker's origin, the incoming origin and the source transaction id of copied rows. */
export const COPY_ORIGIN = 'drc-bootstrap';

export interface CopyApplierDeps {
  /** The ezone whose database `pool` is (the bootstrap's target). */
  ezone: string;
  pool: ApplyPool;
  flavor: Flavor;
  config: Pick<Config, 'replicate' | 'tables' | 'apply' | 'ownership'>;
  log: Logger;
}

export class ChunkCopyApplier implements CopyApplier {
  private readonly tables: TableCache;
  private readonly ownership: Ownership;
  private chunks = 0;

  constructor(private readonly deps: CopyApplierDeps) {
    this.tables = new TableCache(deps.pool);
    // A copy moves what the source already holds: ownership is the stream's business, never enforced here.
    this.ownership = new Ownership({ ...deps.config.ownership, policy: 'report' });
  }

  async applyChunk(changes: RowChange[]): Promise<CopyOutcome> {
    if (changes.length === 0) return { written: 0, skipped: 0 };
    const { ezone, pool, flavor, config, log } = this.deps;
    const conn = await pool.getConnection();
    const target = new TargetTransaction(conn, { ezone, flavor, config, ownership: this.ownership, tables: this.tables, coverage: 'not-needed', log });
    try {
      target.open(COPY_SLOT, COPY_ORIGIN, `${COPY_ORIGIN}:${++this.chunks}`, '');
      await target.apply(changes.map((change) => ({ change, origin: COPY_ORIGIN, txId: COPY_ORIGIN })));
      await target.commit();
      const skipped = target.conflicts.filter((c) => c.decision === 'skipped').length;
      return { written: changes.length - skipped, skipped };
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }
}
