import type { RecordsBatch } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { committedRecords } from './partition-reader.js';

const TXN = 1 << 4;
const CONTROL = 1 << 5;

/** A record batch of `values` at `first`, by producer `pid`. */
function batch(first: number, pid: number, values: string[], attributes = TXN): RecordsBatch {
  return {
    firstOffset: BigInt(first),
    lastOffsetDelta: values.length - 1,
    producerId: BigInt(pid),
    attributes,
    records: values.map((v, i) => ({ offsetDelta: i, key: Buffer.from(`k${v}`), value: Buffer.from(v), headers: [], length: 0, attributes: 0, timestampDelta: 0n })),
  } as unknown as RecordsBatch;
}

/** A control batch (ABORT = 0, COMMIT = 1) at `at`. */
function marker(at: number, pid: number, type: 0 | 1): RecordsBatch {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type, 2);
  return { firstOffset: BigInt(at), lastOffsetDelta: 0, producerId: BigInt(pid), attributes: TXN | CONTROL, records: [{ offsetDelta: 0, key, value: null, headers: [] }] } as unknown as RecordsBatch;
}

const values = (r: ReturnType<typeof committedRecords>) => r.messages.map((m) => `${m.offset}:${m.value?.toString()}`);

describe('committedRecords (read_committed over one Fetch answer)', () => {
  it('delivers committed data in order, skips control records, and moves past them', () => {
    const r = committedRecords({ records: [batch(0, 1, ['a', 'b']), marker(2, 1, 1), batch(3, 1, ['c']), marker(4, 1, 1)], abortedTransactions: [] }, 0n);
    expect(values(r)).toEqual(['0:a', '1:b', '3:c']);
    expect(r.next).toBe(5n);
  });

  it('drops an aborted transaction whose ABORT marker is in the same answer, keeping the others', () => {
    const r = committedRecords(
      { records: [batch(0, 1, ['x']), batch(1, 2, ['ok']), marker(2, 1, 0), marker(3, 2, 1), batch(4, 1, ['y']), marker(5, 1, 1)], abortedTransactions: [{ producerId: 1n, firstOffset: 0n }] },
      0n,
    );
    expect(values(r)).toEqual(['1:ok', '4:y']);
  });

  it('drops an aborted transaction whose marker lies beyond this answer (a large transaction read in several fetches)', () => {
    const first = committedRecords({ records: [batch(10, 7, ['p1', 'p2']), batch(12, 7, ['p3'])], abortedTransactions: [{ producerId: 7n, firstOffset: 10n }] }, 10n);
    expect(values(first)).toEqual([]);
    expect(first.next).toBe(13n);
    const second = committedRecords({ records: [batch(13, 7, ['p4']), marker(14, 7, 0), batch(15, 8, ['next'])], abortedTransactions: [{ producerId: 7n, firstOffset: 10n }] }, 13n);
    expect(values(second)).toEqual(['15:next']);
    expect(second.next).toBe(16n);
  });

  it('closes an aborted transaction at its marker even when the library already removed its records (one producer, several aborts)', () => {
    // Batches 1 and 3 were aborted; the library dropped batch 3 (its marker is in the answer) but not 1.
    const r = committedRecords(
      {
        records: [batch(0, 5, ['a']), batch(1, 5, ['x']), marker(2, 5, 0), batch(3, 5, ['b']), marker(4, 5, 1), marker(6, 5, 0), batch(7, 5, ['c']), marker(8, 5, 1)],
        abortedTransactions: [
          { producerId: 5n, firstOffset: 1n },
          { producerId: 5n, firstOffset: 5n },
        ],
      },
      0n,
    );
    expect(values(r)).toEqual(['0:a', '3:b', '7:c']);
  });

  it('skips records before the offset asked for (a batch starting earlier) and answers nothing for an empty answer', () => {
    expect(values(committedRecords({ records: [batch(0, 1, ['a', 'b', 'c'], 0)], abortedTransactions: null }, 2n))).toEqual(['2:c']);
    expect(committedRecords(undefined, 9n)).toEqual({ messages: [], next: 9n });
  });

  it('keeps the data of a non-transactional producer even if its id shows up in an aborted list', () => {
    const r = committedRecords({ records: [batch(0, 3, ['plain'], 0)], abortedTransactions: [{ producerId: 3n, firstOffset: 0n }] }, 0n);
    expect(values(r)).toEqual(['0:plain']);
  });
});
