/**
 * Table names as `drc verify` reads them from `--tables` and prints them in its report. A schema or
 * table may be named anything the server accepts (dots, backticks, commas, spaces, non-ASCII), so a
 * plain `schema.table` split is ambiguous: either part may be written in backticks, with a backtick
 * inside doubled, as in SQL. `` `my.db`.t,数据.`a.b`,db.`we``ird` `` names three tables. The report
 * prints names the same way (quoting only where needed), so a name it prints can be passed back.
 */
import { UsageError } from '../errors.js';

/** One table, by its two unambiguous parts. */
export interface TableName {
  schema: string;
  table: string;
}

const USAGE =
  "--tables takes schema.table[,schema.table…]; write a part that holds a dot, comma or backtick in backticks, doubling a backtick inside: `my.db`.t,db.`we``ird`";

/** Parse a `--tables` list. Throws UsageError, saying where, on anything that is not such a list. */
export function parseTableList(text: string): TableName[] {
  const out: TableName[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new UsageError(`${USAGE} (${why} at character ${i + 1} of ${JSON.stringify(text)})`);
  };
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const part = (): string => {
    skipSpace();
    if (text[i] === '`') {
      let name = '';
      for (i++; ; i++) {
        if (i >= text.length) fail('unclosed backtick');
        if (text[i] === '`') {
          if (text[i + 1] !== '`') break;
          i++;
        }
        name += text[i];
      }
      i++;
      if (name === '') fail('empty name');
      skipSpace();
      return name;
    }
    const start = i;
    while (i < text.length && !/[.,`]/.test(text[i]!)) i++;
    const name = text.slice(start, i).trim();
    if (name === '') fail(text[i] === '`' ? 'a backtick inside an unquoted name' : 'missing name');
    return name;
  };
  for (;;) {
    skipSpace();
    if (i >= text.length) break;
    const schema = part();
    if (text[i] !== '.') fail('expected a dot between schema and table');
    i++;
    const table = part();
    if (i < text.length && text[i] !== ',') fail(text[i] === '.' ? 'a second dot (quote a name that holds one)' : 'expected a comma');
    i++;
    out.push({ schema, table });
  }
  if (out.length === 0) fail('no table');
  return out;
}

/** One part, in backticks only where it needs them (so plain names print as before). */
export function formatNamePart(name: string): string {
  return name === '' || /[.,`]/.test(name) || name.trim() !== name ? `\`${name.replaceAll('`', '``')}\`` : name;
}

/** `schema.table` as `--tables` reads it back. */
export const formatTableName = (t: TableName): string => `${formatNamePart(t.schema)}.${formatNamePart(t.table)}`;
