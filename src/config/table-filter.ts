import type { Config } from './schema.js';
import { versionColumnOf } from './tables.js';

/** Schemas that are never replicated. */
const SYSTEM_SCHEMAS = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

/** How capture treats a table's rows. */
export type TableRole =
  | { kind: 'replicated'; versionColumn: string | null }
  /** drc_meta.tx_origin: the marker of a DRC-applied transaction. */
  | { kind: 'marker' }
  | { kind: 'ignored' };

export const MARKER_TABLE = { schema: 'drc_meta', table: 'tx_origin' };
export const HEARTBEAT_TABLE = { schema: 'drc_meta', table: 'heartbeat' };
/** drc_meta tables every ezone must hold alike: the versioned routing and the switchover state (issue 17). */
const REPLICATED_META_TABLES = new Set(['routing', 'switchovers']);

/** `a*.t?` style glob on `schema.table`. */
function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Decides, once per table and cached, whether and how its rows are captured. */
export class TableFilter {
  private readonly include: RegExp[];
  private readonly exclude: RegExp[];
  private readonly cache = new Map<string, TableRole>();

  constructor(private readonly config: Pick<Config, 'replicate' | 'tables'>) {
    this.include = config.replicate.include.map(globToRegExp);
    this.exclude = config.replicate.exclude.map(globToRegExp);
  }

  roleOf(schema: string, table: string): TableRole {
    const name = `${schema}.${table}`;
    let role = this.cache.get(name);
    if (!role) {
      role = this.decide(schema, table, name);
      this.cache.set(name, role);
    }
    return role;
  }

  private decide(schema: string, table: string, name: string): TableRole {
    if (schema === MARKER_TABLE.schema) {
      if (table === MARKER_TABLE.table) return { kind: 'marker' };
      // The heartbeat travels the same path as user data, so it measures the real lag.
      if (table === HEARTBEAT_TABLE.table) return { kind: 'replicated', versionColumn: versionColumnOf(this.config, schema, table) };
      // The routing travels the same path too: an ezone has applied a routing change once it has
      // applied everything its writer wrote before it.
      if (REPLICATED_META_TABLES.has(table)) return { kind: 'replicated', versionColumn: versionColumnOf(this.config, schema, table) };
      return { kind: 'ignored' };
    }
    if (SYSTEM_SCHEMAS.has(schema)) return { kind: 'ignored' };
    if (!this.include.some((r) => r.test(name)) || this.exclude.some((r) => r.test(name))) return { kind: 'ignored' };
    return { kind: 'replicated', versionColumn: versionColumnOf(this.config, schema, table) };
  }
}
