/**
 * The catch-up wait for local capture (DESIGN.md section 5 rule 4, the race), shared by every read of
 * local tombstones a decision depends on: the binlog position is read in the same round trip as the
 * rows the decision read (after them, so a local delete that made them what they are is at or before
 * it), and the tombstones are read only once local capture has passed it — the tombstone of a local
 * delete committed before is then recorded. Without a wait (`'not-needed'`: a repair, a CLI process)
 * nothing is read and nothing waited for.
 */
import type mysql from 'mysql2/promise';
import type { PipelinedSession } from '../db/pipelined-session.js';
import { gtidPositionOf, gtidPositionSql } from '../db/connect.js';
import type { Flavor, Statement } from '../db/sql.js';
import type { Coverage } from './types.js';

/** How long a decision waits for local capture. */
export const COVERAGE_TIMEOUT_MS = 30_000;

/** Where local capture's progress is read and waited for: the server's flavor and the applier's coverage. */
export interface LocalCoverage {
  flavor: Flavor;
  coverage: Coverage;
}

/** The statement reading the binlog position, to send last in the round trip of the reads (none without a wait). Pure. */
export const positionRead = ({ flavor, coverage }: LocalCoverage): Statement[] => (coverage === 'not-needed' ? [] : [{ sql: gtidPositionSql(flavor), params: [] }]);

/** The position read by `positionRead` (its result rows; undefined without a wait). Pure. */
export const positionOf = (coverage: Coverage, rows: unknown): string | undefined => (coverage === 'not-needed' || rows === undefined ? undefined : gtidPositionOf(rows as mysql.RowDataPacket[]));

/** Resolves once local capture has passed `position` (at once without a wait or a position); rejects (CaptureBehindError) after `timeoutMs`. */
export async function waitCovered(coverage: Coverage, position: string | undefined, timeoutMs = COVERAGE_TIMEOUT_MS): Promise<void> {
  if (coverage === 'not-needed' || position === undefined) return;
  await coverage.wait.waitUntilCovered(position, timeoutMs);
}

/**
 * `reads` (locks, rows a decision depends on) with the binlog position read after them, resolving with
 * their results once local capture has passed that position; without `local`, or without a wait, the
 * reads alone. Rejects (CaptureBehindError) after `timeoutMs`.
 */
export async function readCovered(session: PipelinedSession, reads: Statement[], local: LocalCoverage | undefined, timeoutMs = COVERAGE_TIMEOUT_MS): Promise<unknown[]> {
  if (!local || local.coverage === 'not-needed') return session.roundTrip(reads);
  const results = await session.roundTrip([...reads, ...positionRead(local)]);
  await waitCovered(local.coverage, positionOf(local.coverage, results[reads.length]), timeoutMs);
  return results.slice(0, reads.length);
}
