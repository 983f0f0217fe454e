/**
 * Dispatch of groups to parallel workers (DESIGN.md section 4). No I/O of its own, so unit tests drive
 * it without a database:
 * - at most `workers` groups in flight;
 * - a group waits while an uncommitted group shares a key (primary or unique) with it;
 * - each group gets the lowest free worker slot (its marker row; slots of concurrent groups differ);
 * - commits happen in source order: each group is handed the commit of the group dispatched before
 *   it, and must not COMMIT before that resolved — so the applied position is always a prefix.
 *
 * A recovery abandons everything in flight (`abandon`): the generation changes, and a group of an
 * older generation must not commit (its executor checks `isCurrent`).
 */
import { overlaps } from './write-set.js';

/** Runs one group on `slot` and commits it once `previous` (the predecessor's commit) resolved. */
export type Execute<G> = (group: G, slot: number, previous: Promise<void>, generation: number) => Promise<void>;

interface InFlight<G> {
  group: G;
  writeSet: Set<string>;
  slot: number;
  committed: Promise<void>;
  done: boolean;
}

export class GroupScheduler<G> {
  private inflight: InFlight<G>[] = [];
  private last: Promise<void> = Promise.resolve();
  private current = 0;

  constructor(
    private readonly workers: number,
    private readonly execute: Execute<G>,
    /** A dispatched group failed (it did not commit; nothing after it will). */
    private readonly onFailure: (err: Error) => void,
  ) {}

  /** Changes with every `abandon`. */
  get generation(): number {
    return this.current;
  }

  isCurrent(generation: number): boolean {
    return generation === this.current;
  }

  /** The commit of the last group dispatched: resolved once everything dispatched so far committed. */
  get lastCommit(): Promise<void> {
    return this.last;
  }

  /** Groups executing or waiting for their commit turn. */
  get size(): number {
    return this.inflight.filter((g) => !g.done).length;
  }

  /**
   * Start `group` once a worker is free and no uncommitted group overlaps `writeSet`. Resolves when it
   * started (true), or when an `abandon` happened since `generation` (false: it was not started).
   */
  async dispatch(group: G, writeSet: Set<string>, generation = this.current): Promise<boolean> {
    for (;;) {
      this.inflight = this.inflight.filter((g) => !g.done);
      const blocking = this.inflight.filter((g) => overlaps(g.writeSet, writeSet));
      if (blocking.length === 0 && this.inflight.length < this.workers) break;
      await Promise.race((blocking.length > 0 ? blocking : this.inflight).map((g) => g.committed.catch(() => undefined)));
    }
    if (generation !== this.current) return false;
    const used = new Set(this.inflight.map((g) => g.slot));
    let slot = 0;
    while (used.has(slot)) slot++;
    const entry: InFlight<G> = { group, writeSet, slot, committed: this.execute(group, slot, this.last, generation), done: false };
    entry.committed.then(
      () => (entry.done = true),
      (err: Error) => {
        entry.done = true;
        this.onFailure(err);
      },
    );
    this.last = entry.committed;
    this.inflight.push(entry);
    return true;
  }

  /** Wait until every dispatched group has committed or failed. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inflight.map((g) => g.committed));
  }

  /**
   * A recovery: from now on no group in flight may commit (the generation changes at once); resolves
   * once all of them ended, with nothing in flight.
   */
  async abandon(): Promise<void> {
    this.current++;
    await this.settle();
    this.inflight = [];
    this.last = Promise.resolve();
  }
}
