import type { Config } from './schema.js';

/** The heartbeat table travels like user data and is versioned by its `updated_at`. */
const BUILT_IN_VERSION_COLUMNS: Record<string, string> = { 'drc_meta.heartbeat': 'updated_at' };

/** The LWW version column of `schema.table` under this config (null: none). */
export function versionColumnOf(config: Pick<Config, 'replicate' | 'tables'>, schema: string, table: string): string | null {
  const name = `${schema}.${table}`;
  const builtIn = BUILT_IN_VERSION_COLUMNS[name];
  if (builtIn) return builtIn;
  const override = config.tables[name]?.versionColumn;
  return override === undefined ? config.replicate.versionColumn : override;
}
