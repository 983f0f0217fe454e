/**
 * The claims of unique values that local writes release (capture hands over the before-images of
 * local updates and deletes, model/ports.ts LocalReleases). A local image holds its values in the
 * table, where the applier sees it; once a local update or delete releases them, only a recorded claim
 * remembers it — without one, an older claimant arriving later would take the value here while every
 * ezone that saw the local image first refused it (unique-claims.ts).
 */
import type mysql from 'mysql2/promise';
import type { QueryConnection } from '../db/pipelined-session.js';
import type { LocalReleases, ReleasedImage } from '../model/ports.js';
import { typeOf } from '../model/types/row.js';
import { versionOf } from '../model/version.js';
import { LOOKUP_COLUMN, recordClaimsStatement, valueWeights, weightColumn } from './sql/claims.js';
import { TableCache } from './table-cache.js';
import { valuesOf, weightedColumns, weightsOfImage } from './unique-claims-state.js';
import { rankOf, type ClaimRecord } from './unique-claims.js';

const PER_STATEMENT = 500;

export class LocalClaimRecorder implements LocalReleases {
  private readonly tables: TableCache;
  /** Whether a table has unique keys, once known (unknown tables are collected, then sorted out here). */
  private readonly known = new Map<string, boolean>();

  constructor(
    private readonly pool: QueryConnection,
    private readonly ezone: string,
    private readonly versionColumnOf: (schema: string, table: string) => string | null,
  ) {
    this.tables = new TableCache(pool);
  }

  wants(schema: string, table: string): boolean {
    return this.known.get(`${schema}.${table}`) ?? true;
  }

  async record(images: ReleasedImage[]): Promise<void> {
    const byTable = new Map<string, ReleasedImage[]>();
    for (const r of images) byTable.set(`${r.schema}.${r.table}`, [...(byTable.get(`${r.schema}.${r.table}`) ?? []), r]);
    const claims: ClaimRecord[] = [];
    for (const [qualified, released] of byTable) {
      const { schema, table } = released[0] as ReleasedImage;
      const info = await this.tables.get(schema, table);
      const versionColumn = this.versionColumnOf(schema, table);
      this.known.set(qualified, !!info && info.uniqueKeys.length > 0 && versionColumn !== null);
      if (!info || info.uniqueKeys.length === 0 || versionColumn === null) continue;
      const weighted = weightedColumns(info);
      for (let i = 0; i < released.length; i += PER_STATEMENT) {
        const chunk = released.slice(i, i + PER_STATEMENT);
        const entries = chunk.map(({ image }) => ({ values: image, columns: weightsOfImage(weighted, image) }));
        const weights = new Map<number, mysql.RowDataPacket>();
        if (weighted.length > 0) {
          const s = valueWeights(entries, info);
          const [rows] = (await this.pool.query(s.sql, s.params)) as [mysql.RowDataPacket[], unknown];
          for (const r of rows) weights.set(Number(r[LOOKUP_COLUMN]), r);
        }
        chunk.forEach(({ image }, j) => {
          const w = weights.get(j);
          const rank = rankOf(versionOf(image[versionColumn], typeOf(info.columnTypes, versionColumn)), image, info.columnTypes);
          const key = Object.fromEntries(info.primaryKey.map((c) => [c, image[c] ?? null]));
          for (const v of valuesOf(schema, table, info, image, (c, p) => (w?.[weightColumn(c, p)] == null ? undefined : String(w[weightColumn(c, p)])))) {
            claims.push({ id: v.id, schema, table, columns: v.columns, rank, key, origin: this.ezone });
          }
        });
      }
    }
    for (let i = 0; i < claims.length; i += PER_STATEMENT) {
      const s = recordClaimsStatement(claims.slice(i, i + PER_STATEMENT), 'local_claims');
      if (s) await this.pool.query(s.sql, s.params);
    }
  }
}
