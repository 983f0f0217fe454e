/**
 * The statement of an applied TRUNCATE TABLE (apply/truncate.ts). Pure; values as parameters.
 */
import { quoteId, tableRef, type Statement } from '../../db/sql.js';

/** Epoch microseconds (a version) as the UTC text a DATE/DATETIME/TIMESTAMP compares with (sessions run in UTC). */
export function versionAsUtcText(version: string): string {
  const us = BigInt(version);
  const ms = us / 1000n;
  const micro = ((us % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${micro.toString().padStart(6, '0')}`;
}

/**
 * Delete every row not newer than the truncate: version at most the truncate's, or NULL (the lowest
 * version). Without a version to compare (`versionColumn` null), every row.
 */
export function truncateRows(schema: string, table: string, versionColumn: string | null, version: string | undefined): Statement {
  if (versionColumn === null || version === undefined) return { sql: `DELETE FROM ${tableRef(schema, table)}`, params: [] };
  const c = quoteId(versionColumn);
  return { sql: `DELETE FROM ${tableRef(schema, table)} WHERE ${c} <= ? OR ${c} IS NULL`, params: [versionAsUtcText(version)] };
}
