import type { Config } from './schema.js';

/** The drc_meta tables that travel like user data, and their version columns (routing: the routing version). */
const BUILT_IN_VERSION_COLUMNS: Record<string, string> = { 'drc_meta.heartbeat': 'updated_at', 'drc_meta.routing': 'version', 'drc_meta.switchovers': 'updated_at' };

/** The LWW version column of `schema.table` under this config (null: none). */
export function versionColumnOf(config: Pick<Config, 'replicate' | 'tables'>, schema: string, table: string): string | null {
  const name = `${schema}.${table}`;
  const builtIn = BUILT_IN_VERSION_COLUMNS[name];
  if (builtIn) return builtIn;
  const override = config.tables[name]?.versionColumn;
  return override === undefined ? config.replicate.versionColumn : override;
}
