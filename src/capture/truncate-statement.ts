/**
 * Recognises TRUNCATE TABLE in a query event of the binlog (issue 13). The server logs the statement
 * as the client sent it (comments, quoting, optional TABLE keyword, MariaDB's WAIT n / NOWAIT), with
 * the session's default schema beside it. Pure.
 */

/** Leading comments and whitespace: `/* … *\/`, `-- …`, `# …`. */
const LEADING = /^(?:\s+|\/\*[\s\S]*?\*\/|--[^\n]*(?:\n|$)|#[^\n]*(?:\n|$))*/;
const IDENT = '(?:`((?:[^`]|``)+)`|([A-Za-z0-9_$\\u0080-\\uFFFF]+))';
const TRUNCATE = new RegExp(`^TRUNCATE(?:\\s+TABLE)?\\s+${IDENT}(?:\\s*\\.\\s*${IDENT})?(?:\\s+(?:WAIT\\s+\\d+|NOWAIT))?\\s*;?\\s*$`, 'i');

export type TruncateParse =
  /** Not a TRUNCATE statement. */
  | { kind: 'other' }
  /** TRUNCATE of this table. */
  | { kind: 'truncate'; schema: string; table: string }
  /** A TRUNCATE that could not be read (never guessed: capture stops on it, loudly). */
  | { kind: 'unreadable' };

const unquote = (quoted: string | undefined, bare: string | undefined) => (quoted !== undefined ? quoted.replaceAll('``', '`') : (bare as string));

/** What a query event's statement truncates; `defaultSchema` is the event's schema (the session's USE). */
export function parseTruncate(statement: string, defaultSchema: string): TruncateParse {
  const text = statement.replace(LEADING, '');
  if (!/^TRUNCATE\b/i.test(text)) return { kind: 'other' };
  const m = TRUNCATE.exec(text);
  if (!m) return { kind: 'unreadable' };
  const first = unquote(m[1], m[2]);
  if (m[3] === undefined && m[4] === undefined) return defaultSchema ? { kind: 'truncate', schema: defaultSchema, table: first } : { kind: 'unreadable' };
  return { kind: 'truncate', schema: first, table: unquote(m[3], m[4]) };
}
