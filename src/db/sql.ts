/** SQL building blocks shared by every writer. */

export type Flavor = 'mariadb' | 'mysql';

export interface Statement {
  sql: string;
  params: unknown[];
}

/** A statement nobody waits for: it can travel with a later round trip; `check` may throw on its result. */
export interface DeferredStatement extends Statement {
  check?: (result: unknown) => void;
}

export const quoteId = (name: string) => `\`${name.replaceAll('`', '``')}\``;
export const tableRef = (schema: string, table: string) => `${quoteId(schema)}.${quoteId(table)}`;

/**
 * `INSERT … ON DUPLICATE KEY UPDATE` that works on both flavours: MariaDB rejects MySQL's row alias,
 * MySQL 8 deprecates VALUES(). `values` are SQL expressions (placeholders or functions).
 */
export function upsert(flavor: Flavor, table: string, values: Record<string, string>, update: string[], extraUpdate: string[] = []): string {
  const cols = Object.keys(values);
  const set = update.map((c) => (flavor === 'mysql' ? `${c} = new.${c}` : `${c} = VALUES(${c})`));
  return (
    `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => values[c]).join(', ')})${flavor === 'mysql' ? ' AS new' : ''} ` +
    `ON DUPLICATE KEY UPDATE ${[...set, ...extraUpdate].join(', ')}`
  );
}
