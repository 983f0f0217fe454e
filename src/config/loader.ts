import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, UsageError, type ConfigProblem } from '../errors.js';
import { deepFreeze } from './freeze.js';
import { interpolateEnv, joinPath } from './interpolate.js';
import { configSchema, type Config, type EzoneConfig } from './schema.js';

/** A key still accepted but without effect: named once, at load, so the operator can remove it. */
export interface Deprecation {
  /** Dotted key path, e.g. `capture.maxInFlightBatches`. */
  path: string;
  message: string;
}

export interface LoadOptions {
  /** Hears of every deprecated key present; default: one warning line on stderr per key. */
  onDeprecated?: (d: Deprecation) => void;
}

/** Keys kept in the schema for old files only; the value is ignored. */
const DEPRECATED_KEYS: { path: [string, string]; message: string }[] = [
  { path: ['capture', 'maxInFlightBatches'], message: 'has no effect (capture keeps one Kafka transaction open at a time) and will be removed — delete it from the file' },
];

/** Warn once per deprecated key, on stderr (config/ sits below the logger: callers may pass their own). */
function warnDeprecated(d: Deprecation): void {
  process.emitWarning(`config key ${d.path} is deprecated: ${d.message}`, { code: 'DRC_CONFIG_DEPRECATED' });
}

/**
 * Read, interpolate and validate a topology config file. Throws ConfigError (exit 2) naming every bad
 * key. The result is deeply frozen: stages get read-only slices of it (see slices.ts).
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ConfigError(file, [{ path: '', message: `${reason} — pass an existing file with --config` }], { cause: err });
  }
  return parseConfig(text, file, env, options);
}

/** Validate config text (YAML). `file` is only used in messages. The result is deeply frozen. */
export function parseConfig(text: string, file = '<config>', env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The first syntax error is the real one; the rest usually follow from it.
    const first = (doc.errors[0] as Error).message.split('\n')[0];
    throw new ConfigError(file, [{ path: '', message: `YAML syntax error: ${first} — fix the YAML there` }]);
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, [{ path: '', message: 'the file must be a YAML mapping with at least kafka: and ezones:' }]);
  }
  const { value, problems } = interpolateEnv(raw, env);
  if (problems.length > 0) throw new ConfigError(file, problems);
  const result = configSchema.safeParse(value, { reportInput: true });
  if (!result.success) throw new ConfigError(file, result.error.issues.flatMap(describeIssue));
  for (const d of deprecatedIn(value)) (options.onDeprecated ?? warnDeprecated)(d);
  return deepFreeze(result.data);
}

/** The deprecated keys present in a (valid) config document. */
function deprecatedIn(value: unknown): Deprecation[] {
  return DEPRECATED_KEYS.filter(({ path: [section, key] }) => {
    const block = (value as Record<string, unknown>)[section];
    return block !== null && typeof block === 'object' && key in block;
  }).map(({ path, message }) => ({ path: path.join('.'), message }));
}

/** The part of the config that belongs to one ezone; a UsageError (exit 2) for an unknown name. */
export function ezoneOf(config: Config, name: string): EzoneConfig {
  const ez = config.ezones[name];
  if (!ez) throw new UsageError(`unknown ezone "${name}" — the config defines: ${Object.keys(config.ezones).join(', ')}`);
  return ez;
}

/** Turn one zod issue into one or more "key: what is wrong — how to fix it" lines. */
function describeIssue(issue: z.core.$ZodIssue): ConfigProblem[] {
  const path = issue.path.reduce<string>((p, k) => joinPath(p, k as string | number), '');
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(issue.path);
      return issue.keys.map((key) => {
        const hint = closest(key, allowed);
        const fix = hint ? `did you mean "${hint}"?` : `remove it (allowed here: ${allowed.join(', ') || 'none'})`;
        return { path: joinPath(path, key), message: `unknown key — ${fix}` };
      });
    }
    case 'invalid_type':
      if (issue.input === undefined) return [{ path, message: `required key is missing — add it (${issue.expected})` }];
      return [{ path, message: `expected ${issue.expected}, got ${describeValue(issue.input)} — change the value` }];
    case 'invalid_key':
      return [{ path, message: `invalid name — ${issue.issues[0]?.message ?? issue.message}` }];
    case 'invalid_value':
      return [{ path, message: `must be one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` }];
    case 'too_small':
    case 'too_big':
      return [{ path, message: `${issue.message.replace(/^Too (small|big): /, '')} — change the value` }];
    default:
      return [{ path, message: issue.message }];
  }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a mapping' : typeof v;
}

/** Keys the schema accepts at a path (for "did you mean" hints). */
function allowedKeysAt(path: readonly PropertyKey[]): string[] {
  let schemas: z.ZodType[] = [configSchema];
  for (const key of [...path, null]) {
    schemas = schemas.flatMap(unwrap);
    if (key === null) break;
    schemas = schemas.flatMap((s): z.ZodType[] => {
      if (s instanceof z.ZodObject) return s.shape[key as string] ? [s.shape[key as string] as z.ZodType] : [];
      if (s instanceof z.ZodRecord) return [s.valueType as z.ZodType];
      if (s instanceof z.ZodArray) return [s.element as z.ZodType];
      return [];
    });
  }
  return [...new Set(schemas.flatMap((s) => (s instanceof z.ZodObject ? Object.keys(s.shape) : [])))];
}

function unwrap(s: z.ZodType): z.ZodType[] {
  if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault || s instanceof z.ZodPrefault) {
    return unwrap(s.unwrap() as z.ZodType);
  }
  if (s instanceof z.ZodPipe) return [...unwrap(s.in as z.ZodType), ...unwrap(s.out as z.ZodType)];
  if (s instanceof z.ZodUnion) return (s.options as z.ZodType[]).flatMap(unwrap);
  return [s];
}

/** The allowed key nearest to a misspelt one (edit distance ≤ 2), if any. */
function closest(key: string, allowed: string[]): string | undefined {
  let best: { k: string; d: number } | undefined;
  for (const k of allowed) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
