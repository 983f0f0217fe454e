/**
 * `drc switchover`'s decisions, pure (admin/switchover.ts does the I/O): which ezone owns the shards
 * now, whether they can move, what an unfinished switchover needs next.
 *
 * The state machine (persisted in drc_meta.switchovers of the old owner, replicated):
 *   started → banned → fenced → flipped → done, and rolled-back from started, banned or fenced.
 * - banned: the shards' routing rows say "banned, moving to T" (new version), written in the old
 *   owner F together with the state, so nobody writes them; done once every ezone has applied it.
 * - fenced: the switchover row is written again in F right after the ban: once T has applied it, T
 *   has applied everything F wrote to the shards (F's stream is applied in order, the guard's locking
 *   read put every write to them before the ban in F's binlog).
 * - flipped: once every ezone has applied the ban and T the fence: owner T, ban lifted (new version),
 *   written in T with the state (T's copy of the row): T writes the shards from that commit on, every
 *   other ezone refuses them (banned) until it has applied the flip.
 * A timeout or failure before the flip rolls back: owner F, ban lifted (new version). After the flip
 * the switchover only finishes.
 */
import type { ShardRoute } from '../model/routing.js';

export type SwitchoverState = 'started' | 'banned' | 'fenced' | 'flipped' | 'done' | 'rolled-back';

export const FINAL_STATES: readonly SwitchoverState[] = ['done', 'rolled-back'];

export interface SwitchoverRecord {
  id: string;
  from: number;
  to: number;
  fromEzone: string;
  toEzone: string;
  state: SwitchoverState;
  banVersion: number | null;
  flipVersion: number | null;
  reason: string | null;
}

/** Steps in order: a record in a later state supersedes an earlier copy of it (replication lag). */
const ORDER: Record<SwitchoverState, number> = { started: 0, banned: 1, fenced: 2, flipped: 3, done: 4, 'rolled-back': 4 };

/** Whether `state` is at or past `step` (rolled-back counts as past every step but never as flipped). */
export function reached(state: SwitchoverState, step: SwitchoverState): boolean {
  if (state === 'rolled-back') return step === 'rolled-back' || ORDER[step] < ORDER.flipped;
  return ORDER[state] >= ORDER[step];
}

/** The most advanced copy of each switchover seen across ezones. */
export function newestCopies(records: readonly SwitchoverRecord[]): SwitchoverRecord[] {
  const byId = new Map<string, SwitchoverRecord>();
  for (const r of records) {
    const seen = byId.get(r.id);
    if (!seen || ORDER[r.state] > ORDER[seen.state]) byId.set(r.id, r);
  }
  return [...byId.values()];
}

/** The switchovers not finished yet (at most one should exist: they are serialised). */
export function unfinished(records: readonly SwitchoverRecord[]): SwitchoverRecord[] {
  return newestCopies(records).filter((r) => !FINAL_STATES.includes(r.state));
}

export type MovePlan = { kind: 'move'; fromEzone: string } | { kind: 'noop'; reason: string } | { kind: 'refuse'; reason: string };

/** Whether shards `from`..`to` can move to `target` under `routes` (the routing in force everywhere). */
export function planMove(routes: readonly ShardRoute[], shard: { from: number; to: number }, target: string, shardCount: number, force = false): MovePlan {
  const range = `${shard.from}-${shard.to}`;
  if (shard.to >= shardCount) return { kind: 'refuse', reason: `--shards ${range}: shards go from 0 to ${shardCount - 1} (ownership.shardCount ${shardCount})` };
  const byShard = new Map(routes.map((r) => [r.shard, r]));
  const owners = new Map<string, number>();
  for (let s = shard.from; s <= shard.to; s++) {
    const r = byShard.get(s);
    if (!r) return { kind: 'refuse', reason: `shard ${s} has no owner in drc_meta.routing (ownership.routing does not cover it): give it one in the config before the first daemon starts` };
    if (r.state === 'banned' && !force) return { kind: 'refuse', reason: `shard ${s} is under a write ban (moving from ${r.owner} to ${r.movingTo ?? '?'}): finish that switchover first (drc switchover --resume)` };
    owners.set(r.owner, (owners.get(r.owner) ?? 0) + 1);
  }
  if (owners.size > 1) {
    return { kind: 'refuse', reason: `shards ${range} have several owners (${[...owners].map(([o, n]) => `${o}: ${n}`).join(', ')}): move one owner's shards at a time` };
  }
  const fromEzone = [...owners.keys()][0]!;
  if (fromEzone === target) return { kind: 'noop', reason: `shards ${range} are already owned by ${target}` };
  return { kind: 'move', fromEzone };
}
