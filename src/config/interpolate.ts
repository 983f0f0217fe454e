import type { ConfigProblem } from '../errors.js';

const PLACEHOLDER = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replace `${NAME}` and `${NAME:-default}` in every string value of a parsed YAML document with
 * environment variables (`$$` is a literal `$`). Done on parsed values, not on the YAML text, so a
 * secret containing YAML syntax cannot change the document's structure.
 * Returns the new value and one problem per unset variable without a default.
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
): { value: unknown; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') {
      return v.replace(PLACEHOLDER, (match, name: string | undefined, fallback: string | undefined) => {
        if (match === '$$') return '$';
        const found = env[name as string];
        if (found !== undefined && found !== '') return found;
        if (fallback !== undefined) return fallback;
        problems.push({
          path,
          message: `environment variable ${name} is not set — export it, or give a default with \${${name}:-value}`,
        });
        return '';
      });
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, joinPath(path, i)));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, joinPath(path, k))]));
    }
    return v;
  };
  return { value: walk(value, ''), problems };
}

/** Dotted key path as users write it: `ezones.a.mysql.port`, `kafka.brokers[0]`. */
export function joinPath(base: string, key: string | number | symbol): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const k = String(key);
  return base ? `${base}.${k}` : k;
}
