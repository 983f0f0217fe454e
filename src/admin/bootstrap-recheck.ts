/**
 * After the last chunk of `drc bootstrap`: the copied rows a concurrent delete overtook (README
 * "Adding an ezone": the in-chunk race), decided again once every stream transaction in flight during
 * the copy has landed.
 */
import type mysql from 'mysql2/promise';
import { keyFromJson } from '../model/types/canonical-key.js';
import type { Row } from '../model/value.js';
import type { Logger } from '../ops/logger.js';
import type { PlannedTable } from './bootstrap-preflight.js';
import { sleep } from './verify-chunks.js';
import { sourceHasOf } from './bootstrap-target-only.js';

/** What bootstrap asks of the target side beyond the CopyApplier port (apply/copy-applier.ts). */
export interface OvertakenRemover {
  removeOvertaken(schema: string, table: string, pk: string[], versionColumn: string, keys: Row[]): Promise<number>;
  /** For a table without a version column (apply/copy-applier.ts). */
  removeResurrected(schema: string, table: string, keys: Row[], sourceHas: (where: string, params: unknown[]) => Promise<boolean>): Promise<number>;
}

/**
 * Wait until TARGET applied a heartbeat of every origin after now (its database clock): every stream
 * transaction in flight now has committed by then (a stream commits in order). Gives up after
 * `timeoutMs` with a warning: the final comparison still finds what is left.
 */
export async function settleStream(target: mysql.Pool, origins: string[], timeoutMs: number, log: Logger): Promise<void> {
  if (origins.length === 0) return;
  const [[now]] = await target.query<mysql.RowDataPacket[]>("SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%d %H:%i:%s.%f') AS t");
  const since = String(now!.t); // as text: no round trip through a JS Date and its time zone
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [rows] = await target.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM drc_meta.lag WHERE applied_at > ? AND origin IN (${origins.map(() => '?').join(', ')})`, [since, ...origins]);
    if (Number(rows[0]?.n) >= origins.length) return;
    if (Date.now() > deadline) {
      log.warn({ origins, timeoutMs }, 'bootstrap: the target applied no fresh heartbeat of every origin in time; re-deciding copied rows against the deletes seen so far');
      return;
    }
    await sleep(200);
  }
}

/**
 * The copied rows of a table a concurrent delete may have overtaken: the keys of its tombstones in
 * TARGET (the stream's and local ones) recorded since the table's bootstrap began, decided again by
 * the applier. A key whose stored text cannot be read back is left to the final comparison.
 */
export async function removeOvertaken(target: mysql.Pool, applier: OvertakenRemover, p: PlannedTable, source?: mysql.Pool): Promise<number> {
  const { schema, table } = p.table;
  if (p.versionColumn === null) return source ? removeResurrected(target, source, applier, p) : 0;
  const [rows] = await target.query<mysql.RowDataPacket[]>(
    `SELECT key_json FROM drc_meta.applied_tombstones WHERE schema_name = ? AND table_name = ? AND deleted_at >= (SELECT MIN(started_at) FROM drc_meta.bootstrap WHERE schema_name = ? AND table_name = ?)
     UNION SELECT key_json FROM drc_meta.tombstones WHERE schema_name = ? AND table_name = ? AND deleted_at >= (SELECT MIN(started_at) FROM drc_meta.bootstrap WHERE schema_name = ? AND table_name = ?)`,
    [schema, table, schema, table, schema, table, schema, table],
  );
  const pk = p.table.pk.map((c) => c.name);
  const keys: Row[] = [];
  for (const r of rows) {
    const key = keyFromJson(String(r.key_json), pk);
    if (key) keys.push(key);
  }
  return applier.removeOvertaken(schema, table, pk, p.versionColumn, keys);
}


/**
 * A table without a version column has no tombstones: a stream's delete that found the key missing in
 * TARGET just before a chunk inserted it is on record only as a `delete-missing` conflict. Those keys,
 * recorded since the table's bootstrap began, are decided again (copy-applier.ts removeResurrected):
 * a row no change but the copy's wrote, that SOURCE no longer holds, is deleted.
 */
async function removeResurrected(target: mysql.Pool, source: mysql.Pool, applier: OvertakenRemover, p: PlannedTable): Promise<number> {
  const { schema, table } = p.table;
  const [rows] = await target.query<mysql.RowDataPacket[]>(
    `SELECT DISTINCT key_json FROM drc_meta.conflicts WHERE schema_name = ? AND table_name = ? AND reason = 'delete-missing'
       AND detected_at >= (SELECT MIN(started_at) FROM drc_meta.bootstrap WHERE schema_name = ? AND table_name = ?)`,
    [schema, table, schema, table],
  );
  const keys: Row[] = [];
  for (const r of rows) {
    try {
      const key = JSON.parse(String(r.key_json)) as unknown;
      if (key && typeof key === 'object' && !Array.isArray(key)) keys.push(key as Row);
    } catch {
      // unreadable: left to the final comparison
    }
  }
  return applier.removeResurrected(schema, table, keys, sourceHasOf(source, p.table));
}
