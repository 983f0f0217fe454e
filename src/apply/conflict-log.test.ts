import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConflictLog, KEPT_BYTES, KEPT_FOR_PUBLISHING, RECORDED_VALUE_BYTES, recordedImage } from './conflict-log.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('conflict images', () => {
  it('keeps values up to the bound whole and records larger ones as their size and SHA-256', () => {
    const big = Buffer.alloc(RECORDED_VALUE_BYTES + 1, 7);
    const edge = Buffer.alloc(RECORDED_VALUE_BYTES, 1);
    const cjk = '字'.repeat(RECORDED_VALUE_BYTES / 3 + 1); // fewer UTF-16 units than the bound, more bytes
    const row = { id: 1, b: { $b: big.toString('base64') }, e: { $b: edge.toString('base64') }, t: cjk, s: 'small', n: null };
    const image = recordedImage(row);
    expect(image).toEqual({
      id: 1,
      b: { $omitted: { bytes: big.length, sha256: sha(big) } },
      e: { $b: edge.toString('base64') },
      t: { $omitted: { bytes: Buffer.byteLength(cjk), sha256: sha(Buffer.from(cjk)) } },
      s: 'small',
      n: null,
    });
    expect(row.b).toEqual({ $b: big.toString('base64') }); // the row itself is untouched (it is applied whole)
    const small = { id: 2, s: 'x' };
    expect(recordedImage(small)).toBe(small);
    expect(recordedImage(null)).toBeNull();
  });

  it('records both images bounded, so the INSERT stays small whatever the row size', () => {
    const log = new ConflictLog('a');
    const huge = { $b: Buffer.alloc(20 << 20).toString('base64') };
    log.record({
      incoming: { origin: 'b', txId: 'tx', change: { schema: 's', table: 't', op: 'insert', key: { id: 1 }, after: { id: 1, v: huge }, version: '2' } } as never,
      reason: 'insert-exists',
      decision: 'applied',
      local: { id: 1, v: huge },
      versionColumn: null,
    });
    const [statement] = log.statements();
    const bytes = statement!.params.reduce<number>((n, p) => n + (typeof p === 'string' ? Buffer.byteLength(p) : 8), 0);
    expect(bytes).toBeLessThan(2000);
    expect(JSON.parse(String(statement!.params[10]))).toEqual({ id: 1, v: { $omitted: { bytes: 20 << 20, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } } });
  });

  it('keeps, across flushes, at most KEPT_FOR_PUBLISHING records for publishing, and counts every one by reason and table', () => {
    const log = new ConflictLog('a');
    const note = (id: number, table = 't', schema = 's') => ({
      incoming: { origin: 'b', txId: 'tx', change: { schema, table, op: 'update', key: { id }, after: { id }, version: '2' } } as never,
      reason: 'forced-late' as const,
      decision: 'applied' as const,
      local: null,
      versionColumn: null,
    });
    for (let id = 0; id < KEPT_FOR_PUBLISHING - 10; id++) log.record(note(id));
    expect(log.statements()).toHaveLength(Math.ceil((KEPT_FOR_PUBLISHING - 10) / 500));
    log.flushed();
    expect(log.statements()).toEqual([]); // written: not again
    for (let id = 0; id < 30; id++) log.record(note(id, 'u'));
    log.flushed();
    expect(log.record(note(1, 'heartbeat', 'drc_meta'))).toBeUndefined(); // DRC's own rows are no conflict
    const last = log.record(note(99, 'v'));
    expect(last?.table).toBe('v');
    expect(log.records).toHaveLength(KEPT_FOR_PUBLISHING + 1);
    expect(log.records.filter((r) => r.table === 'u')).toHaveLength(10);
    expect(log.omitted).toBe(20);
    expect(log.total).toBe(KEPT_FOR_PUBLISHING + 21);
    expect(log.byReason.get('forced-late')).toBe(KEPT_FOR_PUBLISHING + 21);
    expect([...log.tablesOf('forced-late')]).toEqual(['s.t', 's.u', 's.v']);
    expect(log.statements()).toHaveLength(1); // only the unwritten one
  });

  it('keeps no more than KEPT_BYTES of images for publishing: wide rows are counted, not held', () => {
    const log = new ConflictLog('a');
    const wide = 'x'.repeat(60_000); // under RECORDED_VALUE_BYTES: recorded whole
    const n = Math.ceil(KEPT_BYTES / (2 * wide.length)) + 10;
    for (let id = 0; id < n; id++) {
      log.record({ incoming: { origin: 'b', txId: 'tx', change: { schema: 's', table: 't', op: 'update', key: { id }, after: { id, v: wide }, version: '2' } } as never, reason: 'forced-late', decision: 'applied', local: { id, v: wide }, versionColumn: null });
    }
    log.flushed();
    expect(log.records.length).toBeLessThan(n);
    expect(log.records.length).toBeGreaterThan(n - 20);
    expect(log.records.length + log.omitted).toBe(n);
    expect(log.total).toBe(n);
  });
});
