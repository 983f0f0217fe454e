import { describe, expect, it } from 'vitest';
import { countArg } from '../../../bench/harness/guard-load.js';

describe('guard bench arguments', () => {
  it('takes whole numbers of at least the minimum and names the argument otherwise', () => {
    expect(countArg('rounds', '2')).toBe(2);
    expect(countArg('writers', 4)).toBe(4);
    for (const bad of ['0', 'abc', '', '1.5', '-3', '1e3']) expect(() => countArg('rounds', bad), bad).toThrow(`--rounds must be a whole number of at least 1, got '${bad}'`);
    expect(() => countArg('seconds', Number.NaN)).toThrow(/--seconds must be a whole number/);
  });
});
