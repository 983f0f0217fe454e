import mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { connectionOptions } from '../db/connect.js';
import { isNoSuchTable } from '../db/mysql-errors.js';
import { changesTopic } from '../model/topics.js';
import { createKafka } from '../transport/kafka/client.js';
import type { Logger } from './logger.js';

/** One origin → destination pair of `drc lag` (DESIGN.md section 9). */
export interface LagPair {
  origin: string;
  destination: string;
  /** End-to-end lag from heartbeats (commit in origin → visible in destination), ms. */
  lagMs: number | null;
  /** Offsets of the origin's changes topic not yet applied in the destination (transaction markers count). */
  backlog: number | null;
  /** Origin binlog position of the last transaction applied in the destination. */
  position: string | null;
  /** Estimated clock offset destination − origin, ms (from heartbeats both ways, symmetric delays assumed). */
  skewMs: number | null;
  /** Why some fields are null, if any. */
  error?: string;
}

interface Seen {
  lagMs: number;
}

const ms = (utc: string) => Date.parse(`${utc.replace(' ', 'T')}Z`);

/** Gather the lag matrix from every ezone's drc_meta and the brokers. */
export async function collectLag(config: Config, log: Logger): Promise<LagPair[]> {
  const names = Object.keys(config.ezones);
  const observed = new Map<string, Seen>(); // `${origin}>${destination}`
  const positions = new Map<string, { next: bigint; pos: string | null }>();
  const errors = new Map<string, string>();
  await Promise.all(
    names.map(async (dest) => {
      const ez = config.ezones[dest]!;
      let conn: mysql.Connection | undefined;
      try {
        conn = await mysql.createConnection(connectionOptions(ez.mysql));
        const [lagRows] = await conn.query<mysql.RowDataPacket[]>('SELECT origin, sent_at, applied_at, UTC_TIMESTAMP(6) AS now FROM drc_meta.lag');
        for (const r of lagRows) {
          const sent = ms(String(r.sent_at));
          const applied = ms(String(r.applied_at));
          const now = ms(String(r.now));
          // Fresh heartbeats: their transit time. Stale: the silence since the last one counts too.
          const lagMs = now - applied < 2 * config.heartbeat.interval + 1000 ? applied - sent : now - sent;
          observed.set(`${r.origin}>${dest}`, { lagMs });
        }
        const [posRows] = await conn.query<mysql.RowDataPacket[]>('SELECT origin, next_offset, origin_pos FROM drc_meta.apply_position WHERE kafka_partition = 0');
        for (const r of posRows) positions.set(`${r.origin}>${dest}`, { next: BigInt(String(r.next_offset)), pos: r.origin_pos === null ? null : String(r.origin_pos) });
      } catch (err) {
        const why = isNoSuchTable(err) ? 'drc_meta is not set up yet (no daemon has run here)' : (err as Error).message;
        errors.set(dest, `ezone ${dest}: ${why}`);
      } finally {
        await conn?.end().catch(() => undefined);
      }
    }),
  );
  const highWater = new Map<string, bigint>();
  const kafka = createKafka(config.kafka, { clientId: `${config.kafka.clientId}-lag`, log });
  const admin = kafka.admin();
  try {
    await admin.connect();
    for (const origin of names) {
      try {
        const offsets = await admin.fetchTopicOffsets(changesTopic(config.kafka.topicPrefix, origin));
        highWater.set(origin, BigInt(offsets.find((o) => o.partition === 0)?.high ?? '0'));
      } catch {
        // topic not created yet: no backlog to report
      }
    }
  } catch (err) {
    errors.set('kafka', `kafka: ${(err as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }

  const pairs: LagPair[] = [];
  for (const origin of names) {
    for (const destination of names) {
      if (origin === destination) continue;
      const seen = observed.get(`${origin}>${destination}`);
      const back = observed.get(`${destination}>${origin}`);
      const pos = positions.get(`${origin}>${destination}`);
      const hw = highWater.get(origin);
      // Offsets not applied yet. Every committed Kafka transaction ends with a marker that takes an
      // offset but is never delivered: the one after the last applied message is not backlog.
      const pending = hw === undefined ? undefined : hw - (pos?.next ?? 0n) - 1n;
      const backlog = pending === undefined ? null : Number(pending > 0n ? pending : 0n);
      const error = [errors.get(destination), errors.get('kafka')].filter(Boolean).join('; ');
      pairs.push({
        origin,
        destination,
        lagMs: seen ? Math.max(0, Math.round(seen.lagMs)) : null,
        backlog,
        position: pos?.pos ?? null,
        skewMs: seen && back ? Math.round((seen.lagMs - back.lagMs) / 2) : null,
        ...(error ? { error } : {}),
      });
    }
  }
  return pairs;
}
