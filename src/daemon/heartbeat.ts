import type mysql from 'mysql2/promise';
import { upsert, type Flavor } from '../db/sql.js';
import type { Logger } from '../ops/logger.js';

/**
 * Writes this ezone's row in drc_meta.heartbeat every interval. The row replicates like user data,
 * so the time it takes to become visible in another ezone is the real end-to-end lag.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private failing = false;
  lastSentAt = 0;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly flavor: Flavor,
    private readonly ezone: string,
    private readonly intervalMs: number,
    private readonly log: Logger,
    /** Checked in the heartbeat's transaction: a replaced daemon writes no heartbeat. */
    private readonly fence?: { check(conn: mysql.PoolConnection): Promise<void> },
  ) {}

  start(): void {
    const sql = upsert(this.flavor, 'drc_meta.heartbeat', { ezone: '?', seq: '?', sent_at: 'UTC_TIMESTAMP(6)', updated_at: 'UTC_TIMESTAMP(6)' }, ['seq', 'sent_at', 'updated_at']);
    const beat = async () => {
      const conn = await this.pool.getConnection().catch(() => undefined);
      if (!conn) return;
      try {
        await conn.query('BEGIN');
        await this.fence?.check(conn);
        await conn.query(sql, [this.ezone, ++this.seq]);
        await conn.query('COMMIT');
        this.lastSentAt = Date.now();
        if (this.failing) this.log.info('heartbeat writes resumed');
        this.failing = false;
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => undefined);
        if (!this.failing) this.log.warn({ err: (err as Error).message }, 'heartbeat write failed (retrying every interval)');
        this.failing = true;
      } finally {
        conn.release();
      }
    };
    void beat();
    this.timer = setInterval(() => void beat(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

