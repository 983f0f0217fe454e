/**
 * Ownership (unitisation, DESIGN.md section 6): which ezone may write a row. Pure; the rule shapes
 * match the `ownership` section of the config.
 */
import { crc32 } from 'node:zlib';
import type { ForcedFlip, RoutingBook } from './routing.js';
import type { Row, WireValue } from './value.js';

export interface OwnershipRules {
  policy: 'report' | 'reject';
  shardCount: number;
  routing: { shards: string; ezone: string }[];
  tables: Record<string, { function: 'hash'; column: string } | { function: 'range'; column: string; ranges: { from: number; to: number; ezone: string }[] }>;
  global: Record<string, string>;
}

/** Shard of a shard-key value: CRC-32 of its text (UTF-8) mod shardCount — stable across ezones and versions. */
export function shardOf(value: WireValue, shardCount: number): number {
  const text = value !== null && typeof value === 'object' ? value.$b : String(value);
  return crc32(Buffer.from(text, 'utf8')) % shardCount;
}

export interface OwnershipOptions {
  /**
   * The versioned routing in force (drc_meta.routing, model/routing.ts). When it holds rows, hash
   * shards are routed by it instead of the config's `ownership.routing` (which only seeds it).
   */
  routing?: RoutingBook;
  /**
   * `local`: judging writes made in this ezone's own database (capture's wrong-write count): a banned
   * shard is nobody's to write. `incoming` (default): judging a change from another ezone.
   */
  mode?: 'local' | 'incoming';
  /** The topology (kafka.topicPrefix) of `routing`: an applier reads its forced switchovers by it (apply/target-transaction.ts). */
  topology?: string;
}

export class Ownership {
  private readonly routes: { from: number; to: number; ezone: string }[];

  constructor(
    private readonly rules: OwnershipRules,
    private readonly options: OwnershipOptions = {},
  ) {
    this.routes = rules.routing.map((r) => {
      const [a, b] = r.shards.split('-').map(Number);
      return { from: a as number, to: b ?? (a as number), ezone: r.ezone };
    });
  }

  get policy(): 'report' | 'reject' {
    return this.rules.policy;
  }

  /**
   * The owner of a row of `schema.table` (given its image), or undefined when the table has no
   * ownership rule or the row maps to no owner.
   */
  ownerOf(table: string, row: Row): string | undefined {
    const global = this.rules.global[table];
    if (global) return global;
    const rule = this.rules.tables[table];
    if (!rule) return undefined;
    const value = row[rule.column];
    if (value === undefined || value === null) return undefined;
    if (rule.function === 'range') {
      const n = Number(typeof value === 'object' ? NaN : value);
      return rule.ranges.find((r) => n >= r.from && n < r.to)?.ezone;
    }
    const shard = shardOf(value, this.rules.shardCount);
    const routing = this.options.routing;
    if (routing && routing.size > 0) return routing.route(shard)?.owner;
    return this.routes.find((r) => shard >= r.from && shard <= r.to)?.ezone;
  }

  /** The hash shard of a row of `table`, or undefined when the table is not hash-sharded or the key is NULL. */
  shardOfRow(table: string, row: Row): number | undefined {
    const rule = this.rules.tables[table];
    if (!rule || rule.function !== 'hash' || this.rules.global[table]) return undefined;
    const value = row[rule.column];
    return value === undefined || value === null ? undefined : shardOf(value, this.rules.shardCount);
  }

  /**
   * The routing version of this row's hash shard when drc_meta.routing routes it (capture ships it
   * with the change, RowChange.rv), else undefined.
   */
  routedVersion(table: string, row: Row): number | undefined {
    const routing = this.options.routing;
    if (!routing || routing.size === 0) return undefined;
    const shard = this.shardOfRow(table, row);
    return shard === undefined ? undefined : routing.route(shard)?.version;
  }

  /**
   * The forced switchover this change of `origin`, written under routing version `rv` (RowChange.rv),
   * at offset `offset` of its topic, arrives after: a row its old owner wrote before the forced flip that
   * the new owner did not have (RoutingBook.lateAfterForce). `flips`: the forced switchovers read in the
   * applying transaction (default: the book's, refreshed by polling).
   */
  lateAfterForce(table: string, row: Row, origin: string, rv: number, offset?: string, flips?: readonly ForcedFlip[]): ForcedFlip | undefined {
    const routing = this.options.routing;
    if (!routing || (flips ? flips.length === 0 : !routing.hasForced)) return undefined; // the common case: no row's shard to compute
    const shard = this.shardOfRow(table, row);
    return shard === undefined ? undefined : routing.lateAfterForce(shard, origin, rv, offset, flips);
  }

  /** The topology whose versioned routing (drc_meta.routing) judges incoming changes here; undefined when none does. */
  get routedTopology(): string | undefined {
    return this.options.routing !== undefined && this.options.mode !== 'local' ? this.options.topology : undefined;
  }

  /** Whether a write by `writer` to this row violates ownership (false when no owner is defined). */
  violates(table: string, row: Row, writer: string): { owner: string } | undefined {
    const routing = this.options.routing;
    const shard = routing && routing.size > 0 ? this.shardOfRow(table, row) : undefined;
    if (routing && shard !== undefined) {
      if (this.options.mode === 'local') {
        const verdict = routing.localWrite(shard, writer);
        return verdict.ok ? undefined : { owner: verdict.owner };
      }
      return routing.violation(shard, writer);
    }
    const owner = this.ownerOf(table, row);
    return owner !== undefined && owner !== writer ? { owner } : undefined;
  }
}
