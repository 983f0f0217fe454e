import { describe, expect, it } from 'vitest';
import { CheckFailedError, ConfigError, SandboxError, UsageError } from '../errors.js';
import { exitCodeOf } from './exit-codes.js';

describe('exitCodeOf', () => {
  it('maps bad usage and config to 2, anything else to 1 (DESIGN.md section 9)', () => {
    expect(exitCodeOf(new UsageError('unknown ezone'))).toBe(2);
    expect(exitCodeOf(new ConfigError('f', []))).toBe(2);
    expect(exitCodeOf(new CheckFailedError('2 differences'))).toBe(1);
    expect(exitCodeOf(new SandboxError('no port'))).toBe(1);
    expect(exitCodeOf(new Error('boom'))).toBe(1);
  });
});
