/**
 * `drc switchover --force` (the old owner is unreachable): one routing change written in the new
 * owner's database (owner = it, no ban, previous owner forgotten), a switchover record `done` with the
 * reason, and unfinished switchovers seen there marked rolled back; then a wait until every reachable
 * ezone has applied it. Rows the old owner wrote before it that arrive later are flagged where they
 * arrive (conflict `forced-late`, model/routing.ts RoutingBook.lateAfterForce).
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { readRouting, routingChangeStatement, routingVersion } from '../db/routing-store.js';
import { CheckFailedError, UsageError } from '../errors.js';
import { changesTopic } from '../model/topics.js';
import { planMove, reached, unfinished, type SwitchoverRecord } from './switchover-plan.js';
import { allRecords, highestVersion, newSwitchoverId, NEXT_UPDATED_AT } from './switchover-records.js';
import { publish } from './switchover-steps.js';
import type { Conns, SwitchoverOptions, SwitchoverResult } from './switchover-types.js';

export async function forced(config: Config, conns: Conns, unreachable: string[], options: SwitchoverOptions): Promise<SwitchoverResult> {
  const t0 = Date.now();
  const topology = config.kafka.topicPrefix;
  const { to, shards } = options;
  if (!to || !shards) throw new UsageError('--force needs --shards and --to');
  const conn = conns.get(to)!;
  const plan = planMove(await readRouting(conn, topology), shards, to, config.ownership.shardCount, true);
  if (plan.kind === 'refuse') throw new CheckFailedError(plan.reason);
  if (plan.kind === 'noop') return { state: 'none', reason: plan.reason, steps: [] };
  // Only for an old owner that cannot be reached: a reachable one gets the planned switchover (ban, fence).
  if (conns.has(plan.fromEzone)) {
    throw new CheckFailedError(`--force is for an unreachable old owner, and ezone ${plan.fromEzone} (the shards' owner) is reachable: run the planned switchover (without --force)`);
  }
  const records = await allRecords(conns, topology);
  const open = unfinished(records);
  refuseBlocking(open, shards);
  // Above every version any ezone has, and above the ban of an unfinished switchover that may not have arrived.
  let version = await highestVersion(conns, topology);
  for (const r of records) version = Math.max(version, r.banVersion ?? 0, r.flipVersion ?? 0);
  version++;
  const id = newSwitchoverId();
  const reason = `forced${unreachable.length > 0 ? ` (unreachable: ${unreachable.join(', ')})` : ''}: no ban, no fence`;
  await writeForcedFlip(conn, topology, { id, version, reason, shards, from: plan.fromEzone, to, open });
  options.log.warn({ switchover: id, version, from: plan.fromEzone, to, unreachable }, 'forced switchover: shards flipped without ban or fence');
  await publish({ options }, { switchover: id, step: 'done', version, shards: `${shards.from}-${shards.to}`, owner: to, state: 'owned', writtenIn: to, at: new Date().toISOString() });
  const steps = [{ step: 'flip', ms: Date.now() - t0 }];
  const t1 = Date.now();
  const late = await waitReachable(conns, topology, version, t1 + options.timeoutMs, options.pollMs ?? 10);
  steps.push({ step: 'flip applied', ms: Date.now() - t1 });
  const note = [reason, ...(late.length > 0 ? [`not applied yet in ${late.join(', ')}`] : []), ...(unreachable.length > 0 ? [`${unreachable.join(', ')} will apply it when it is back`] : [])].join('; ');
  return { id, state: 'done', shards: `${shards.from}-${shards.to}`, from: plan.fromEzone, to, banVersion: null, flipVersion: version, reason: note, steps };
}

/** An unfinished switchover of other shards, or one already flipped, is not a forced run's to end. */
function refuseBlocking(open: readonly SwitchoverRecord[], shards: { from: number; to: number }): void {
  const blocking = open.find((r) => r.from !== shards.from || r.to !== shards.to || reached(r.state, 'flipped'));
  if (!blocking) return;
  throw new CheckFailedError(
    `switchover ${blocking.id} of shards ${blocking.from}-${blocking.to} from ${blocking.fromEzone} to ${blocking.toEzone} is unfinished (${blocking.state}): finish it first (drc switchover --resume), or force exactly its shards${reached(blocking.state, 'flipped') ? ' — it is flipped: only --resume finishes it' : ''}`,
  );
}

interface ForcedFlip {
  id: string;
  version: number;
  reason: string;
  shards: { from: number; to: number };
  from: string;
  to: string;
  /** Unfinished switchovers (of the same shards, not flipped): they end here. */
  open: readonly SwitchoverRecord[];
}

/**
 * The flip, the superseded switchovers rolled back and the forced one's record `done`, in one
 * transaction of the new owner, with its cut: the next offset of the old owner's changes topic applied
 * here (drc_meta.apply_position, read with a lock). The old owner's changes from the cut on were not here
 * when the new owner took the shards: where they arrive, those written under the older routing are
 * flagged `forced-late` (model/routing.ts lateFor) — and only those, so an ezone replaying the old
 * owner's topic from its start does not flag what was applied here before the flip.
 *
 * An applier's transaction reads the forced flips itself (apply/forced-flips.ts), with its row reads,
 * and checks in its commit round trip, after its applied-position upsert and before COMMIT, that no
 * other flip has appeared: that upsert and this locked read of the same row are serialised, so either
 * this flip's cut includes the transaction or its check sees the flip, and the transaction is rolled
 * back and applied again, judged by it throughout.
 */
async function writeForcedFlip(conn: mysql.Connection, topology: string, f: ForcedFlip): Promise<void> {
  const superseded = `superseded by the forced switchover ${f.id}`;
  // REPEATABLE READ whatever the server's default: with no position row of the old owner's stream yet,
  // the locked read below then locks the gap where an applier's first upsert goes (READ COMMITTED
  // locks nothing there), so that upsert waits for this commit and its check sees the flip.
  await conn.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  await conn.beginTransaction();
  try {
    await conn.query(
      "INSERT INTO drc_meta.switchovers (id, topology, shard_from, shard_to, from_ezone, to_ezone, state, flip_version, reason, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'done', ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
      [f.id, topology, f.shards.from, f.shards.to, f.from, f.to, f.version, f.reason],
    );
    await conn.query(`UPDATE drc_meta.switchovers SET state = 'rolled-back', reason = ?, ${NEXT_UPDATED_AT} WHERE topology = ? AND state IN ('started', 'banned', 'fenced')`, [superseded, topology]);
    for (const r of f.open) {
      // Seen only in another reachable ezone (its copy has not arrived here): the record is written here.
      await conn.query(
        "INSERT IGNORE INTO drc_meta.switchovers (id, topology, shard_from, shard_to, from_ezone, to_ezone, state, ban_version, reason, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'rolled-back', ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        [r.id, topology, r.from, r.to, r.fromEzone, r.toEzone, r.banVersion, superseded],
      );
    }
    const stmt = routingChangeStatement(topology, { from: f.shards.from, to: f.shards.to, owner: f.to, state: 'owned', version: f.version, movingTo: null, forgetPrevious: true });
    await conn.query(stmt.sql, stmt.params);
    const [[applied]] = await conn.query<mysql.RowDataPacket[]>('SELECT next_offset, topic FROM drc_meta.apply_position WHERE origin = ? AND kafka_partition = 0 FOR UPDATE', [f.from]);
    // Nothing applied from the old owner: every change of its is after the cut. A position recorded for
    // another topic says nothing of this one: no cut (every change under the older routing is late).
    const topic = changesTopic(topology, f.from);
    const cut = !applied ? '0' : applied.topic === null || String(applied.topic) === topic ? String(applied.next_offset) : null;
    await conn.query('UPDATE drc_meta.switchovers SET cut_offset = ? WHERE id = ?', [cut, f.id]);
    await conn.commit();
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  }
}

/** Wait until every reachable ezone has applied `version`; returns those that had not by the deadline. */
async function waitReachable(conns: Conns, topology: string, version: number, deadline: number, pollMs: number): Promise<string[]> {
  const late: string[] = [];
  for (const [ezone, c] of conns) {
    while ((await routingVersion(c, topology)) < version) {
      if (Date.now() > deadline) {
        late.push(ezone);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
  return late;
}
