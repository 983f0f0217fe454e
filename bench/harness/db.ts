/** Small queries the phases share: counts, waiting for a count, table fingerprints. */
import type mysql from 'mysql2/promise';
import { sleep } from './options.js';

export async function count(db: mysql.Connection, table: string): Promise<number> {
  const [[r]] = await db.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(r!.n);
}

/** Poll until the table holds at least `n` rows; resolves to the time (ms) it did. */
export async function waitCount(db: mysql.Connection, table: string, n: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await count(db, table)) >= n) return Date.now();
    if (Date.now() > deadline) throw new Error(`${table}: fewer than ${n} rows after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Order-independent fingerprint of a table's rows (count and CRC sum of every column). */
export async function fingerprint(db: mysql.Connection, table: string, columns: string): Promise<string> {
  const [[r]] = await db.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n, COALESCE(SUM(CRC32(CONCAT_WS('|', ${columns}))), 0) AS h FROM ${table}`);
  return `${r!.n}:${r!.h}`;
}

/** The nearest-rank percentile of sorted values, rounded to 0.1 (NaN when there are none). */
export function percentile(sorted: number[], p: number): number {
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10 : NaN;
}
