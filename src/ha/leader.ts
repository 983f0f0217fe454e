/**
 * One active daemon per ezone, any number of standbys: a lease row in drc_meta.leader, renewed every
 * second by the active daemon, taken over by a standby once it expires (database clock). The term
 * grows at every takeover. Writers check `owns()` inside their transactions, right before COMMIT, so a
 * zombie (a frozen active daemon that wakes up after being replaced) cannot commit anything.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { PipelinedSession } from '../db/pipelined-session.js';
import type { DeferredStatement, Flavor } from '../db/sql.js';
import { NotLeaderError } from '../errors.js';
import type { Logger } from '../ops/logger.js';

export { NotLeaderError };

export class LeaderLease {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  term = 0;
  private timer: NodeJS.Timeout | undefined;
  private lost: ((err: Error) => void) | undefined;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly flavor: Flavor,
    private readonly ezone: string,
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {}

  /** Try once to become (or stay) the active daemon; true when this daemon holds the lease. */
  async tryAcquire(): Promise<boolean> {
    const v = (c: string) => (this.flavor === 'mysql' ? `new.${c}` : `VALUES(${c})`);
    const expired = 'expires_at < UTC_TIMESTAMP(6)';
    // Assignments run left to right: term and owner are decided on the old row, the expiry on the new owner.
    await this.pool.query(
      `INSERT INTO drc_meta.leader (ezone, owner, term, expires_at) VALUES (?, ?, 1, UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND)${this.flavor === 'mysql' ? ' AS new' : ''}
       ON DUPLICATE KEY UPDATE
         term = IF(owner = ${v('owner')}, term, IF(${expired}, term + 1, term)),
         owner = IF(owner = ${v('owner')} OR ${expired}, ${v('owner')}, owner),
         expires_at = IF(owner = ${v('owner')}, ${v('expires_at')}, expires_at)`,
      [this.ezone, this.owner, this.leaseMs * 1000],
    );
    const [[row]] = await this.pool.query<mysql.RowDataPacket[]>('SELECT owner, term FROM drc_meta.leader WHERE ezone = ?', [this.ezone]);
    const mine = row?.owner === this.owner;
    if (mine) this.term = Number(row?.term);
    return mine;
  }

  /**
   * Wait until this daemon is the active one (polling every second), then kill the database sessions
   * of every previous owner: a frozen predecessor must not keep locks, nor commit when it wakes up.
   */
  async acquire(): Promise<void> {
    let told = false;
    for (;;) {
      try {
        if (await this.tryAcquire()) break;
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'lease check failed (retrying)');
      }
      if (!told) this.log.info({ ezone: this.ezone }, 'standing by: another daemon is active for this ezone');
      told = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await this.fencePredecessors();
    this.log.info({ ezone: this.ezone, term: this.term, owner: this.owner }, 'active for this ezone');
  }

  private async fencePredecessors(): Promise<void> {
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>('SELECT owner, connection_id FROM drc_meta.leader_sessions WHERE ezone = ? AND owner <> ?', [this.ezone, this.owner]);
    let killed = 0;
    for (const r of rows) {
      // Errors: the session is already gone.
      await this.pool.query(`KILL ${Number(r.connection_id)}`).then(() => killed++, () => undefined);
    }
    await this.pool.query('DELETE FROM drc_meta.leader_sessions WHERE ezone = ? AND owner <> ?', [this.ezone, this.owner]);
    if (killed > 0) this.log.warn({ killed }, "killed the previous daemon's database sessions (fencing)");
  }

  /** Renew every second; `onLost` is called once if another daemon took over. */
  keep(onLost: (err: Error) => void): void {
    this.lost = onLost;
    this.timer = setInterval(() => {
      this.tryAcquire().then(
        (mine) => {
          if (!mine) this.fail();
        },
        (err: Error) => this.log.warn({ err: err.message }, 'lease renewal failed (retrying)'),
      );
    }, Math.min(1000, Math.max(100, this.leaseMs / 4)));
    this.timer.unref();
  }

  /**
   * The leader check as a statement to send inside a transaction (on a registered session): its check
   * throws NotLeaderError unless this daemon still holds the lease. A plain read, never a lock a frozen
   * daemon could keep. A successor kills every registered session of this daemon when it takes over, so
   * a check passed inside a transaction holds until its commit: either the commit fails with the killed
   * session, or the session was opened after the takeover and the check fails.
   */
  statement(): DeferredStatement {
    return {
      sql: 'SELECT owner FROM drc_meta.leader WHERE ezone = ?',
      params: [this.ezone],
      check: (rows) => {
        if ((rows as mysql.RowDataPacket[])[0]?.owner === this.owner) return;
        this.fail();
        throw new NotLeaderError(this.ezone);
      },
    };
  }

  /** statement() on its own round trip. */
  async check(conn: mysql.PoolConnection | mysql.Connection): Promise<void> {
    await new PipelinedSession(conn).roundTrip([this.statement()]);
  }

  /** Outside any transaction: throws NotLeaderError unless this daemon still holds the lease. */
  async verify(): Promise<void> {
    const [[row]] = await this.pool.query<mysql.RowDataPacket[]>('SELECT owner FROM drc_meta.leader WHERE ezone = ?', [this.ezone]);
    if (row?.owner !== this.owner) {
      this.fail();
      throw new NotLeaderError(this.ezone);
    }
  }

  /** Give the lease up (clean shutdown): a standby takes over at once. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.pool.query('UPDATE drc_meta.leader SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE ezone = ? AND owner = ?', [this.ezone, this.owner]).catch(() => undefined);
    await this.pool.query('DELETE FROM drc_meta.leader_sessions WHERE ezone = ? AND owner = ?', [this.ezone, this.owner]).catch(() => undefined);
  }

  private fail(): void {
    clearInterval(this.timer);
    const lost = this.lost;
    this.lost = undefined;
    lost?.(new NotLeaderError(this.ezone));
  }
}
