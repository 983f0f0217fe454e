import { describe, expect, it } from 'vitest';
import { DEFAULT_SIZES, generateSakila, pointBytes, renderDump, SAKILA_TABLES, SAKILA_TRIGGERS, schemaStatements, splitSqlScript, triggerStatements } from '../fixtures/sakila/generator.js';
import { mulberry32 } from '../support/random.js';

/** Sakila's foreign keys: child table, column, parent table (the parent's key has the column's name). */
const FOREIGN_KEYS: [string, string, string][] = [
  ['address', 'city_id', 'city'],
  ['city', 'country_id', 'country'],
  ['customer', 'address_id', 'address'],
  ['customer', 'store_id', 'store'],
  ['film', 'language_id', 'language'],
  ['film_actor', 'actor_id', 'actor'],
  ['film_actor', 'film_id', 'film'],
  ['film_category', 'film_id', 'film'],
  ['film_category', 'category_id', 'category'],
  ['inventory', 'film_id', 'film'],
  ['inventory', 'store_id', 'store'],
  ['payment', 'customer_id', 'customer'],
  ['payment', 'staff_id', 'staff'],
  ['payment', 'rental_id', 'rental'],
  ['rental', 'inventory_id', 'inventory'],
  ['rental', 'customer_id', 'customer'],
  ['rental', 'staff_id', 'staff'],
  ['staff', 'address_id', 'address'],
  ['staff', 'store_id', 'store'],
  ['store', 'address_id', 'address'],
];

describe('the Sakila fixture', () => {
  it('splits scripts on the delimiter in force, keeping compound trigger bodies whole', () => {
    expect(splitSqlScript('-- c\nSELECT 1;\nDELIMITER ;;\nCREATE TRIGGER t BEGIN\n  SET @a = 1;\nEND;;\nDELIMITER ;\nSELECT 2;\n')).toEqual([
      'SELECT 1',
      'CREATE TRIGGER t BEGIN\n  SET @a = 1;\nEND',
      'SELECT 2',
    ]);
    expect(() => splitSqlScript('SELECT 1')).toThrow(/ends inside a statement/);
    const triggers = triggerStatements();
    expect(triggers.map((t) => /^CREATE TRIGGER (\w+)/.exec(t)?.[1]).sort()).toEqual(SAKILA_TRIGGERS);
    const tables = schemaStatements().map((s) => /^CREATE TABLE (\w+)/.exec(s)?.[1]).filter(Boolean);
    expect(tables.sort()).toEqual([...SAKILA_TABLES].sort());
  });

  it('generates the same dump for the same seed, and another for another seed', () => {
    const dump = renderDump(generateSakila(mulberry32(1)));
    expect(renderDump(generateSakila(mulberry32(1)))).toBe(dump);
    expect(renderDump(generateSakila(mulberry32(2)))).not.toBe(dump);
  });

  it('renders a mysqldump-style load: checks off first, tables in mysqldump order (children before parents), no film_text', () => {
    const statements = splitSqlScript(renderDump(generateSakila(mulberry32(3))));
    const fkOff = statements.findIndex((s) => s.includes('FOREIGN_KEY_CHECKS=0'));
    const first = (table: string) => statements.findIndex((s) => s.startsWith(`INSERT INTO \`${table}\``));
    expect(fkOff).toBeGreaterThanOrEqual(0);
    expect(fkOff).toBeLessThan(first('actor'));
    expect(first('address')).toBeLessThan(first('city'));
    expect(first('city')).toBeLessThan(first('country'));
    expect(first('customer')).toBeLessThan(first('store'));
    expect(first('film_text')).toBe(-1);
    expect(statements.filter((s) => s.startsWith('INSERT INTO `payment`')).length).toBeGreaterThan(1); // extended INSERTs, several per big table
  });

  it('generates referentially whole data with the unique rental key free of collisions even under one stamped date', () => {
    const data = generateSakila(mulberry32(4));
    for (const [child, column, parent] of FOREIGN_KEYS) {
      const ids = new Set((data as Record<string, Record<string, unknown>[]>)[parent]!.map((r) => r[column]));
      const dangling = (data as Record<string, Record<string, unknown>[]>)[child]!.filter((r) => r[column] !== null && !ids.has(r[column]));
      expect(dangling, `${child}.${column} → ${parent}`).toEqual([]);
    }
    expect(data.store.map((s) => s.manager_staff_id)).toEqual(data.staff.map((s) => s.staff_id));
    const pairs = data.rental.map((r) => `${r.inventory_id}/${r.customer_id}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    expect(data.rental).toHaveLength(DEFAULT_SIZES.rentals);
    expect(new Set(data.film.map((f) => f.release_year))).toEqual(new Set([null, 0, 2155, 2006]));
  });

  it('writes a POINT as the server stores it: SRID 0, then little-endian WKB', () => {
    expect(pointBytes(1, 2).toString('hex').toUpperCase()).toBe('000000000101000000000000000000F03F0000000000000040');
  });
});
