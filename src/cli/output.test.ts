import { describe, expect, it } from 'vitest';
import { formatTable } from './output.js';

describe('formatTable', () => {
  it('aligns columns and shows missing values as -', () => {
    const text = formatTable(
      [
        { origin: 'a', destination: 'b', lagMs: 12 },
        { origin: 'long-name', destination: 'c', lagMs: null },
      ],
      ['origin', 'destination', 'lagMs'],
    );
    expect(text.split('\n')).toEqual(['origin     destination  lagMs', 'a          b            12', 'long-name  c            -']);
  });
});
