/**
 * The steps of a planned `drc switchover` (the state machine of switchover-plan.ts), each against the
 * ezones' databases: precheck, ban, fence, the waits for them, flip, finish, rollback. A step persists
 * its state in drc_meta.switchovers together with its routing change (one transaction, replicated);
 * admin/switchover.ts strings them together.
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { errnoOf } from '../db/mysql-errors.js';
import { readRouting, routingChangeStatement, routingVersion, type RoutingChange } from '../db/routing-store.js';
import { CheckFailedError } from '../errors.js';
import { changesTopic } from '../model/topics.js';
import { planMove, reached, type SwitchoverRecord, type SwitchoverState } from './switchover-plan.js';
import { highestVersion, newSwitchoverId, NEXT_UPDATED_AT, until } from './switchover-records.js';
import type { Conns, RoutingEvent, SwitchoverOptions, SwitchoverResult } from './switchover-types.js';

/** What every step of one run shares. */
export interface RunContext {
  config: Config;
  conns: Conns;
  options: SwitchoverOptions;
  topology: string;
  pollMs: number;
  /** Waits and lock retries give up past it (ms since the epoch). */
  deadline: number;
  /** Milliseconds per step of this run. */
  steps: { step: string; ms: number }[];
}

/** A wait ran past the deadline: before the flip, the switchover rolls back. */
export class StepTimeout extends Error {}
/** A check before the flip failed: the switchover rolls back with this reason. */
export class RollBack extends Error {}

const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;
/**
 * Lock wait of one attempt of a routing change, in seconds. The ban's UPDATE queues behind the guard's
 * shared locks of writes in flight, and the application's next writes of those shards queue behind it:
 * a short wait per attempt, retried until the deadline, keeps them stalled at most this long at a time.
 */
const ATTEMPT_LOCK_WAIT_S = 1;

const isLockWait = (err: unknown): boolean => {
  const errno = errnoOf(err);
  return errno === ER_LOCK_WAIT_TIMEOUT || errno === ER_LOCK_DEADLOCK;
};

function conn(ctx: RunContext, ezone: string): mysql.Connection {
  return ctx.conns.get(ezone)!;
}

function stepDone(ctx: RunContext, step: string, t0: number): void {
  ctx.steps.push({ step, ms: Date.now() - t0 });
}

/**
 * Precheck and start: every ezone on the same routing version, the shards movable, replication
 * caught up; then the record (state started) in the old owner. A no-op move returns its result.
 */
export async function precheck(ctx: RunContext, shards: { from: number; to: number }, target: string): Promise<{ record: SwitchoverRecord } | SwitchoverResult> {
  const t0 = Date.now();
  const versions = new Map<string, number>();
  for (const [ezone, c] of ctx.conns) versions.set(ezone, await routingVersion(c, ctx.topology));
  if (new Set(versions.values()).size > 1) {
    throw new CheckFailedError(`the ezones have not applied the same routing (${[...versions].map(([e, v]) => `${e}: ${v}`).join(', ')}): is replication running? wait for it, then retry`);
  }
  const [first] = ctx.conns.keys();
  const plan = planMove(await readRouting(conn(ctx, first!), ctx.topology), shards, target, ctx.config.ownership.shardCount);
  if (plan.kind === 'refuse') throw new CheckFailedError(plan.reason);
  if (plan.kind === 'noop') return { state: 'none', reason: plan.reason, steps: [] };
  await precheckLag(ctx);
  const record: SwitchoverRecord = { id: newSwitchoverId(), from: shards.from, to: shards.to, fromEzone: plan.fromEzone, toEzone: target, state: 'started', banVersion: null, flipVersion: null, reason: null };
  await conn(ctx, record.fromEzone).query(
    'INSERT INTO drc_meta.switchovers (id, topology, shard_from, shard_to, from_ezone, to_ezone, state, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))',
    [record.id, ctx.topology, record.from, record.to, record.fromEzone, record.toEzone, record.state],
  );
  ctx.options.log.info({ switchover: record.id, shards: `${record.from}-${record.to}`, from: record.fromEzone, to: record.toEzone }, 'switchover started');
  stepDone(ctx, 'precheck', t0);
  await ctx.options.onStep?.('started');
  return { record };
}

/** Every ezone has a recent heartbeat from every other one (drc_meta.lag). */
async function precheckLag(ctx: RunContext): Promise<void> {
  const limit = ctx.options.maxLagMs ?? ctx.config.health.maxLag;
  const names = [...ctx.conns.keys()];
  for (const [dest, c] of ctx.conns) {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT origin, TIMESTAMPDIFF(MICROSECOND, sent_at, UTC_TIMESTAMP(6)) DIV 1000 AS age FROM drc_meta.lag');
    const age = new Map(rows.map((r) => [String(r.origin), Number(r.age)]));
    for (const origin of names) {
      if (origin === dest) continue;
      const ms = age.get(origin);
      if (ms === undefined) throw new CheckFailedError(`ezone ${dest} has applied no heartbeat from ${origin}: is drc run going in both? (a switchover needs replication running between every pair)`);
      if (ms > limit) throw new CheckFailedError(`ezone ${dest} is ${ms} ms behind ${origin} (limit ${limit} ms, health.maxLag): wait until replication catches up`);
    }
  }
}

/**
 * One routing change and the switchover's new state, in one transaction of `writtenIn`'s database:
 * attempts of ATTEMPT_LOCK_WAIT_S each, again after a lock wait timeout or a deadlock, until the
 * deadline (then the last error is thrown); then published.
 */
async function write(ctx: RunContext, r: SwitchoverRecord, writtenIn: string, change: RoutingChange, state: SwitchoverState, set: string, params: unknown[]): Promise<void> {
  const c = conn(ctx, writtenIn);
  await c.query(`SET SESSION innodb_lock_wait_timeout = ${ATTEMPT_LOCK_WAIT_S}`);
  for (let attempt = 1; ; attempt++) {
    await c.beginTransaction();
    try {
      const stmt = routingChangeStatement(ctx.topology, change);
      await c.query(stmt.sql, stmt.params);
      const [res] = await c.query<mysql.ResultSetHeader>(`UPDATE drc_meta.switchovers SET state = ?${set}, ${NEXT_UPDATED_AT} WHERE id = ?`, [state, ...params, r.id]);
      if (res.affectedRows !== 1) throw new CheckFailedError(`switchover ${r.id} is not recorded in ${writtenIn}'s drc_meta.switchovers: nothing written`);
      await c.commit();
      break;
    } catch (err) {
      await c.rollback().catch(() => undefined);
      if (isLockWait(err) && Date.now() < ctx.deadline) {
        ctx.options.log.info({ switchover: r.id, step: state, attempt, errno: errnoOf(err) }, 'routing change waited for writes in flight; trying again');
        continue;
      }
      throw err;
    }
  }
  await publish(ctx, { switchover: r.id, step: state, version: change.version, shards: `${change.from}-${change.to}`, owner: change.owner, state: change.state, ...(change.movingTo ? { movingTo: change.movingTo } : {}), writtenIn, at: new Date().toISOString() });
}

/** Publish a routing change on `<prefix>.routing` (drc_meta.routing has it: a failure is only logged). */
export async function publish(ctx: Pick<RunContext, 'options'>, event: RoutingEvent): Promise<void> {
  await ctx.options.publish?.(event).catch((err: Error) => ctx.options.log.warn({ err: err.message, switchover: event.switchover }, 'publishing the routing change failed (drc_meta.routing has it)'));
}

/** Ban (new version), written in the old owner: nobody writes the shards. */
export async function ban(ctx: RunContext, r: SwitchoverRecord): Promise<SwitchoverRecord> {
  const t0 = Date.now();
  const version = (await highestVersion(ctx.conns, ctx.topology)) + 1;
  try {
    await write(ctx, r, r.fromEzone, { from: r.from, to: r.to, owner: r.fromEzone, state: 'banned', version, movingTo: r.toEzone }, 'banned', ', ban_version = ?', [version]);
  } catch (err) {
    // Writes held their shards' routing rows past the timeout: nothing was banned.
    if (isLockWait(err)) throw new StepTimeout(`the ban waited for writes in flight on the shards in ${r.fromEzone} past the timeout`);
    throw err;
  }
  ctx.options.log.info({ switchover: r.id, version }, 'shards banned');
  stepDone(ctx, 'ban', t0);
  await ctx.options.onStep?.('banned');
  return { ...r, state: 'banned', banVersion: version };
}

/** Fence: the old owner writes the switchover row again right after the ban. */
export async function fence(ctx: RunContext, r: SwitchoverRecord): Promise<SwitchoverRecord> {
  const t0 = Date.now();
  await conn(ctx, r.fromEzone).query(`UPDATE drc_meta.switchovers SET state = 'fenced', ${NEXT_UPDATED_AT} WHERE id = ? AND state = 'banned'`, [r.id]);
  stepDone(ctx, 'fence', t0);
  await ctx.options.onStep?.('fenced');
  return { ...r, state: 'fenced' };
}

/** Until every ezone has applied routing version `version` (`what` names the step). */
export async function waitApplied(ctx: RunContext, what: string, version: number): Promise<void> {
  const t0 = Date.now();
  for (const [ezone, c] of ctx.conns) {
    await until(async () => (await routingVersion(c, ctx.topology)) >= version, ctx.deadline, ctx.pollMs, () => new StepTimeout(`ezone ${ezone} has not applied routing version ${version} within the timeout`));
  }
  stepDone(ctx, what, t0);
}

/** Until the new owner has applied the fence (the switchover row in state fenced or later). */
export async function waitFence(ctx: RunContext, r: SwitchoverRecord): Promise<void> {
  const t0 = Date.now();
  const c = conn(ctx, r.toEzone);
  const fenced = async () => {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT state FROM drc_meta.switchovers WHERE id = ?', [r.id]);
    const state = rows[0]?.state as SwitchoverState | undefined;
    return state !== undefined && reached(state, 'fenced');
  };
  await until(fenced, ctx.deadline, ctx.pollMs, () => new StepTimeout(`ezone ${r.toEzone} has not applied ${r.fromEzone}'s fence within the timeout`));
  stepDone(ctx, 'fence applied', t0);
}

/**
 * The new owner holds no quarantined transaction of the old owner (drc_meta.quarantine): one would
 * be a write of the old owner the new owner lacks, and after the flip a retry of it would be an
 * ownership violation. Else the switchover rolls back, naming them.
 */
export async function noQuarantine(ctx: RunContext, r: SwitchoverRecord): Promise<void> {
  const [rows] = await conn(ctx, r.toEzone).query<mysql.RowDataPacket[]>(
    "SELECT id FROM drc_meta.quarantine WHERE kafka_topic = ? AND state = 'quarantined' ORDER BY id LIMIT 10",
    [changesTopic(ctx.topology, r.fromEzone)],
  );
  if (rows.length === 0) return;
  const ids = rows.map((x) => String(x.id)).join(', ');
  throw new RollBack(
    `ezone ${r.toEzone} holds quarantined transactions of ${r.fromEzone} (id ${ids}${rows.length === 10 ? ', …' : ''}): retry or drop them first (drc quarantine list --config <file> --ezone ${r.toEzone}, then drc quarantine retry|drop), then run the switchover again`,
  );
}

/**
 * Flip (new version), written in the new owner, which has applied the ban and the fence: it writes the
 * shards from this commit on; every other ezone keeps refusing them (banned) until it applies the flip.
 */
export async function flip(ctx: RunContext, r: SwitchoverRecord): Promise<SwitchoverRecord> {
  const t0 = Date.now();
  const version = (await highestVersion(ctx.conns, ctx.topology)) + 1;
  await write(ctx, r, r.toEzone, { from: r.from, to: r.to, owner: r.toEzone, state: 'owned', version, movingTo: null }, 'flipped', ', flip_version = ?', [version]);
  ctx.options.log.info({ switchover: r.id, version }, 'shards flipped to their new owner');
  stepDone(ctx, 'flip', t0);
  await ctx.options.onStep?.('flipped');
  return { ...r, state: 'flipped', flipVersion: version };
}

/** The flip applied everywhere: the record is done. */
export async function finish(ctx: RunContext, r: SwitchoverRecord): Promise<SwitchoverRecord> {
  await conn(ctx, r.toEzone).query(`UPDATE drc_meta.switchovers SET state = 'done', ${NEXT_UPDATED_AT} WHERE id = ?`, [r.id]);
  ctx.options.log.info({ switchover: r.id }, 'switchover done');
  await ctx.options.onStep?.('done');
  return { ...r, state: 'done' };
}

/**
 * Roll back (before the flip only), with a fresh timeout: nothing banned yet only marks the record;
 * else a new version, written in the old owner, gives it the shards back and lifts the ban.
 */
export async function rollback(ctx: RunContext, r: SwitchoverRecord, reason: string): Promise<SwitchoverRecord> {
  ctx.deadline = Date.now() + ctx.options.timeoutMs;
  if (r.state === 'started') {
    await conn(ctx, r.fromEzone).query(`UPDATE drc_meta.switchovers SET state = 'rolled-back', reason = ?, ${NEXT_UPDATED_AT} WHERE id = ?`, [reason, r.id]);
    ctx.options.log.warn({ switchover: r.id, reason }, 'switchover rolled back before its ban');
  } else {
    const version = (await highestVersion(ctx.conns, ctx.topology)) + 1;
    await write(ctx, r, r.fromEzone, { from: r.from, to: r.to, owner: r.fromEzone, state: 'owned', version, movingTo: null }, 'rolled-back', ', reason = ?', [reason]);
    ctx.options.log.warn({ switchover: r.id, version, reason }, 'switchover rolled back');
  }
  await ctx.options.onStep?.('rolled-back');
  return { ...r, state: 'rolled-back', reason };
}
