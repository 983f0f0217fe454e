import { describe, expect, it } from 'vitest';
import * as errors from './errors.js';
import { ConfigError, DrcError, ErrorCode, FencedError, NoPrimaryKeyError, SchemaMismatchError, UnexpectedError, ValueRejectedError, withContext } from './errors.js';

describe('the error catalogue', () => {
  it('gives every class a constant code from ErrorCode and its own name', () => {
    const codes = new Set<string>(Object.values(ErrorCode));
    const classes = Object.entries(errors).filter(([, v]) => typeof v === 'function' && v.prototype instanceof DrcError) as [string, new (...a: never[]) => DrcError][];
    expect(classes.length).toBeGreaterThan(30);
    for (const [name, Class] of classes) {
      const err = (Class === ConfigError ? new ConfigError('f', []) : Reflect.construct(Class, ['x', {}])) as DrcError;
      expect(err.name, name).toBe(name);
      expect(codes.has(err.code), `${name}: ${err.code}`).toBe(true);
      expect(err).toBeInstanceOf(Error);
    }
  });

  it('says on the error itself whether retrying helps', () => {
    expect(new FencedError(undefined)).toMatchObject({ code: 'DRC_FENCED', fatal: true, retryable: false });
    expect(new NoPrimaryKeyError('app.t')).toMatchObject({ fatal: true, context: { table: 'app.t' } });
    expect(new UnexpectedError('?')).toMatchObject({ retryable: true, fatal: false });
    expect(new ValueRejectedError('Data too long')).toMatchObject({ retryable: false, fatal: false });
    expect(new SchemaMismatchError('no column c', { table: 'app.t' })).toMatchObject({ code: 'DRC_SCHEMA_MISMATCH', retryable: false, fatal: false });
    expect(new ConfigError('f.yaml', [{ path: 'kafka', message: 'missing' }]).message).toBe('invalid config f.yaml:\n  - kafka: missing');
  });

  it('keeps the cause, and withContext adds what the catching stage knows without overwriting', () => {
    const cause = new Error('driver');
    const err = new ValueRejectedError('Data too long', { cause, context: { column: 'name' } });
    expect(err.cause).toBe(cause);
    expect(withContext(err, { table: 'app.t', column: 'other', position: undefined })).toBe(err);
    expect(err.context).toEqual({ column: 'name', table: 'app.t' });
  });
});
