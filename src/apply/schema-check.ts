/**
 * Does a change fit the target table here (DESIGN.md section 7)? The table exists with the same
 * primary key, and has every column of the incoming images — or, with `apply.onUnknownColumn: drop`,
 * the images are projected onto the columns it has. The incoming change is never modified: a
 * projected copy is returned (a retried group re-checks the original).
 */
import { SchemaMismatchError } from '../errors.js';
import type { RowChange } from '../model/change.js';
import type { Row } from '../model/value.js';
import type { TableInfo, TableSource } from './table-cache.js';
import type { IncomingChange } from './types.js';

export type UnknownColumnPolicy = 'pause' | 'drop';

/**
 * Pure: the change as it will be applied to a table with `info`, and the columns dropped from it.
 * Throws SchemaMismatchError when it does not fit.
 */
export function fitChange(change: RowChange, info: TableInfo, policy: UnknownColumnPolicy): { change: RowChange; dropped: string[] } {
  const table = `${change.schema}.${change.table}`;
  const keyColumns = Object.keys(change.key);
  if (keyColumns.some((c) => !info.primaryKey.includes(c)) || keyColumns.length !== info.primaryKey.length) {
    throw new SchemaMismatchError(`table ${table} has primary key (${info.primaryKey.join(', ')}) here, the change has (${keyColumns.join(', ')})`, { table });
  }
  const dropped = new Set<string>();
  for (const image of [change.before, change.after]) {
    for (const col of Object.keys(image ?? {})) {
      if (info.columns.has(col)) continue;
      if (policy === 'pause') throw new SchemaMismatchError(`table ${table} has no column ${col} here — add it, or set apply.onUnknownColumn: drop`, { table });
      dropped.add(col);
    }
  }
  if (dropped.size === 0) return { change, dropped: [] };
  const project = (image: Row | undefined) => (image ? Object.fromEntries(Object.entries(image).filter(([c]) => !dropped.has(c))) : undefined);
  const before = project(change.before);
  const after = project(change.after);
  return { change: { ...change, ...(before ? { before } : {}), ...(after ? { after } : {}) }, dropped: [...dropped] };
}

/**
 * Check a batch against the target's tables: their infos, and the batch as it will be applied.
 * `onDrop` hears of each column dropped (to warn once).
 */
export async function checkSchema(
  batch: IncomingChange[],
  tables: TableSource,
  policy: UnknownColumnPolicy,
  onDrop: (table: string, column: string) => void,
): Promise<{ infos: Map<string, TableInfo>; batch: IncomingChange[] }> {
  const infos = new Map<string, TableInfo>();
  const fitted: IncomingChange[] = [];
  for (const incoming of batch) {
    const { change } = incoming;
    const table = `${change.schema}.${change.table}`;
    let info = infos.get(table);
    if (!info) {
      info = (await tables.get(change.schema, change.table)) ?? undefined;
      if (!info) throw new SchemaMismatchError(`table ${table} does not exist here — create it (DDL is not replicated)`, { table });
      if (info.primaryKey.length === 0) throw new SchemaMismatchError(`table ${table} has no primary key here`, { table });
      infos.set(table, info);
    }
    const fit = fitChange(change, info, policy);
    for (const column of fit.dropped) onDrop(table, column);
    fitted.push(fit.change === change ? incoming : { ...incoming, change: fit.change });
  }
  return { infos, batch: fitted };
}
