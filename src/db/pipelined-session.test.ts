import { describe, expect, it } from 'vitest';
import { bySize } from './pipelined-session.js';

const st = (sql: string, ...params: unknown[]) => ({ sql, params });

describe('bySize', () => {
  it('keeps statements in order, in groups under the limit; a larger statement goes alone', () => {
    const a = st('INSERT a', 'x'.repeat(40));
    const b = st('INSERT b', 'y'.repeat(40));
    const big = st('INSERT big', Buffer.alloc(500));
    const c = st('UPDATE c', 1, 2);
    expect(bySize([a, b, big, c], 100)).toEqual([[a, b], [big], [c]]);
    expect(bySize([a, b, c])).toEqual([[a, b, c]]);
    expect(bySize([])).toEqual([]);
  });
});
