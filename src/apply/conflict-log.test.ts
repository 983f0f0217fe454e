import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConflictLog, RECORDED_VALUE_BYTES, recordedImage } from './conflict-log.js';

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
});
