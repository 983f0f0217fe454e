import { describe, expect, it } from 'vitest';
import { positionCovers, transactionCovered, withGtid } from './position.js';
import { compareVersions, maxVersion, versionFromMillis, versionOf } from './version.js';

describe('versions', () => {
  it('turns temporal text (UTC) into epoch microseconds, keeping every digit', () => {
    expect(versionOf('2024-01-02 00:00:00.5')).toBe(String(Date.UTC(2024, 0, 2) * 1000 + 500_000));
    expect(versionOf('2024-01-02 03:04:05.000001')).toBe(String(Date.UTC(2024, 0, 2, 3, 4, 5) * 1000 + 1));
    expect(versionOf('2024-01-02')).toBe(String(Date.UTC(2024, 0, 2) * 1000));
    expect(versionOf('0000-00-00 00:00:00')).toBe('0');
  });

  it('keeps integers exact, beyond 2^53 too', () => {
    expect(versionOf(42)).toBe('42');
    expect(versionOf('18446744073709551615')).toBe('18446744073709551615');
    expect(compareVersions('18446744073709551615', '18446744073709551614')).toBe(1);
  });

  it('has no version for NULL, and none for values that cannot be one', () => {
    expect(versionOf(null)).toBeNull();
    expect(versionOf('not a time')).toBeUndefined();
    expect(versionOf(1.5)).toBeUndefined();
    expect(versionOf({ $b: 'AA==' })).toBeUndefined();
  });

  it('orders versions with null first', () => {
    expect(compareVersions(null, '0')).toBe(-1);
    expect(compareVersions('5', null)).toBe(1);
    expect(compareVersions(null, undefined)).toBe(0);
    expect(maxVersion('10', '9')).toBe('10');
    expect(versionFromMillis(1500)).toBe('1500000');
  });
});

describe('positions', () => {
  it('tells whether a transaction (by its id) is at or before a position', () => {
    expect(transactionCovered('0-1-10', '0-1-10')).toBe(true);
    expect(transactionCovered('0-1-9', '0-1-10')).toBe(false);
    // `<position before it>+`: the transaction after that position.
    expect(transactionCovered('file:b.000001:400', 'file:b.000001:400+')).toBe(false);
    expect(transactionCovered('file:b.000001:500', 'file:b.000001:400+')).toBe(true);
  });

  it('compares MariaDB GTID positions per domain', () => {
    expect(positionCovers('1-1-10', '1-1-10')).toBe(true);
    expect(positionCovers('1-1-10', '1-1-11')).toBe(false);
    expect(positionCovers('0-5-3,1-1-10', '1-1-9')).toBe(true);
    expect(positionCovers('1-1-10', '0-5-3,1-1-9')).toBe(false); // a domain we never saw
    expect(positionCovers('1-1-10', '')).toBe(true);
  });

  it('compares MySQL GTID sets as interval containment, tags included', () => {
    const u = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
    expect(positionCovers(`${u}:1-100`, `${u}:1-50:60-70`)).toBe(true);
    expect(positionCovers(`${u}:1-50:52-100`, `${u}:1-60`)).toBe(false);
    expect(positionCovers(`${u}:1-49,${u}:50-60`, `${u}:1-60`)).toBe(true);
    expect(positionCovers(`${u}:1-5:tag_a:1-3`, `${u}:tag_a:2`)).toBe(true);
    expect(positionCovers(`${u}:1-5`, `${u}:tag_a:2`)).toBe(false);
  });

  it('compares file positions', () => {
    expect(positionCovers('file:binlog.000002:4', 'file:binlog.000001:900')).toBe(true);
    expect(positionCovers('file:binlog.000001:100', 'file:binlog.000001:900')).toBe(false);
  });
});

describe('withGtid', () => {
  it('moves a MariaDB domain to the given GTID and keeps the others', () => {
    expect(withGtid('0-5-3,1-1-10', '1-1-11')).toBe('0-5-3,1-1-11');
    expect(withGtid('1-1-10', '2-2-1')).toBe('1-1-10,2-2-1');
    expect(withGtid('', '1-1-1')).toBe('1-1-1');
    expect(positionCovers(withGtid('1-1-10', '1-1-11'), '1-1-11')).toBe(true);
  });

  it('adds a MySQL GTID to a set', () => {
    const u = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
    expect(positionCovers(withGtid(`${u}:1-10`, `${u}:11`), `${u}:1-11`)).toBe(true);
  });
});
