/**
 * `drc lag`: reads every ezone's drc_meta (heartbeats applied, positions) and the end offsets of the
 * changes topics, then builds the matrix (lag-matrix.ts). A server that cannot be read becomes an
 * error on the pairs that needed it, never a silent row of nulls.
 */
import mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { connectionOptions } from '../db/connect.js';
import { isNoSuchTable } from '../db/mysql-errors.js';
import type { BrokerInspector } from '../model/ports.js';
import { changesTopic } from '../model/topics.js';
import type { Logger } from '../ops/logger.js';
import { unfinishedBootstraps, type BootstrapProgress } from './bootstrap-state.js';
import { lagMatrix, type LagInputs, type LagPair } from './lag-matrix.js';
import { reasonOf, unreachableMessage } from './unreachable.js';

export type { LagPair } from './lag-matrix.js';

const ms = (utc: string) => Date.parse(`${utc.replace(' ', 'T')}Z`);

/** MySQL/MariaDB ER_NO_SUCH_TABLE: drc_meta was never created (no daemon has run there). */

/**
 * Gather the lag matrix from every ezone's drc_meta and, through `brokers`, Kafka. With `bootstraps`,
 * also the `drc bootstrap` runs into each ezone that are not verified yet (read on the same connection).
 */
export async function collectLag(config: Config, log: Logger, brokers: BrokerInspector, bootstraps?: BootstrapProgress[]): Promise<LagPair[]> {
  const ezones = Object.keys(config.ezones);
  const inputs: LagInputs = { ezones, heartbeats: new Map(), positions: new Map(), highWater: new Map(), unreachable: new Map(), uninitialised: new Set() };
  await Promise.all(ezones.map((dest) => readDestination(config, dest, inputs, bootstraps)));
  const topics = new Map(ezones.map((origin) => [changesTopic(config.kafka.topicPrefix, origin), origin]));
  try {
    for (const [topic, high] of await brokers.endOffsets([...topics.keys()])) inputs.highWater.set(topics.get(topic)!, BigInt(high));
  } catch (err) {
    log.debug({ err: (err as Error).message }, 'lag: Kafka unreachable');
    inputs.unreachable.set('kafka', `cannot reach Kafka at ${config.kafka.brokers.join(', ')}: ${reasonOf(err)} — is the broker running? check kafka.brokers`);
  }
  return lagMatrix(inputs, config.heartbeat.interval);
}

/** What one destination's drc_meta says about every origin applied there. */
async function readDestination(config: Config, dest: string, inputs: LagInputs, bootstraps?: BootstrapProgress[]): Promise<void> {
  const ez = config.ezones[dest]!;
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection(connectionOptions(ez.mysql));
  } catch (err) {
    inputs.unreachable.set(dest, unreachableMessage(dest, ez.mysql, err));
    return;
  }
  try {
    const [lagRows] = await conn.query<mysql.RowDataPacket[]>('SELECT origin, sent_at, applied_at, UTC_TIMESTAMP(6) AS now FROM drc_meta.lag');
    for (const r of lagRows) {
      inputs.heartbeats.set(`${r.origin}>${dest}`, { sentMs: ms(String(r.sent_at)), appliedMs: ms(String(r.applied_at)), nowMs: ms(String(r.now)) });
    }
    const [posRows] = await conn.query<mysql.RowDataPacket[]>('SELECT origin, next_offset, origin_pos FROM drc_meta.apply_position WHERE kafka_partition = 0');
    for (const r of posRows) {
      inputs.positions.set(`${r.origin}>${dest}`, { next: BigInt(String(r.next_offset)), pos: r.origin_pos === null ? null : String(r.origin_pos) });
    }
    // Progress is a courtesy of `drc lag`: a failure to read it never hides the lag.
    if (bootstraps) bootstraps.push(...(await unfinishedBootstraps(conn, dest).catch(() => [])));
  } catch (err) {
    if (isNoSuchTable(err)) inputs.uninitialised.add(dest);
    else inputs.unreachable.set(dest, `ezone ${dest}: cannot read drc_meta: ${(err as Error).message}`);
  } finally {
    await conn.end().catch(() => undefined);
  }
}
