/**
 * `drc verify` on schema and table names the server accepts but a `schema.table` split does not: a
 * dot, a backtick, a comma, a space, non-ASCII. Found by the default discovery and accepted by
 * `--tables` (backtick-quoted parts), and a difference planted in each is reported under that name.
 */
import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { quoteId, tableRef } from '../../src/db/sql.js';
import { runDrc } from '../support/cli.js';
import { describeWithServers } from '../support/env.js';
import { scenario, type Scenario } from '../support/scenario.js';

interface Report {
  ok: boolean;
  tables: { table: string; rows: number }[];
  differences: { table: string; key: Record<string, unknown>; ezones: { ezone: string; present: boolean }[] }[];
}

describeWithServers('drc verify names', () => {
  let s: Scenario | undefined;
  const schemas: string[] = [];
  afterEach(async () => {
    for (const db of Object.values(s?.db ?? {})) for (const name of schemas) await db.query(`DROP DATABASE IF EXISTS ${quoteId(name)}`);
    schemas.length = 0;
    await s?.close();
    s = undefined;
  });

  it('compares a dotted schema, a backtick in a table name and a non-ASCII schema, by discovery and by --tables', async () => {
    const r = randomBytes(3).toString('hex');
    const dotted = `my.db_${r}`;
    const cjk = `数据_${r}`;
    const ticked = `x\`y, z_${r}`;
    schemas.push(dotted, cjk, ticked);
    const glob = (name: string) => `${name.replace(/[*?]/g, '?')}.*`;
    s = await scenario('verify names', { replicate: { include: schemas.map(glob) } });
    const names = [
      { schema: dotted, table: 't', printed: `\`my.db_${r}\`.t` },
      { schema: dotted, table: 'we`ird', printed: `\`my.db_${r}\`.\`we\`\`ird\`` },
      { schema: cjk, table: 'a.b', printed: `数据_${r}.\`a.b\`` },
      { schema: cjk, table: '表 一', printed: `数据_${r}.表 一` },
      { schema: ticked, table: 'plain', printed: `\`x\`\`y, z_${r}\`.plain` },
    ];
    const { a, b } = s.db as { a: mysql.Connection; b: mysql.Connection };
    for (const db of [a, b]) {
      for (const name of schemas) await db.query(`CREATE DATABASE ${quoteId(name)}`);
      for (const n of names) {
        await db.query(`CREATE TABLE ${tableRef(n.schema, n.table)} (id INT PRIMARY KEY, v VARCHAR(10), ${quoteId('c`.1, 列')} INT DEFAULT 7)`);
        await db.query(`INSERT INTO ${tableRef(n.schema, n.table)} (id, v) VALUES (1, 'one'), (2, 'two'), (3, 'three')`);
      }
    }
    const base = ['verify', '--config', s.configFile, '--ezones', 'a,b', '--recheck-ms', '10', '--pause-ms', '0', '--json'];
    const printed = names.map((n) => n.printed).sort();

    const clean = await runDrc(base);
    expect(clean.code, clean.stderr).toBe(0);
    expect((JSON.parse(clean.stdout) as Report).tables.map((t) => [t.table, t.rows]).sort()).toEqual(printed.map((p) => [p, 3]));

    for (const [i, n] of names.entries()) await b.query(`UPDATE ${tableRef(n.schema, n.table)} SET v = 'planted' WHERE id = ?`, [1 + (i % 3)]);
    const expected = names.map((n, i) => [n.printed, { id: 1 + (i % 3) }]).sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    const byDiscovery = await runDrc(base);
    expect(byDiscovery.code, byDiscovery.stderr).toBe(1);
    const found = (r: string) => (JSON.parse(r) as Report).differences.map((d) => [d.table, d.key]).sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    expect(found(byDiscovery.stdout)).toEqual(expected);

    // The names as the report prints them are what --tables takes back.
    const byList = await runDrc([...base, '--tables', names.map((n) => n.printed).join(',')]);
    expect(byList.code, byList.stderr).toBe(1);
    expect(found(byList.stdout)).toEqual(expected);
    const one = await runDrc([...base, '--tables', ` \`my.db_${r}\` . \`we\`\`ird\` `]);
    expect(one.code, one.stderr).toBe(1);
    expect(found(one.stdout)).toEqual([[names[1]!.printed, { id: 2 }]]);
    // A column name with a backtick, a dot and a comma is compared like any other.
    await b.query(`UPDATE ${tableRef(dotted, 't')} SET ${quoteId('c`.1, 列')} = 8 WHERE id = 3`);
    const column = await runDrc([...base, '--tables', names[0]!.printed]);
    expect(found(column.stdout)).toEqual([
      [names[0]!.printed, { id: 1 }],
      [names[0]!.printed, { id: 3 }],
    ]);

    // An ambiguous name is a usage error that says how to write it, never a silent skip.
    const ambiguous = await runDrc([...base, '--tables', `my.db_${r}.t`]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/backticks/);
  });
});
