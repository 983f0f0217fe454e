/**
 * The sharded `orders` table of the routing tests (issue 17): 16 shards by user_id, 0-7 a's and 8-15
 * b's at routing version 1, ownership reported (not refused).
 */
import type mysql from 'mysql2/promise';
import { shardOf } from '../../src/model/ownership.js';
import { reconfigure } from './reconfigure.js';
import type { Scenario } from './scenario.js';

export const SHARDS = 16;

/** A user of shard 0-7 (a's at version 1). */
export const userOfA = (() => {
  let u = 1;
  while (shardOf(u, SHARDS) > 7) u++;
  return u;
})();

/** Configure the scenario's ownership and create `orders` in each ezone. */
export async function shardedOrders(s: Scenario, ezones: string[]): Promise<Scenario> {
  reconfigure(s, (c) => ({
    ...c,
    ownership: { policy: 'report', shardCount: SHARDS, routing: [{ shards: '0-7', ezone: 'a' }, { shards: '8-15', ezone: 'b' }], tables: { [`${s.schema}.orders`]: { function: 'hash', column: 'user_id' } } },
  }));
  for (const ez of ezones) await s.db[ez]!.query('CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id INT NOT NULL, amount INT NOT NULL DEFAULT 0, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
  return s;
}

/** The highest routing version an ezone holds for `topology`. */
export async function routingVersion(db: mysql.Connection, topology: string): Promise<number> {
  const [[row]] = await db.query<mysql.RowDataPacket[]>('SELECT COALESCE(MAX(version), 0) AS v FROM drc_meta.routing WHERE topology = ?', [topology]);
  return Number(row!.v);
}
