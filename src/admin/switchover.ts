/**
 * `drc switchover --config F --shards R --to E [--timeout D] [--resume]` (issue 17): the state machine
 * of switchover-plan.ts, run against every ezone's database, step by step (switchover-steps.ts), or
 * the emergency flip of `--force` (switchover-forced.ts). One runs at a time per topology: it holds the
 * named lock `drc_switchover.<prefix>` in every ezone (a killed run's locks go with its connections), and a run that finds
 * an unfinished switchover resumes it (same shards and target) or refuses.
 */
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { connectionOptions } from '../db/connect.js';
import { ensureMetaSchema } from '../db/meta-schema.js';
import { peerCopyOf, scopeOf, seedRouting } from '../db/routing-store.js';
import { CheckFailedError, UsageError } from '../errors.js';
import { unfinished, type SwitchoverRecord } from './switchover-plan.js';
import { forced } from './switchover-forced.js';
import { allRecords } from './switchover-records.js';
import { ban, fence, finish, flip, noQuarantine, precheck, rollback, RollBack, StepTimeout, waitApplied, waitFence, type RunContext } from './switchover-steps.js';
import type { Conns, SwitchoverOptions, SwitchoverResult } from './switchover-types.js';
import { unreachableMessage } from './unreachable.js';

export type { RoutingEvent, SwitchoverOptions, SwitchoverResult } from './switchover-types.js';

/**
 * The named lock a run holds in every ezone: one per topology (a server may hold several, each with
 * its own routing), `drc_switchover.<prefix>` — or the prefix's SHA-1 when that is longer than the
 * servers' 64-character lock names allow.
 */
export function switchoverLockName(topology: string): string {
  const name = `drc_switchover.${topology}`;
  return name.length <= 64 ? name : `drc_switchover.${createHash('sha1').update(topology).digest('hex')}`;
}

export async function switchover(config: Config, options: SwitchoverOptions): Promise<SwitchoverResult> {
  const conns: Conns = new Map();
  try {
    const unreachable = await connectAll(config, options, conns);
    await prepareAll(config, conns);
    if (options.force) return await forced(config, conns, unreachable, options);
    const ctx: RunContext = { config, conns, options, topology: config.kafka.topicPrefix, pollMs: options.pollMs ?? 10, deadline: 0, steps: [] };
    return await run(ctx);
  } finally {
    await Promise.allSettled([...conns.values()].map((c) => c.end()));
  }
}

/** A connection to every ezone into `conns`; returns the unreachable ones (only --force tolerates some, never the new owner). */
async function connectAll(config: Config, options: SwitchoverOptions, conns: Conns): Promise<string[]> {
  const unreachable: string[] = [];
  for (const ezone of Object.keys(config.ezones).sort()) {
    const ez = config.ezones[ezone]!;
    try {
      conns.set(ezone, await mysql.createConnection({ ...connectionOptions(ez.mysql), multipleStatements: false }));
    } catch (err) {
      if (!options.force) throw new CheckFailedError(`${unreachableMessage(ezone, ez.mysql, err)} — a planned switchover needs every ezone (--force for an emergency one)`);
      if (ezone === options.to) throw new CheckFailedError(`${unreachableMessage(ezone, ez.mysql, err)} — the new owner must be reachable`);
      unreachable.push(ezone);
    }
  }
  return unreachable;
}

/** drc_meta migrated and the routing seeded in every ezone, and the topology's lock (switchoverLockName) taken in each. */
async function prepareAll(config: Config, conns: Conns): Promise<void> {
  for (const [ezone, conn] of conns) {
    await ensureMetaSchema(conn);
    // A new or restored ezone copies the others' routing (not the config's version 1).
    await seedRouting(conn, scopeOf(config), async () => {
      const out = [];
      for (const [other, c] of conns) if (other !== ezone) out.push(await peerCopyOf(c, config.kafka.topicPrefix).catch(() => ({ routes: [], forced: [] })));
      return out.filter((r) => r.routes.length > 0);
    });
    const lock = switchoverLockName(config.kafka.topicPrefix);
    const [[row]] = await conn.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS ok', [lock]);
    if (Number(row?.ok) !== 1) throw new CheckFailedError(`another drc switchover of this topology is running (it holds the lock ${lock} in ezone ${ezone}): wait for it, or kill it and run drc switchover --resume`);
  }
}

/** Resume the unfinished switchover, or start the one asked for; then advance it. */
async function run(ctx: RunContext): Promise<SwitchoverResult> {
  const { options } = ctx;
  const open = unfinished(await allRecords(ctx.conns, ctx.topology));
  const wanted = options.shards;
  let record: SwitchoverRecord;
  if (open.length > 0) {
    record = open[0]!;
    const same = wanted && record.from === wanted.from && record.to === wanted.to && record.toEzone === options.to;
    if (!options.resume && !same) {
      throw new CheckFailedError(`switchover ${record.id} of shards ${record.from}-${record.to} from ${record.fromEzone} to ${record.toEzone} is unfinished (${record.state}): finish it first with drc switchover --resume`);
    }
    options.log.info({ switchover: record.id, state: record.state }, 'resuming switchover');
  } else {
    if (options.resume && !wanted) return { state: 'none', reason: 'no unfinished switchover to resume', steps: [] };
    if (!wanted || !options.to) throw new UsageError('--shards and --to are required (or --resume)');
    const started = await precheck(ctx, wanted, options.to);
    if ('state' in started) return started;
    record = started.record;
  }
  ctx.deadline = Date.now() + options.timeoutMs;
  return advance(ctx, record);
}

/** From the record's state to done: ban, fence, their waits, flip; a timeout or failed check before the flip rolls back. */
async function advance(ctx: RunContext, record: SwitchoverRecord): Promise<SwitchoverResult> {
  let r = record;
  let banAt: number | undefined;
  try {
    if (r.state === 'started') {
      r = await ban(ctx, r);
      banAt = Date.now();
    }
    // The fence follows the ban at once: both travel the old owner's stream, so the waits for the
    // ban everywhere and for the fence in the new owner overlap.
    if (r.state === 'banned') r = await fence(ctx, r);
    if (r.state === 'fenced') {
      await waitApplied(ctx, 'ban applied', r.banVersion!);
      await waitFence(ctx, r);
      await noQuarantine(ctx, r);
      r = await flip(ctx, r);
    }
  } catch (err) {
    if (!(err instanceof StepTimeout || err instanceof RollBack)) throw err;
    return result(ctx, await rollback(ctx, r, err.message), {});
  }
  if (r.state !== 'flipped') return result(ctx, r, {});
  const flipAt = Date.now();
  try {
    await waitApplied(ctx, 'flip applied', r.flipVersion!);
  } catch (err) {
    if (!(err instanceof StepTimeout)) throw err;
    return result(ctx, r, { reason: `flipped, but ${err.message}: run drc switchover --resume once replication runs` });
  }
  return result(ctx, await finish(ctx, r), banAt === undefined ? {} : { banToFlipMs: flipAt - banAt });
}

function result(ctx: RunContext, r: SwitchoverRecord, extra: Partial<SwitchoverResult>): SwitchoverResult {
  return { id: r.id, state: r.state, shards: `${r.from}-${r.to}`, from: r.fromEzone, to: r.toEzone, banVersion: r.banVersion, flipVersion: r.flipVersion, ...(r.reason ? { reason: r.reason } : {}), steps: ctx.steps, ...extra };
}
