/**
 * The `drc lag` matrix from what was read (pure): per origin → destination pair, end-to-end lag from
 * heartbeats, backlog from Kafka offsets, clock skew, and what an operator should look at when the
 * numbers are not to be trusted. Skew is only estimated from two live, caught-up streams: a stalled
 * stream's "lag" is silence, not transit time, and halving the difference of two silences gives a
 * made-up skew (seen: ±19 s with both daemons stopped).
 */

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
  /** Why skewMs is null, when it is. */
  skewReason?: string;
  /** What to look at when heartbeats stopped or never arrived (e.g. a daemon that is not running). */
  hint?: string;
  /** A server this pair needed could not be reached or read: the fields it would have given are null. */
  error?: string;
}

/** The last heartbeat of an origin applied in a destination, on the destination's clock (ms). */
export interface HeartbeatSeen {
  sentMs: number;
  appliedMs: number;
  /** The destination's clock when this was read. */
  nowMs: number;
}

/** Everything `drc lag` read, keyed `${origin}>${destination}` for pairs and by name otherwise. */
export interface LagInputs {
  ezones: string[];
  heartbeats: Map<string, HeartbeatSeen>;
  /** Applied position per pair: next Kafka offset and origin binlog position. */
  positions: Map<string, { next: bigint; pos: string | null }>;
  /** High-water mark of each origin's changes topic; absent when unknown. */
  highWater: Map<string, bigint>;
  /** Servers that could not be read: an ezone name or "kafka" → one line saying why. */
  unreachable: Map<string, string>;
  /** Ezones that were read but have no drc_meta yet. */
  uninitialised: Set<string>;
}

/** Heartbeats silent this many intervals mean the stream stopped (a transit takes a fraction of one). */
export const STALE_INTERVALS = 3;

interface Direction {
  seen: HeartbeatSeen | undefined;
  stale: boolean;
  silenceMs: number;
  backlog: number | null;
}

/** Build every ordered pair of distinct ezones. `heartbeatIntervalMs` is config.heartbeat.interval. */
export function lagMatrix(inputs: LagInputs, heartbeatIntervalMs: number): LagPair[] {
  const pairs: LagPair[] = [];
  for (const origin of inputs.ezones) {
    for (const destination of inputs.ezones) {
      if (origin !== destination) pairs.push(pairOf(inputs, origin, destination, heartbeatIntervalMs));
    }
  }
  return pairs;
}

function direction(inputs: LagInputs, origin: string, destination: string, intervalMs: number): Direction {
  const seen = inputs.heartbeats.get(`${origin}>${destination}`);
  const silenceMs = seen ? seen.nowMs - seen.appliedMs : Infinity;
  const pos = inputs.positions.get(`${origin}>${destination}`);
  const hw = inputs.highWater.get(origin);
  // Offsets not applied yet. Every committed Kafka transaction ends with a marker that takes an
  // offset but is never delivered: the one after the last applied message is not backlog.
  const pending = hw === undefined ? undefined : hw - (pos?.next ?? 0n) - 1n;
  const backlog = pending === undefined ? null : Number(pending > 0n ? pending : 0n);
  return { seen, stale: silenceMs > STALE_INTERVALS * intervalMs, silenceMs, backlog };
}

function pairOf(inputs: LagInputs, origin: string, destination: string, intervalMs: number): LagPair {
  const there = direction(inputs, origin, destination, intervalMs);
  const back = direction(inputs, destination, origin, intervalMs);
  const { seen } = there;
  // Fresh heartbeats: their transit time. Stale: the silence since the last one counts too.
  const lagMs = seen ? Math.max(0, Math.round(there.stale ? seen.nowMs - seen.sentMs : seen.appliedMs - seen.sentMs)) : null;
  const skewReason = skewProblem(inputs, origin, destination, there, back);
  const hint = hintFor(inputs, origin, destination, there);
  const error = [inputs.unreachable.get(destination), inputs.unreachable.get('kafka')].filter(Boolean).join('; ');
  return {
    origin,
    destination,
    lagMs,
    backlog: there.backlog,
    position: inputs.positions.get(`${origin}>${destination}`)?.pos ?? null,
    skewMs: skewReason === undefined ? Math.round((transit(there) - transit(back)) / 2) : null,
    ...(skewReason === undefined ? {} : { skewReason }),
    ...(hint === undefined ? {} : { hint }),
    ...(error ? { error } : {}),
  };
}

const transit = (d: Direction) => (d.seen ? d.seen.appliedMs - d.seen.sentMs : 0);
const seconds = (ms: number) => Math.round(ms / 1000);

/** Why the skew cannot be estimated for this pair (undefined: it can). */
function skewProblem(inputs: LagInputs, origin: string, destination: string, there: Direction, back: Direction): string | undefined {
  const unread = [origin, destination].find((e) => inputs.unreachable.has(e));
  if (unread) return `ezone ${unread} could not be read`;
  if (!there.seen || !back.seen) return `needs heartbeats both ways between ${origin} and ${destination}`;
  if (there.backlog === null || back.backlog === null) return 'backlog unknown (Kafka could not be read)';
  if (there.backlog > 0 || back.backlog > 0) return 'not estimated while a stream is backlogged';
  if (there.stale || back.stale) return 'not estimated while heartbeats are stale';
  return undefined;
}

/** Where to look when heartbeats stopped, or never came. */
function hintFor(inputs: LagInputs, origin: string, destination: string, there: Direction): string | undefined {
  if (inputs.unreachable.has(destination)) return undefined;
  if (inputs.uninitialised.has(destination)) return `drc_meta is not set up in ${destination} yet: has its daemon ever run?`;
  if (!there.seen) return `no heartbeat from ${origin} has been applied in ${destination}: are the daemons for ${origin} and ${destination} running?`;
  if (!there.stale) return undefined;
  // Messages waiting: the destination is not applying. None: the origin is not sending.
  const suspect = there.backlog !== null && there.backlog > 0 ? destination : origin;
  return `no heartbeat for ${seconds(there.silenceMs)} s: is the daemon for ${suspect} running?`;
}
