/**
 * Group commit (DESIGN.md section 4): consecutive small source transactions become one target
 * transaction, up to a number of transactions or rows; a chunk of a multi-chunk transaction ends the
 * group before it and is streamed on its own. Pure.
 */
import type { TxChunk } from '../model/envelope.js';
import type { Unit } from './reassembler.js';

/** Consecutive small source transactions applied as one target transaction. */
export interface Group {
  txs: { chunk: TxChunk; offset: string }[];
  /** The offset after the group's last message: the applied position once it committed. */
  nextOffset: string;
  rows: number;
}

export type Step =
  /** Dispatch a group (it may hold no transaction: skipped messages still advance the position). */
  | { kind: 'group'; group: Group }
  /** Stream a chunk of a big transaction (or drop one that will not complete). */
  | { kind: 'big'; unit: Extract<Unit, { kind: 'part' | 'abandon' }> };

export interface GroupLimits {
  groupMaxTransactions: number;
  groupMaxRows: number;
}

const next = (offset: string) => (BigInt(offset) + 1n).toString();

/** The steps of a batch of units, in order. */
export function stepsOf(units: Unit[], limits: GroupLimits): Step[] {
  const steps: Step[] = [];
  let group: Group | undefined;
  for (const u of units) {
    if (u.kind === 'part' || u.kind === 'abandon') {
      if (group) steps.push({ kind: 'group', group });
      group = undefined;
      steps.push({ kind: 'big', unit: u });
      continue;
    }
    group ??= { txs: [], nextOffset: next(u.offset), rows: 0 };
    if (u.kind === 'tx') {
      group.txs.push({ chunk: u.chunk, offset: u.offset });
      group.rows += u.chunk.changes.length;
    }
    group.nextOffset = next(u.offset);
    if (group.txs.length >= limits.groupMaxTransactions || group.rows >= limits.groupMaxRows) {
      steps.push({ kind: 'group', group });
      group = undefined;
    }
  }
  if (group) steps.push({ kind: 'group', group });
  return steps;
}
