import { describe, expect, it } from 'vitest';
import { reportedCharset } from './result-charsets.js';

describe('reportedCharset (mysql2 reads unconverted results as the binlog side ships them)', () => {
  it('reports every utf8mb3/utf8mb4 collation as utf8mb4, MariaDB uca1400 ids included', () => {
    for (const id of [33, 45, 46, 83, 192, 224, 255, 309, 576, 610, 1270]) expect(reportedCharset(id, 0)).toBe(45);
  });
  it('reports other charsets as binary (bytes), while the packet is read too (column names then decode as UTF-8)', () => {
    for (const id of [8, 47, 11, 13, 28, 95, 1, 24, 19, 35, 54, 60, 63]) expect(reportedCharset(id, 0)).toBe(63);
    expect(reportedCharset(8, undefined)).toBe(63);
  });
  it('leaves columns of drc_meta and the server’s schemas their label (text, whatever the server default charset)', () => {
    expect(reportedCharset(8, 0, 'drc_meta')).toBe(8);
    expect(reportedCharset(8, undefined, 'information_schema')).toBe(8);
    expect(reportedCharset(8, 0, 'app')).toBe(63);
    expect(reportedCharset(8, 0, '')).toBe(63);
  });
  it('leaves ENUM and SET columns their own label (members travel as text)', () => {
    expect(reportedCharset(8, 256)).toBe(8);
    expect(reportedCharset(8, 2048 | 1)).toBe(8);
    expect(reportedCharset(45, 256)).toBe(45);
  });
});
