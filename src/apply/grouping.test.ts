import { describe, expect, it } from 'vitest';
import type { TxChunk } from '../model/envelope.js';
import { stepsOf } from './grouping.js';
import type { Unit } from './reassembler.js';

const chunk = (id: string, rows: number, seq = 0, last = true): TxChunk => ({
  v: 1,
  kind: 'tx',
  origin: 'a',
  id,
  pos: `p-${id}`,
  ts: 0,
  seq,
  last,
  changes: Array.from({ length: rows }, (_, i) => ({ schema: 's', table: 't', op: 'insert' as const, key: { id: i }, after: { id: i } })),
});
const tx = (offset: number, rows = 1): Unit => ({ kind: 'tx', chunk: chunk(`t${offset}`, rows), offset: String(offset), bytes: 10 });

describe('stepsOf', () => {
  it('groups consecutive transactions up to the limits; the group ends at the offset after its last message', () => {
    const steps = stepsOf([tx(0), tx(1), tx(2, 3), tx(3)], { groupMaxTransactions: 10, groupMaxRows: 4 });
    expect(steps.map((s) => (s.kind === 'group' ? [s.group.txs.length, s.group.rows, s.group.nextOffset] : s.kind))).toEqual([
      [3, 5, '3'],
      [1, 1, '4'],
    ]);
  });

  it('lets skipped messages advance the position, and streams big-transaction chunks on their own', () => {
    const units: Unit[] = [tx(0), { kind: 'skip', offset: '1', bytes: 1 }, { kind: 'part', chunk: chunk('big', 2, 0, false), offset: '2', bytes: 1 }, { kind: 'skip', offset: '3', bytes: 1 }];
    const steps = stepsOf(units, { groupMaxTransactions: 10, groupMaxRows: 100 });
    expect(steps.map((s) => (s.kind === 'group' ? `group ${s.group.txs.length} → ${s.group.nextOffset}` : `big ${s.unit.offset}`))).toEqual(['group 1 → 2', 'big 2', 'group 0 → 4']);
  });
});
