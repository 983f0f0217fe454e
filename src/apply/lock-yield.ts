/**
 * Parked groups give their row locks back while some apply statement waits (the lock cycle InnoDB
 * cannot see; group-scheduler.ts commits groups in source order).
 *
 * A group that has run its statements and waits for its commit turn ("parked") holds its row locks.
 * If an earlier group — of this stream, or of another origin's stream whose commit turn depends on
 * this one — waits for a row held by a local transaction, and that transaction waits for a row the
 * parked group holds, nothing moves: InnoDB sees two waits, not the commit order that closes the
 * circle, until the apply session's lock wait times out (3 s), the stream fails and restarts from its
 * checkpoint, and the local transaction has waited as long. MariaDB's own parallel replication kills
 * the later transaction in that case; here every parked group rolls back when a round trip of a
 * stream's oldest uncommitted group has taken longer than YIELD_AFTER_MS, and runs again once its
 * turn has come (its predecessor committed: it is then never parked again). Only the oldest groups
 * count: in such a cycle, following the commit-turn waits back inside a stream always ends at that
 * stream's oldest group, which is then in a lock wait (else InnoDB would see the whole cycle); a slow
 * round trip of a later group (a big group on a busy server) makes nobody yield. Timing only, no I/O.
 */

/** An oldest group's round trip taking longer than this makes the parked groups yield their locks. */
export const YIELD_AFTER_MS = 750;

/** A parked group rolled back to give its locks away (retried at once when its turn comes). */
export class LocksYielded extends Error {
  constructor() {
    super('parked group yielded its locks to a waiting statement');
    this.name = 'LocksYielded';
  }
}

export class LockYield {
  /** The parked groups of this ezone's streams, each told to yield by calling it. */
  private readonly parked = new Set<() => void>();

  constructor(private readonly afterMs = YIELD_AFTER_MS) {}

  /**
   * Wait for `turn` (the predecessor's commit, resolved or rejected): 'turn' when it came, 'yield'
   * when an oldest group's slow round trip came first. Nothing stays registered once it answered.
   */
  park(turn: Promise<unknown>): Promise<'turn' | 'yield'> {
    return new Promise((resolve) => {
      const yieldNow = () => resolve('yield');
      this.parked.add(yieldNow);
      const came = () => {
        this.parked.delete(yieldNow);
        resolve('turn');
      };
      turn.then(came, came);
    });
  }

  /** Tell every group parked now to yield. */
  signal(): void {
    const now = [...this.parked];
    this.parked.clear();
    for (const yieldNow of now) yieldNow();
  }

  /** Groups parked right now (for tests). */
  get parkedCount(): number {
    return this.parked.size;
  }

  /** `work` (a round trip), signalling every `afterMs` while it lasts longer and `oldest()` says its group is its stream's oldest. */
  async watch<T>(work: Promise<T>, oldest: () => boolean = () => true): Promise<T> {
    const timer = setInterval(() => {
      if (oldest()) this.signal();
    }, this.afterMs);
    try {
      return await work;
    } finally {
      clearInterval(timer);
    }
  }
}
