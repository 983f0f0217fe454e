/**
 * `drc doctor`'s least-privilege check (pure: SHOW GRANTS lines in, findings out). DRC's account
 * needs exactly what the README's "Security" section lists, and nothing more:
 * - REPLICATION SLAVE (read the binlog) and REPLICATION CLIENT / MariaDB's BINLOG MONITOR (read the
 *   binlog position and GTID state) on *.*;
 * - SELECT, INSERT, UPDATE, DELETE on the replicated schemas (on *.*, or per schema / table);
 * - ALL on drc_meta (its own schema: positions, markers, tombstones, conflicts, DDL at upgrade);
 * - optionally TRIGGER on replicated schemas (so that doctor can read trigger bodies).
 * Anything else — SUPER, ALL PRIVILEGES on *.*, FILE, PROCESS, CREATE USER, GRANT OPTION, DDL on
 * application schemas … — fails the check: a stolen DRC credential must not be able to do more than
 * DRC does.
 */

export interface PrivilegeFindings {
  /** What DRC needs and the account lacks. */
  missing: string[];
  /** Privileges beyond DRC's list, as `PRIV on object`. */
  excess: string[];
}

const GLOBAL_ALLOWED = new Set(['USAGE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLICATION SLAVE', 'REPLICATION CLIENT', 'BINLOG MONITOR']);
const SCHEMA_ALLOWED = new Set(['USAGE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRIGGER']);
const DML = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];

interface Grant {
  privileges: string[];
  object: string;
  grantOption: boolean;
}

/** One `GRANT … ON … TO …` line parsed; undefined for role grants and lines that grant no privileges. */
export function parseGrant(line: string): Grant | undefined {
  const m = /^GRANT\s+(.+?)\s+ON\s+((?:`(?:[^`]|``)*`|[^\s.]+)\.(?:`(?:[^`]|``)*`|[^\s]+))\s+TO\s+(.*)$/is.exec(line.trim());
  if (!m) return undefined;
  const privileges = splitTopLevel(m[1]!).map((p) => p.replace(/\s*\(.*\)$/s, '').trim().toUpperCase());
  return { privileges, object: m[2]!.replace(/^(?:PROCEDURE|FUNCTION)\s+/i, ''), grantOption: /WITH\s+GRANT\s+OPTION/i.test(m[3]!) };
}

/** Split on commas outside parentheses (column lists: `SELECT (a, b), INSERT`). */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

const unquote = (name: string) => name.replace(/^`|`$/g, '').replace(/``/g, '`');

/** What the grants lack and what they give beyond DRC's list. */
export function privilegeFindings(lines: string[]): PrivilegeFindings {
  const grants = lines.map(parseGrant).filter((g): g is Grant => g !== undefined);
  const excess: string[] = [];
  const globalPrivs = new Set<string>();
  let metaAll = false;
  const dmlBySchema = new Map<string, Set<string>>();
  for (const g of grants) {
    const [schema, table] = g.object.split(/\.(?=(?:[^`]*`[^`]*`)*[^`]*$)/).map(unquote) as [string, string];
    const all = g.privileges.includes('ALL PRIVILEGES') || g.privileges.includes('ALL');
    if (g.grantOption) excess.push(`GRANT OPTION on ${g.object}`);
    if (schema === '*') {
      for (const p of all ? ['ALL PRIVILEGES'] : g.privileges) {
        if (GLOBAL_ALLOWED.has(p)) globalPrivs.add(p);
        else excess.push(`${p} on *.*`);
      }
      continue;
    }
    if (schema.toLowerCase() === 'drc_meta') {
      if (all && table === '*') metaAll = true;
      continue; // DRC's own schema: anything goes
    }
    for (const p of all ? ['ALL PRIVILEGES'] : g.privileges) {
      if (!SCHEMA_ALLOWED.has(p)) excess.push(`${p} on ${g.object}`);
      else if (DML.includes(p)) {
        const set = dmlBySchema.get(schema) ?? new Set<string>();
        set.add(p);
        dmlBySchema.set(schema, set);
      }
    }
  }
  const missing: string[] = [];
  if (!globalPrivs.has('REPLICATION SLAVE')) missing.push('REPLICATION SLAVE on *.*');
  if (!globalPrivs.has('REPLICATION CLIENT') && !globalPrivs.has('BINLOG MONITOR')) missing.push('REPLICATION CLIENT (MariaDB: BINLOG MONITOR) on *.*');
  const globalDml = DML.every((p) => globalPrivs.has(p));
  const someSchemaDml = [...dmlBySchema.values()].some((s) => DML.every((p) => s.has(p)));
  if (!globalDml && !someSchemaDml) missing.push('SELECT, INSERT, UPDATE, DELETE on the replicated schemas');
  if (!metaAll) missing.push('ALL on drc_meta.*');
  return { missing, excess: [...new Set(excess)] };
}
