import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { ensureMetaSchema } from '../db/meta-schema.js';
import { CapturePreflightError } from '../errors.js';
import { REQUIRED_BINLOG_SETTINGS, binlogVariantSettings, binlogVariantVerdicts, tablesWithoutPrimaryKey } from '../db/binlog-requirements.js';

/**
 * Refuse to capture from a server that would lose or misread changes (binlog settings, MySQL 8's
 * compressed transactions and partial JSON updates); create drc_meta.
 * Every failure names the setting or table and the fix. Tables without a primary key are not a
 * reason to stop: they are returned (capture refuses them alone, by name, and every other table
 * replicates).
 */
export async function checkCaptureServer(pool: mysql.Pool, config: Pick<Config, 'replicate' | 'tables'>, ezone: string): Promise<{ noPrimaryKey: string[] }> {
  const [[vars]] = await pool.query<mysql.RowDataPacket[]>(
    'SELECT @@log_bin AS log_bin, @@binlog_format AS binlog_format, @@binlog_row_image AS binlog_row_image, @@binlog_row_metadata AS binlog_row_metadata',
  );
  const wrong = Object.entries(REQUIRED_BINLOG_SETTINGS).filter(([k, v]) => String(vars?.[k]).toUpperCase() !== v);
  if (wrong.length > 0) {
    const list = wrong.map(([k, v]) => `${k}=${String(vars?.[k])} (needs ${v})`).join(', ');
    throw new CapturePreflightError(`ezone ${ezone}: ${list} — set them in the server config (SET GLOBAL for the dynamic ones)`);
  }
  // MySQL 8: settings under which the binlog holds events DRC cannot decode (a session may still set
  // them: capture also stops at the first such event, capture/binlog-event-types.ts).
  const refused = binlogVariantVerdicts(await binlogVariantSettings(pool)).filter((v) => !v.ok);
  if (refused.length > 0) {
    throw new CapturePreflightError(`ezone ${ezone}: ${refused.map((v) => v.message).join('; ')}`, { setting: refused.map((v) => v.setting).join(',') });
  }
  const noPrimaryKey = await tablesWithoutPrimaryKey(pool, config);
  const conn = await pool.getConnection();
  try {
    await ensureMetaSchema(conn);
  } finally {
    conn.release();
  }
  return { noPrimaryKey };
}
