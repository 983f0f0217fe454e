import type mysql from 'mysql2/promise';
import { adminConnection } from './env.js';
import type { Scenario } from './scenario.js';
import { sleep, waitFor } from './wait.js';

export const WORKLOAD_TABLE =
  'CREATE TABLE w (id BIGINT PRIMARY KEY, ezone VARCHAR(4) NOT NULL, v VARCHAR(40) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))';
/** Keys below this are shared (conflicting writes from every ezone); above, each ezone owns a range. */
export const SHARED_KEYS = 100;

/**
 * A mixed workload per ezone until stopped: new rows in the ezone's own key range (never touched
 * elsewhere: their count is exact), updates, upserts and deletes of shared keys (conflicts), and now
 * and then a multi-chunk transaction. Which key and which operation come from the scenario's seeded
 * random streams (one per ezone), so the sequence each ezone writes replays with the same seed
 * (timing, and so the interleaving between ezones, still varies).
 */
export function startWorkload(s: Scenario, ezones: string[], options: { bigTransactionRows?: number } = {}) {
  let running = true;
  let writes = 0;
  let bigCommitted = false;
  const inserted: Record<string, number> = {};
  const loops = ezones.map(async (ez, index) => {
    const conn: mysql.Connection = await adminConnection(ez);
    await conn.query(`USE ${s.schema}`);
    inserted[ez] = 0;
    let i = 0;
    let big = false;
    const random = s.random(index);
    while (running) {
      i++;
      const shared = random.int(SHARED_KEYS);
      const op = random.next();
      try {
        if (op < 0.5) {
          await conn.query('INSERT INTO w (id, ezone, v) VALUES (?, ?, ?)', [(index + 1) * 1_000_000_000 + i, ez, `new-${i}`]);
          inserted[ez]!++;
        } else if (op < 0.75) await conn.query('UPDATE w SET v = ? WHERE id = ?', [`${ez}-upd-${i}`, shared]);
        else if (op < 0.9) await conn.query('INSERT INTO w (id, ezone, v) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', [shared, ez, `${ez}-ups-${i}`]);
        else await conn.query('DELETE FROM w WHERE id = ?', [shared]);
        if (!big && options.bigTransactionRows && index === 0 && i === 50) {
          big = true;
          const rows = Array.from({ length: options.bigTransactionRows }, (_, k) => [(index + 1) * 1_000_000_000 + 500_000_000 + k, ez, 'x'.repeat(40)]);
          await conn.query('BEGIN');
          for (let k = 0; k < rows.length; k += 1000) await conn.query('INSERT INTO w (id, ezone, v) VALUES ?', [rows.slice(k, k + 1000)]);
          await conn.query('COMMIT');
          inserted[ez]! += rows.length;
          bigCommitted = true;
        }
        writes++;
      } catch (err) {
        if (![1213, 1205].includes((err as { errno?: number }).errno ?? 0)) throw err; // deadlock victims retry
      }
      await sleep(5); // pacing
    }
    await conn.end();
  });
  return {
    /** Statements committed so far, every ezone together. */
    writes: () => writes,
    /** Whether the multi-chunk transaction (`bigTransactionRows`) has committed. */
    bigCommitted: () => bigCommitted,
    /** Wait until `n` more statements have committed: the fault in between strikes under load. */
    more: async (n: number, what = 'the workload') => {
      const from = writes;
      await waitFor(() => writes, { what: `${n} more writes of ${what}`, until: (w) => w >= from + n, timeoutMs: 120_000 });
    },
    /** Stop writing; resolves to how many own-range rows each ezone committed. */
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return inserted;
    },
  };
}

/** Count of own-range rows per ezone as seen in one database. */
export async function ownRows(conn: mysql.Connection, ezones: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [index, ez] of ezones.entries()) {
    const [[r]] = await conn.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM w WHERE id >= ? AND id < ?', [(index + 1) * 1_000_000_000, (index + 2) * 1_000_000_000]);
    out[ez] = Number(r!.n);
  }
  return out;
}
