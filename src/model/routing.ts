/**
 * Versioned routing (DESIGN.md sections 6 and 12): which ezone owns each hash shard, whether the shard
 * is under a write ban (a switchover is moving it), and the routing version that last changed it.
 * Pure; the rows live in drc_meta.routing (one per shard, db/routing-store.ts) and replicate like the
 * heartbeat.
 *
 * A routing version is one change of one shard range, written in one transaction together with the
 * shards' rows, so an ezone that has applied version V has applied every change up to V made in the
 * same ezone before it (an origin's stream is applied in order).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** A shard is owned (its owner writes it) or banned (nobody writes it: a switchover is moving it). */
export type ShardState = 'owned' | 'banned';

/** One shard's routing row. */
export interface ShardRoute {
  shard: number;
  owner: string;
  state: ShardState;
  /** Routing version that last changed this shard. */
  version: number;
  /** Owner before that change (null for the seed): its writes made before the change are not violations. */
  prevOwner: string | null;
  /** While banned: the ezone the shard moves to. */
  movingTo: string | null;
}

/**
 * A forced switchover (`drc switchover --force`, drc_meta.switchovers): shards flipped from an
 * unreachable owner without ban or fence. What that owner wrote before it (routing version below
 * `version`) may still arrive: it is flagged where it does (RoutingBook.lateAfterForce).
 */
export interface ForcedFlip {
  switchover: string;
  from: number;
  to: number;
  fromEzone: string;
  toEzone: string;
  version: number;
  /**
   * The next offset of the old owner's changes topic the new owner had applied when the flip was
   * written (drc_meta.switchovers.cut_offset): the old owner's changes at or after it were not there
   * when the new owner took the shards — late; those before it were applied before the flip. Absent
   * (a flip written by a build before it, or the position was recorded for another topic): every change
   * written under an older routing version counts as late.
   */
  cut?: string;
}

/**
 * Whether a change of `origin`, at Kafka offset `offset` of its changes topic and written under routing
 * version `rv` of `shard`, is a late row of `flip`: its old owner wrote it before learning of the flip,
 * and the new owner had not applied it when the flip was written. Without an offset (a quarantined
 * transaction retried from the command line) only the routing version judges.
 */
export function lateFor(flip: ForcedFlip, shard: number, origin: string, rv: number, offset?: string): boolean {
  if (shard < flip.from || shard > flip.to || flip.fromEzone !== origin || rv >= flip.version) return false;
  return flip.cut === undefined || offset === undefined || BigInt(offset) >= BigInt(flip.cut);
}

/** A run of consecutive shards with the same owner and state (what `drc routing` prints). */
export interface RouteRange {
  shards: string;
  owner: string;
  state: ShardState;
  version: number;
  movingTo?: string;
}

/** `N` or `N-M` (inclusive) → [from, to]; undefined when malformed or reversed. */
export function parseShardRange(text: string): { from: number; to: number } | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return to >= from ? { from, to } : undefined;
}

/** The version-1 routing the config's `ownership.routing` describes (the seed of drc_meta.routing). */
export function seedRoutes(routing: readonly { shards: string; ezone: string }[], shardCount: number): ShardRoute[] {
  const byShard = new Map<number, ShardRoute>();
  for (const r of routing) {
    const range = parseShardRange(r.shards);
    if (!range) continue;
    for (let s = range.from; s <= Math.min(range.to, shardCount - 1); s++) {
      byShard.set(s, { shard: s, owner: r.ezone, state: 'owned', version: 1, prevOwner: null, movingTo: null });
    }
  }
  return [...byShard.values()].sort((a, b) => a.shard - b.shard);
}

/** Consecutive shards with the same owner, state and destination, as ranges. */
export function compressRoutes(routes: readonly ShardRoute[]): RouteRange[] {
  const out: RouteRange[] = [];
  let run: { from: number; to: number; r: ShardRoute; version: number } | undefined;
  const flush = () => {
    if (!run) return;
    const shards = run.from === run.to ? String(run.from) : `${run.from}-${run.to}`;
    out.push({ shards, owner: run.r.owner, state: run.r.state, version: run.version, ...(run.r.movingTo ? { movingTo: run.r.movingTo } : {}) });
  };
  for (const r of [...routes].sort((a, b) => a.shard - b.shard)) {
    if (run && r.shard === run.to + 1 && r.owner === run.r.owner && r.state === run.r.state && r.movingTo === run.r.movingTo) {
      run.to = r.shard;
      run.version = Math.max(run.version, r.version);
      continue;
    }
    flush();
    run = { from: r.shard, to: r.shard, r, version: r.version };
  }
  flush();
  return out;
}

/** Differences between the config's routing and the routing in force (for `drc doctor`). */
export function routingDrift(configured: readonly ShardRoute[], applied: readonly ShardRoute[]): RouteRange[] {
  const now = new Map(applied.map((r) => [r.shard, r]));
  const differing = configured.filter((c) => {
    const a = now.get(c.shard);
    return !a || a.owner !== c.owner || a.state !== 'owned';
  });
  return compressRoutes(differing.map((c) => now.get(c.shard) ?? { ...c, owner: '(none)' }));
}

/**
 * The routing in force, per shard, in memory. Capture keeps one in binlog order (the routing in force
 * when each local row was written); appliers and the TypeScript guard keep one refreshed from the
 * local drc_meta.routing.
 */
export class RoutingBook {
  private readonly shards = new Map<number, ShardRoute>();
  private maxVersion = 0;
  private forced: readonly ForcedFlip[] = [];

  constructor(routes: readonly ShardRoute[] = []) {
    this.replace(routes);
  }

  /** The highest routing version known (0: no routing rows). */
  get version(): number {
    return this.maxVersion;
  }

  get size(): number {
    return this.shards.size;
  }

  /** Replace the whole routing (a fresh read of drc_meta.routing). */
  replace(routes: readonly ShardRoute[]): void {
    this.shards.clear();
    this.maxVersion = 0;
    for (const r of routes) this.set(r);
  }

  /**
   * Take in a fresh read of drc_meta.routing without losing what is newer here: per shard, the row with
   * the higher version wins (versions only grow), so a read of a database lagging behind a change
   * learned elsewhere (the TypeScript guard following `<prefix>.routing`) does not undo it. Shards the
   * read lacks keep their row.
   */
  merge(routes: readonly ShardRoute[]): void {
    for (const r of routes) {
      const now = this.shards.get(r.shard);
      if (!now || r.version >= now.version) this.set(r);
    }
  }

  /** One shard's row changed (a binlog row of drc_meta.routing, or a read). */
  set(route: ShardRoute): void {
    this.shards.set(route.shard, route);
    this.maxVersion = Math.max(this.maxVersion, route.version);
  }

  /** The forced switchovers applied here (a fresh read of drc_meta.switchovers). */
  setForced(flips: readonly ForcedFlip[]): void {
    this.forced = flips;
  }

  /** Whether any forced switchover is known here (RoutingBook.lateAfterForce can answer something). */
  get hasForced(): boolean {
    return this.forced.length > 0;
  }

  /**
   * The forced switchover that took `shard` from `origin` after it wrote a change under routing version
   * `rv` (below the flip's) at offset `offset` of its topic, at or after the flip's cut: the change is a
   * row of the old owner the new owner did not have when it took the shards — two writers, for a while.
   * Undefined when none did. `flips`: the forced switchovers to judge by (default: those set here).
   */
  lateAfterForce(shard: number, origin: string, rv: number, offset?: string, flips: readonly ForcedFlip[] = this.forced): ForcedFlip | undefined {
    return flips.find((f) => lateFor(f, shard, origin, rv, offset));
  }

  route(shard: number): ShardRoute | undefined {
    return this.shards.get(shard);
  }

  routes(): ShardRoute[] {
    return [...this.shards.values()].sort((a, b) => a.shard - b.shard);
  }

  /**
   * Whether `writer` may write a row of `shard` in its own database: it owns the shard and the shard is
   * not banned. Shards without a routing row are writable everywhere (no owner is defined).
   */
  localWrite(shard: number, writer: string): { ok: true } | { ok: false; owner: string; banned: boolean } {
    const r = this.shards.get(shard);
    if (!r) return { ok: true };
    if (r.owner === writer && r.state === 'owned') return { ok: true };
    return { ok: false, owner: r.owner, banned: r.state === 'banned' };
  }

  /**
   * Whether a change written by `origin` and arriving here now is an ownership violation, judged by the
   * routing in force here: only for changes without the origin's own verdict (RowChange.rv, messages
   * of builds before it). Capture's verdict, made in binlog order in the origin, is the exact one.
   */
  violation(shard: number, origin: string): { owner: string } | undefined {
    const r = this.shards.get(shard);
    if (!r) return undefined;
    if (r.owner === origin) return undefined;
    return { owner: r.owner };
  }
}

/** A row of drc_meta.routing as read or decoded from the binlog → ShardRoute; undefined when not one. */
export function routeOfRow(row: Record<string, unknown>): ShardRoute | undefined {
  if (row.shard === undefined || row.owner === undefined || row.owner === null) return undefined;
  const state = String(row.state) === 'banned' ? 'banned' : 'owned';
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return { shard: Number(row.shard), owner: String(row.owner), state, version: Number(row.version), prevOwner: text(row.prev_owner), movingTo: text(row.moving_to) };
}

/**
 * The whole routing as a short text: runs of consecutive shards with the same row, as
 * `[from, to, owner, state, version, prevOwner, movingTo]`. Capture ships it with its resume point
 * (the routing in force there, capture/capture.ts), so a restart judges re-read rows by it.
 */
export function encodeRoutes(routes: readonly ShardRoute[]): string {
  const runs: [number, number, string, ShardState, number, string | null, string | null][] = [];
  for (const r of [...routes].sort((a, b) => a.shard - b.shard)) {
    const last = runs[runs.length - 1];
    if (last && last[1] === r.shard - 1 && last[2] === r.owner && last[3] === r.state && last[4] === r.version && last[5] === r.prevOwner && last[6] === r.movingTo) last[1] = r.shard;
    else runs.push([r.shard, r.shard, r.owner, r.state, r.version, r.prevOwner, r.movingTo]);
  }
  return JSON.stringify(runs);
}

/** ownership.shardCount's upper bound. */
const MAX_SHARDS = 1_000_000;

/** encodeRoutes' text → the routes; undefined when it is not one (never throws). */
export function decodeRoutes(text: string): ShardRoute[] | undefined {
  let runs: unknown;
  try {
    runs = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(runs)) return undefined;
  const out: ShardRoute[] = [];
  const name = (v: unknown) => v === null || (typeof v === 'string' && v.length > 0);
  for (const run of runs as unknown[]) {
    if (!Array.isArray(run) || run.length !== 7) return undefined;
    const [from, to, owner, state, version, prevOwner, movingTo] = run as unknown[];
    if (!Number.isInteger(from) || !Number.isInteger(to) || (to as number) < (from as number) || (from as number) < 0 || (to as number) >= MAX_SHARDS) return undefined;
    if (typeof owner !== 'string' || owner.length === 0 || (state !== 'owned' && state !== 'banned') || !Number.isInteger(version) || !name(prevOwner) || !name(movingTo)) return undefined;
    for (let s = from as number; s <= (to as number); s++) out.push({ shard: s, owner, state, version: version as number, prevOwner: prevOwner as string | null, movingTo: movingTo as string | null });
  }
  return out;
}

/** The prefix of packRoutes' text: encodeRoutes' text, deflated, in base64. */
const PACKED = 'z:';
/** The longest routing unpacked (far above a million shards' runs): a corrupt or hostile header inflates no further. */
const MAX_UNPACKED_BYTES = 64 * 1024 * 1024;

/**
 * The whole routing as short text for a Kafka header (capture's resume point): encodeRoutes' runs,
 * deflated (owners, states and versions repeat), in base64 — some hundreds of ranges fit in 3 KiB.
 */
export function packRoutes(routes: readonly ShardRoute[]): string {
  return PACKED + deflateRawSync(encodeRoutes(routes)).toString('base64');
}

/** packRoutes' text (or encodeRoutes' own, as builds before it shipped) → the routes; undefined when it is neither (never throws). */
export function unpackRoutes(text: string): ShardRoute[] | undefined {
  if (!text.startsWith(PACKED)) return decodeRoutes(text);
  try {
    return decodeRoutes(inflateRawSync(Buffer.from(text.slice(PACKED.length), 'base64'), { maxOutputLength: MAX_UNPACKED_BYTES }).toString('utf8'));
  } catch {
    return undefined;
  }
}
