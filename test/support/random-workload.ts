/**
 * A seeded randomized workload over small shared key spaces, for convergence tests (issue 13): every
 * ezone inserts, updates, deletes and re-keys the same few rows at once, so nearly every operation
 * races another ezone's. The tables:
 *
 * - `parent`: a unique `name` besides the key (collisions between different keys);
 * - `child` → parent ON DELETE CASCADE ON UPDATE CASCADE (cascades the binlog does not carry);
 * - `item` → parent ON DELETE RESTRICT ON UPDATE CASCADE (a delete here, an insert there);
 * - `claim`: two nullable unique keys over tiny domains (unique-key cycles between three rows),
 *   a delete and re-insert of one key in one transaction, and one TRUNCATE TABLE half-way.
 *
 * Statements the origin itself refuses (duplicate keys, FK violations, deadlock victims) are what an
 * application would see: rolled back and counted, never a test failure. Which key and which operation
 * come from the scenario's seeded streams, so an ezone's sequence replays with the same seed; the
 * interleaving between ezones still varies with timing.
 */
import type mysql from 'mysql2/promise';
import { adminConnection } from './env.js';
import type { Random } from './random.js';
import type { Scenario } from './scenario.js';
import { sleep } from './wait.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';

/** Parents first (the order to create them in). */
export const RANDOM_TABLES = ['parent', 'child', 'item', 'claim'] as const;

export const RANDOM_DDL = [
  `CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(12) NOT NULL, v INT NOT NULL, ${VERSION}, UNIQUE KEY uq_parent_name (name))`,
  `CREATE TABLE child (id INT PRIMARY KEY, parent_id INT NOT NULL, v INT NOT NULL, ${VERSION}, KEY (parent_id), CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE)`,
  `CREATE TABLE item (id INT PRIMARY KEY, parent_id INT NOT NULL, v INT NOT NULL, ${VERSION}, KEY (parent_id), CONSTRAINT fk_item_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE RESTRICT ON UPDATE CASCADE)`,
  `CREATE TABLE claim (id INT PRIMARY KEY, u1 VARCHAR(4) NULL, u2 VARCHAR(4) NULL, v INT NOT NULL, ${VERSION}, UNIQUE KEY uq_claim_u1 (u1), UNIQUE KEY uq_claim_u2 (u2))`,
];

/** Key spaces: small on purpose, so that ezones collide. */
const PARENTS = 24;
const CHILDREN = 48;
const ITEMS = 32;
const CLAIMS = 24;
const NAMES = 30;
const UNIQUES = 8;

/** Errors an application gets from its own server and lives with: rolled back, counted. */
const REFUSED: Record<number, string> = { 1062: 'duplicate', 1451: 'fk-parent-in-use', 1452: 'fk-no-parent', 1213: 'deadlock', 1205: 'lock-wait' };

type Op = [sql: string, values: unknown[]];

/** One random operation: a statement, or several forming one transaction (`separate`: one each). */
function operation(r: Random, i: number): { name: string; statements: Op[]; separate?: boolean } {
  const parent = () => 1 + r.int(PARENTS);
  const name = () => `n${r.int(NAMES)}`;
  const unique = () => (r.int(5) === 0 ? null : String.fromCharCode(97 + r.int(UNIQUES)));
  const v = i;
  const roll = r.int(100);
  if (roll < 10) return { name: 'parent-upsert', statements: [['INSERT INTO parent (id, name, v) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', [parent(), name(), v]]] };
  if (roll < 16) return { name: 'parent-update', statements: [['UPDATE parent SET v = ? WHERE id = ?', [v, parent()]]] };
  if (roll < 21) return { name: 'parent-rename', statements: [['UPDATE parent SET name = ? WHERE id = ?', [name(), parent()]]] };
  if (roll < 26) return { name: 'parent-delete', statements: [['DELETE FROM parent WHERE id = ?', [parent()]]] };
  if (roll < 31) return { name: 'parent-rekey', statements: [['UPDATE parent SET id = ? WHERE id = ?', [parent(), parent()]]] };
  if (roll < 36) {
    // Parent and child in one source transaction.
    const p = parent();
    return {
      name: 'pair-one-tx',
      statements: [
        ['INSERT INTO parent (id, name, v) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', [p, name(), v]],
        ['INSERT INTO child (id, parent_id, v) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE parent_id = VALUES(parent_id), v = VALUES(v)', [1 + r.int(CHILDREN), p, v]],
      ],
    };
  }
  if (roll < 39) {
    // Parent and child in two source transactions, one right after the other.
    const p = parent();
    return {
      name: 'pair-two-tx',
      separate: true,
      statements: [
        ['INSERT INTO parent (id, name, v) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', [p, name(), v]],
        ['INSERT INTO item (id, parent_id, v) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE parent_id = VALUES(parent_id), v = VALUES(v)', [1 + r.int(ITEMS), p, v]],
      ],
    };
  }
  if (roll < 48) return { name: 'child-upsert', statements: [['INSERT INTO child (id, parent_id, v) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE parent_id = VALUES(parent_id), v = VALUES(v)', [1 + r.int(CHILDREN), parent(), v]]] };
  if (roll < 53) return { name: 'child-update', statements: [['UPDATE child SET v = ? WHERE id = ?', [v, 1 + r.int(CHILDREN)]]] };
  if (roll < 57) return { name: 'child-move', statements: [['UPDATE child SET parent_id = ? WHERE id = ?', [parent(), 1 + r.int(CHILDREN)]]] };
  if (roll < 61) return { name: 'child-delete', statements: [['DELETE FROM child WHERE id = ?', [1 + r.int(CHILDREN)]]] };
  if (roll < 68) return { name: 'item-upsert', statements: [['INSERT INTO item (id, parent_id, v) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', [1 + r.int(ITEMS), parent(), v]]] };
  if (roll < 72) return { name: 'item-delete', statements: [['DELETE FROM item WHERE id = ?', [1 + r.int(ITEMS)]]] };
  if (roll < 80) return { name: 'claim-insert', statements: [['INSERT INTO claim (id, u1, u2, v) VALUES (?, ?, ?, ?)', [1 + r.int(CLAIMS), unique(), unique(), v]]] };
  if (roll < 84) {
    // Delete and re-insert of one key in one source transaction: its own tombstone must not block it.
    const id = 1 + r.int(CLAIMS);
    return { name: 'claim-reinsert', statements: [['DELETE FROM claim WHERE id = ?', [id]], ['INSERT INTO claim (id, u1, u2, v) VALUES (?, ?, ?, ?)', [id, unique(), unique(), v]]] };
  }
  if (roll < 90) return { name: 'claim-update', statements: [[r.int(2) === 0 ? 'UPDATE claim SET u1 = ?, v = ? WHERE id = ?' : 'UPDATE claim SET u2 = ?, v = ? WHERE id = ?', [unique(), v, 1 + r.int(CLAIMS)]]] };
  if (roll < 95) return { name: 'claim-delete', statements: [['DELETE FROM claim WHERE id = ?', [1 + r.int(CLAIMS)]]] };
  return { name: 'claim-rekey', statements: [['UPDATE claim SET id = ? WHERE id = ?', [1 + r.int(CLAIMS), 1 + r.int(CLAIMS)]]] };
}

export interface RandomWorkloadStats {
  /** Operations attempted, every ezone together. */
  done: number;
  /** Operations committed, by name. */
  committed: Record<string, number>;
  /** Operations the origin refused (rolled back), by reason. */
  refused: Record<string, number>;
  /** Every operation attempted, in the order of each ezone, when it ended (to trace a divergence). */
  journal: { ezone: string; at: string; name: string; statements: Op[]; outcome: string }[];
}

/**
 * Run `ops` random operations in each ezone, concurrently (`pauseMs` between two of one ezone);
 * `stats.done` grows as they go, so a test can strike at a point of its choosing. Random stream
 * `streamBase + index` for the ezone at `index`. `include`: only operations whose name matches (e.g.
 * `/^claim-/`), to narrow a failure down.
 */
export function startRandomWorkload(s: Scenario, ezones: readonly string[], options: { ops: number; pauseMs?: number; streamBase?: number; include?: RegExp }) {
  const stats: RandomWorkloadStats = { done: 0, committed: {}, refused: {}, journal: [] };
  const finished = Promise.all(
    ezones.map(async (ez, index) => {
      const conn: mysql.Connection = await adminConnection(ez);
      try {
        await conn.query(`USE ${s.schema}`);
        const r = s.random((options.streamBase ?? 100) + index);
        for (let i = 1; i <= options.ops; i++) {
          // Half-way, the first ezone truncates claim while the others keep claiming values in it.
          const truncate = index === 0 && i === Math.floor(options.ops / 2) && (options.include?.test('claim-truncate') ?? true);
          let op = truncate ? { name: 'claim-truncate', statements: [['TRUNCATE TABLE claim', []] as Op] } : operation(r, (index + 1) * 100_000 + i);
          // `include`: only the operations whose name it matches (others are drawn again), to narrow a failure down.
          while (options.include && !options.include.test(op.name)) op = operation(r, (index + 1) * 100_000 + i);
          try {
            const transaction = op.statements.length > 1 && !op.separate;
            if (transaction) await conn.query('BEGIN');
            for (const [sql, values] of op.statements) await conn.query(sql, values);
            if (transaction) await conn.query('COMMIT');
            stats.committed[op.name] = (stats.committed[op.name] ?? 0) + 1;
            stats.journal.push({ ezone: ez, at: new Date().toISOString(), name: op.name, statements: op.statements, outcome: 'committed' });
          } catch (err) {
            const reason = REFUSED[(err as { errno?: number }).errno ?? 0];
            if (!reason) throw err;
            await conn.query('ROLLBACK'); // a no-op outside a transaction
            stats.refused[reason] = (stats.refused[reason] ?? 0) + 1;
            stats.journal.push({ ezone: ez, at: new Date().toISOString(), name: op.name, statements: op.statements, outcome: reason });
          }
          stats.done++;
          await sleep(options.pauseMs ?? 8);
        }
      } finally {
        await conn.end();
      }
    }),
  );
  return { stats, finished };
}
