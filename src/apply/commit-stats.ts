/**
 * What a commit changes in an applier's statistics (model/stats.ts): counters, the applied position,
 * the last heartbeat seen. Pure bookkeeping, apart from reading the clock.
 */
import type { ApplierStats } from '../model/stats.js';
import type { Group } from './grouping.js';
import type { TargetTransaction } from './target-transaction.js';

export function newApplierStats(): ApplierStats {
  return {
    transactions: 0,
    groups: 0,
    rowChanges: 0,
    conflicts: 0,
    deadLetters: 0,
    quarantined: 0,
    retries: 0,
    lockYields: 0,
    nextOffset: undefined,
    lastOriginCommitTime: 0,
    lastAppliedAt: 0,
    paused: undefined,
    conflictsByReason: {},
    lastHeartbeat: undefined,
    queuedBytes: 0,
    inflight: 0,
  };
}

/** Count a committed group (`target` undefined: nothing was written). */
export function recordCommit(stats: ApplierStats, group: Group, target: Pick<TargetTransaction, 'log' | 'heartbeat'> | undefined, now = Date.now()): void {
  if (target?.heartbeat) {
    stats.lastHeartbeat = { sentAtMs: Date.parse(`${target.heartbeat.sentAt.replace(' ', 'T')}Z`), appliedAtMs: now };
  }
  for (const [reason, n] of target?.log.byReason ?? []) stats.conflictsByReason[reason] = (stats.conflictsByReason[reason] ?? 0) + n;
  stats.nextOffset = group.nextOffset;
  stats.transactions += group.txs.length;
  stats.rowChanges += group.rows;
  stats.groups++;
  stats.conflicts += target?.log.total ?? 0;
  stats.lastAppliedAt = now;
  const last = group.txs[group.txs.length - 1];
  if (last) stats.lastOriginCommitTime = last.chunk.ts;
}
