import { describe, expect, it } from 'vitest';
import { binlogVariantVerdicts } from './binlog-requirements.js';

const verdict = (vars: Record<string, string>) => Object.fromEntries(binlogVariantVerdicts(vars).map((v) => [v.setting, v]));

describe('binlogVariantVerdicts (MySQL 8 binlog variants DRC cannot decode, issue 14)', () => {
  it('passes a server without the variables (MariaDB), saying why', () => {
    const v = verdict({});
    expect(v.binlog_transaction_compression).toMatchObject({ ok: true, value: undefined, message: expect.stringContaining('does not exist') });
    expect(v.binlog_row_value_options).toMatchObject({ ok: true, value: undefined, message: expect.stringContaining('does not exist') });
  });

  it('refuses binlog_transaction_compression=ON, naming the setting and the fix', () => {
    for (const value of ['ON', 'on', '1']) {
      const v = verdict({ binlog_transaction_compression: value, binlog_row_value_options: '' });
      expect(v.binlog_transaction_compression!.ok).toBe(false);
      expect(v.binlog_transaction_compression!.message).toMatch(/binlog_transaction_compression=ON.*TRANSACTION_PAYLOAD_EVENT.*SET PERSIST binlog_transaction_compression=OFF/);
      expect(v.binlog_row_value_options!.ok).toBe(true);
    }
  });

  it('refuses binlog_row_value_options=PARTIAL_JSON', () => {
    const v = verdict({ binlog_transaction_compression: 'OFF', binlog_row_value_options: 'PARTIAL_JSON' });
    expect(v.binlog_row_value_options!.ok).toBe(false);
    expect(v.binlog_row_value_options!.message).toMatch(/PARTIAL_JSON.*PARTIAL_UPDATE_ROWS_EVENT.*SET PERSIST binlog_row_value_options=''/);
    expect(v.binlog_transaction_compression!.ok).toBe(true);
  });

  it('passes both off on MySQL 8, but says a session can still turn them on', () => {
    const v = verdict({ binlog_transaction_compression: 'OFF', binlog_row_value_options: '' });
    expect(v.binlog_transaction_compression).toMatchObject({ ok: true, message: expect.stringContaining('per session') });
    expect(v.binlog_row_value_options).toMatchObject({ ok: true, message: expect.stringContaining('per session') });
  });
});
