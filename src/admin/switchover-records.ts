/**
 * drc_meta.switchovers and drc_meta.routing as `drc switchover` reads them across ezones (the planned
 * run, admin/switchover-steps.ts, and the forced one, admin/switchover-forced.ts).
 */
import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { routingVersion } from '../db/routing-store.js';
import type { SwitchoverRecord, SwitchoverState } from './switchover-plan.js';
import type { Conns } from './switchover-types.js';

/**
 * updated_at is the switchover row's version (last-writer-wins where it is replicated): every step's
 * strictly greater than the last, in UTC whatever the session's time zone.
 */
export const NEXT_UPDATED_AT = 'updated_at = GREATEST(updated_at + INTERVAL 1 MICROSECOND, UTC_TIMESTAMP(6))';

/** A new switchover's id: time-ordered, unique. */
export const newSwitchoverId = (): string => `so-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** Every ezone's copy of every switchover of the topology. */
export async function allRecords(conns: Conns, topology: string): Promise<SwitchoverRecord[]> {
  const out: SwitchoverRecord[] = [];
  for (const conn of conns.values()) {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT id, shard_from, shard_to, from_ezone, to_ezone, state, ban_version, flip_version, reason FROM drc_meta.switchovers WHERE topology = ?', [topology]);
    out.push(...rows.map(recordOf));
  }
  return out;
}

/** The highest routing version any of the ezones has applied. */
export async function highestVersion(conns: Conns, topology: string): Promise<number> {
  let max = 0;
  for (const conn of conns.values()) max = Math.max(max, await routingVersion(conn, topology));
  return max;
}

function recordOf(r: mysql.RowDataPacket): SwitchoverRecord {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: String(r.id),
    from: Number(r.shard_from),
    to: Number(r.shard_to),
    fromEzone: String(r.from_ezone),
    toEzone: String(r.to_ezone),
    state: String(r.state) as SwitchoverState,
    banVersion: num(r.ban_version),
    flipVersion: num(r.flip_version),
    reason: r.reason === null ? null : String(r.reason),
  };
}

/** Poll `done` every `pollMs` until it answers true; past `deadline` (ms since the epoch) `onTimeout` is thrown. */
export async function until(done: () => Promise<boolean>, deadline: number, pollMs: number, onTimeout: () => Error): Promise<void> {
  for (;;) {
    if (await done()) return;
    if (Date.now() > deadline) throw onTimeout();
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
