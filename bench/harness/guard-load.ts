/**
 * The write guard's cost (`drc guard install`, issue 17), shared by the bench's guard phase
 * (bench/phases/guard.ts) and bench/guard-cost.ts: single-row autocommit INSERTs into a hash-sharded
 * table of one ezone by `writers` connections, `seconds` at a time, without the guard's triggers and
 * with them (every insert then reads its shard's routing row with a locking read). Rounds alternate
 * the order (without, with; with, without; …) so a machine whose load drifts favours neither side.
 * Nothing replicates: the table lives in a schema of its own, its routing under a topology of its own,
 * both dropped at the end.
 */
import mysql from 'mysql2/promise';
import { runGuard } from '../../src/admin/guard.js';
import { configSchema, type Config } from '../../src/config/schema.js';

export interface GuardCostOptions {
  /** The topology's config; only `ezone`'s settings are used. */
  config: Config;
  ezone: string;
  /** An account that may create triggers (the guard's install) and databases. */
  account: { user: string; password: string };
  /** How the writers connect to `ezone` (that account). */
  connection: mysql.ConnectionOptions;
  writers: number;
  seconds: number;
  rounds: number;
  /** Progress lines. */
  say?: (line: string) => void;
}

export interface GuardCost {
  writers: number;
  seconds: number;
  rounds: number;
  shardCount: number;
  insertsPerSecWithout: number;
  insertsPerSecWith: number;
  /** With / without. */
  ratio: number;
  /** Inserts per second of each measurement, in order. */
  runs: { guard: boolean; insertsPerSec: number }[];
}

const SHARD_COUNT = 1024;

/**
 * A bench argument that must be a whole number of at least `min` (`--writers 4`) → the number; a clear
 * error naming it otherwise (Number('abc') would be NaN, and 0 rounds measures nothing).
 */
export function countArg(name: string, text: string | number, min = 1): number {
  const n = typeof text === 'number' ? text : /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min}, got '${text}'`);
  return n;
}

/** The config's ezone named by `--ezone` → its settings; a clear error naming the config's ezones otherwise. */
export function ezoneArg(config: Config, ezone: string): Config['ezones'][string] {
  const settings = config.ezones[ezone];
  if (!settings) throw new Error(`--ezone ${ezone} is no ezone of the config (its ezones: ${Object.keys(config.ezones).join(', ')})`);
  return settings;
}

export async function measureGuardCost(o: GuardCostOptions): Promise<GuardCost> {
  for (const name of ['writers', 'seconds', 'rounds'] as const) countArg(name, o[name]);
  ezoneArg(o.config, o.ezone);
  const schema = `guard_bench_${Date.now().toString(36)}`;
  const table = `${schema}.orders`;
  // This ezone owns every shard: the guard lets every insert through, so what is measured is its cost.
  const config = configSchema.parse({
    ...o.config,
    ezones: { [o.ezone]: o.config.ezones[o.ezone] },
    kafka: { ...o.config.kafka, topicPrefix: schema },
    ownership: { shardCount: SHARD_COUNT, routing: [{ shards: `0-${SHARD_COUNT - 1}`, ezone: o.ezone }], tables: { [table]: { function: 'hash', column: 'user_id' } } },
  });
  const guard = async (action: 'install' | 'remove') => {
    const report = await runGuard(config, action, { ezone: o.ezone, account: o.account });
    if (!report.ok) throw new Error(`guard ${action} failed: ${JSON.stringify(report)}`);
  };
  const admin = await mysql.createConnection(o.connection);
  const runs: GuardCost['runs'] = [];
  let next = 0;
  try {
    await admin.query(`CREATE DATABASE ${schema}`);
    await admin.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, user_id INT NOT NULL, amount INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))`);
    let installed = false;
    for (let round = 0; round < o.rounds; round++) {
      for (const withGuard of round % 2 === 0 ? [false, true] : [true, false]) {
        if (withGuard !== installed) await guard(withGuard ? 'install' : 'remove');
        installed = withGuard;
        const perSec = await inserts(o, table, (next++) * 1_000_000_000);
        runs.push({ guard: withGuard, insertsPerSec: Math.round(perSec) });
        o.say?.(`  guard ${withGuard ? 'on ' : 'off'}: ${Math.round(perSec)} inserts/s`);
      }
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${schema}`).catch(() => undefined);
    await admin.query('DELETE FROM drc_meta.routing WHERE topology = ?', [schema]).catch(() => undefined);
    await admin.end();
  }
  const mean = (guard: boolean) => {
    const xs = runs.filter((r) => r.guard === guard).map((r) => r.insertsPerSec);
    return Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
  };
  const without = mean(false);
  const withGuard = mean(true);
  return { writers: o.writers, seconds: o.seconds, rounds: o.rounds, shardCount: SHARD_COUNT, insertsPerSecWithout: without, insertsPerSecWith: withGuard, ratio: Number((withGuard / without).toFixed(3)), runs };
}

/** Inserts per second of `writers` connections for `seconds`, ids from `idBase`. */
async function inserts(o: GuardCostOptions, table: string, idBase: number): Promise<number> {
  const conns = await Promise.all(Array.from({ length: o.writers }, () => mysql.createConnection(o.connection)));
  const end = Date.now() + o.seconds * 1000;
  const counts = await Promise.all(
    conns.map(async (conn, w) => {
      let n = 0;
      while (Date.now() < end) {
        const id = idBase + w * 10_000_000 + n;
        await conn.query(`INSERT INTO ${table} (id, user_id, amount) VALUES (?, ?, ?)`, [id, id % 100_000, n]);
        n++;
      }
      await conn.end();
      return n;
    }),
  );
  return counts.reduce((a, b) => a + b, 0) / o.seconds;
}
