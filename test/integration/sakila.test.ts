/**
 * Issue 13, "done when": the Sakila sample database converges. Its schema and triggers in both
 * ezones, the triggers guarded by `drc triggers guard`, a generated mysqldump-style load (children
 * before parents, the dump's own FOREIGN_KEY_CHECKS=0) in ezone a; then in ezone b updates, deletes
 * (one whose ON DELETE SET NULL cascade is not in the binlog), cascading primary-key updates
 * (country, film, customer, staff: ON UPDATE CASCADE rewrites their children in b without a binlog
 * row, so a must re-derive them by applying each key change as one UPDATE) and trigger-filled inserts
 * (customer, rental, payment stamped by BEFORE INSERT triggers, film filling film_text, parent and
 * child in one transaction and in separate ones). It ends with CHECKSUM TABLE equal for all sixteen
 * tables, `drc verify` at 0 differences, no conflict, and no stream paused.
 *
 * b writes its trigger-filled rows under a fixed session timestamp (2021), so a trigger that fires
 * again in a (unguarded) stamps a's own clock and the difference shows whatever second it runs in.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { DEFAULT_SIZES, generateSakila, renderDump, runScript, SAKILA_TABLES, SAKILA_TRIGGERS, schemaStatements, splitSqlScript, triggerStatements, type SakilaData } from '../fixtures/sakila/generator.js';
import { sameChecksums, rowCounts } from '../support/checksums.js';
import { runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers, infra } from '../support/env.js';
import { reconfigure } from '../support/reconfigure.js';
import { conflictsIn } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';

const EZONES = ['a', 'b'];
/** The session timestamp of b's trigger-filled writes: 2021-06-01 12:00:00 UTC. */
const FIXED = '2021-06-01 12:00:00';

interface TriggerRow {
  name: string;
  timing: string;
  event: string;
  definer: string;
  sqlMode: string;
  body: string;
}

async function triggers(conn: mysql.Connection, schema: string): Promise<TriggerRow[]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(
    'SELECT TRIGGER_NAME AS name, ACTION_TIMING AS timing, EVENT_MANIPULATION AS event, DEFINER AS definer, SQL_MODE AS sqlMode, ACTION_STATEMENT AS body FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME',
    [schema],
  );
  return rows as TriggerRow[];
}

/** The ids b's statements work on, chosen from the generated data so that each one has children. */
function targets(data: SakilaData) {
  const most = (rows: SakilaData[keyof SakilaData], column: string) => {
    const n = new Map<number, number>();
    for (const r of rows) n.set(Number(r[column]), (n.get(Number(r[column])) ?? 0) + 1);
    return [...n.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0]![0];
  };
  const stocked = new Set(data.inventory.map((i) => Number(i.film_id)));
  const filmWithout = data.film.map((f) => Number(f.film_id)).find((id) => !stocked.has(id));
  if (filmWithout === undefined) throw new Error('the generated data has no film without inventory');
  const country = most(data.city, 'country_id');
  const film = most(data.inventory, 'film_id');
  const customer = most(data.rental, 'customer_id');
  // A customer to delete with its rentals and payments, another whose key changes.
  const goneCustomer = most(
    data.rental.filter((r) => Number(r.customer_id) !== customer),
    'customer_id',
  );
  // Rentals with a payment, deleted alone: the payment's rental_id becomes NULL by ON DELETE SET NULL.
  const paidRentals = data.payment
    .filter((p) => p.rental_id !== null && Number(p.customer_id) !== customer && Number(p.customer_id) !== goneCustomer)
    .slice(0, 5)
    .map((p) => Number(p.rental_id));
  const inventoryFree = data.inventory.map((i) => Number(i.inventory_id)).slice(-6);
  return { country, film, customer, goneCustomer, filmWithout, paidRentals, inventoryFree, actor: most(data.film_actor, 'actor_id') };
}

describeWithServers('the Sakila sample database converges (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons: DaemonProcess[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) if (d.child.exitCode === null && d.child.signalCode === null) await d.kill('SIGTERM');
    await s?.close();
    s = undefined;
  });

  it('schema and triggers in both ezones, a dump loaded in a, updates, deletes, key changes and trigger-filled inserts in b: every table identical', async () => {
    // A stream failing 20 s without progress pauses (and the waits below stop at once): a stall, said early.
    s = await scenario('sakila', { supervision: { giveUpAfter: '20s' } }, { ezones: EZONES });
    const schema = s.schema;
    reconfigure(s, (c) => ({
      ...c,
      replicate: { ...(c.replicate as object), versionColumn: 'last_update' },
      tables: { [`${schema}.film_text`]: { versionColumn: null } }, // Sakila gives film_text no last_update
    }));
    for (const ez of EZONES) {
      await runScript(s.db[ez]!, schemaStatements());
      await runScript(s.db[ez]!, triggerStatements());
    }

    const original = await triggers(s.db.a!, schema);
    expect(original.map((t) => t.name)).toEqual(SAKILA_TRIGGERS);
    // drc doctor names the unguarded triggers (whatever its check is called), and no longer once they are
    // guarded. It reads trigger bodies as DRC's user, which takes the TRIGGER privilege (what doctor asks for).
    for (const ez of EZONES) await s.db[ez]!.query(`GRANT TRIGGER ON \`${schema}\`.* TO ?@'%'`, [s.config.ezones[ez]!.mysql.user]);
    const triggerProblems = async () => {
      const doctor = await runDrc(['doctor', '--config', s!.configFile, '--json']);
      const checks = (JSON.parse(doctor.stdout) as { checks: { ezone: string; ok: boolean; warning?: boolean; message: string }[] }).checks;
      // A failed check or a warning, whichever doctor makes of it.
      return checks.filter((c) => (!c.ok || c.warning === true) && SAKILA_TRIGGERS.some((name) => c.message.includes(name)));
    };
    const unguarded = await triggerProblems();
    for (const ez of EZONES) {
      const said = unguarded.filter((c) => c.ezone === ez).map((c) => c.message).join('\n');
      for (const name of SAKILA_TRIGGERS) expect(said, `doctor names the unguarded ${name} in ${ez}`).toContain(name);
    }
    // drc triggers guard: --dry-run changes nothing; the run rewrites all six in both ezones, keeping
    // name, timing, event, definer, sql_mode and the body's own text; a second run changes nothing. It
    // runs as the servers' administrative account (rewriting a trigger takes more than DRC's own grants),
    // its password named by an environment variable.
    const admin = infra().ezones[0]!.mysql;
    const guardCommand = (...extra: string[]) =>
      runDrc(['triggers', 'guard', '--config', s!.configFile, '--user', admin.user, '--password-env', 'DRC_TEST_ADMIN_PASSWORD', ...extra], { env: { DRC_TEST_ADMIN_PASSWORD: admin.password } });
    const dry = await guardCommand('--dry-run');
    expect(dry.code, `${dry.stdout}\n${dry.stderr}`).toBe(0);
    for (const ez of EZONES) expect(await triggers(s.db[ez]!, schema)).toEqual(original);
    const guard = await guardCommand();
    expect(guard.code, `${guard.stdout}\n${guard.stderr}`).toBe(0);
    const guarded = await triggers(s.db.a!, schema);
    for (const ez of EZONES) {
      const now = await triggers(s.db[ez]!, schema);
      expect(now.map(({ body: _b, ...rest }) => rest), ez).toEqual(original.map(({ body: _b, ...rest }) => rest));
      for (const [i, t] of now.entries()) {
        expect(t.body, `${ez} ${t.name} rewritten`).not.toBe(original[i]!.body);
        for (const word of ['NOW()', 'film_text'].filter((w) => original[i]!.body.includes(w))) expect(t.body, `${ez} ${t.name} keeps its body`).toContain(word);
      }
    }
    expect(await triggerProblems(), 'doctor after the guard').toEqual([]);
    const again = await guardCommand();
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    for (const ez of EZONES) expect(await triggers(s.db[ez]!, schema), `${ez}: a second guard changes nothing`).toEqual(guarded);

    for (const ez of EZONES) {
      const d = await DaemonProcess.start(['run', '--config', s.configFile, '--ezone', ez]);
      daemons.push(d);
      await d.waitActive();
    }

    // The dump, loaded in a as a restore would: children before parents, FK checks off by the dump itself.
    const data = generateSakila(s.random(0), DEFAULT_SIZES);
    await runScript(s.db.a!, splitSqlScript(renderDump(data)));
    const loaded = await rowCounts(s.db.a!, SAKILA_TABLES);
    expect(loaded.film_text).toBe(data.film.length); // filled by ins_film as the films loaded
    expect(loaded.payment).toBe(data.payment.length);
    await sameChecksums(s, EZONES, SAKILA_TABLES, { daemons, timeoutMs: 90_000, what: 'the dump loaded in a to arrive in b' });

    // Then b works on it.
    const b = s.db.b!;
    const t = targets(data);
    const rentalsOfGone = data.rental.filter((r) => Number(r.customer_id) === t.goneCustomer).length;
    expect(rentalsOfGone).toBeGreaterThan(0);
    // Updates (film titles: upd_film rewrites film_text in b, and that rewrite is in b's binlog).
    await b.query("UPDATE actor SET last_name = CONCAT(last_name, '-B') WHERE actor_id % 5 = 0");
    await b.query("UPDATE film SET title = CONCAT(title, ' (b)'), description = CONCAT('Restored: ', description) WHERE film_id % 7 = 0");
    await b.query("UPDATE film SET rating = 'NC-17', special_features = 'Trailers,Behind the Scenes', release_year = 1901, rental_rate = 0.99 WHERE film_id % 13 = 0");
    await b.query("UPDATE address SET location = ST_GeomFromText('POINT(1.5 -2.25)'), address2 = NULL WHERE address_id % 17 = 0");
    await b.query('UPDATE customer SET active = 0, email = NULL WHERE customer_id % 9 = 0');
    await b.query("UPDATE rental SET return_date = '2005-09-01 10:00:00' WHERE return_date IS NULL");
    await b.query('UPDATE staff SET picture = 0x00FF0000, password = NULL WHERE staff_id = 2');
    // Deletes: single payments; paid rentals (their payments' rental_id set NULL by the cascade);
    // an actor with its film_actor rows; a film with its links (del_film removes its film_text row);
    // a customer with every rental and payment, in one transaction.
    await b.query('DELETE FROM payment WHERE payment_id % 11 = 0');
    await b.query('DELETE FROM rental WHERE rental_id IN (?)', [t.paidRentals]);
    await b.query('BEGIN');
    await b.query('DELETE FROM film_actor WHERE actor_id = ?', [t.actor]);
    await b.query('DELETE FROM actor WHERE actor_id = ?', [t.actor]);
    await b.query('COMMIT');
    await b.query('BEGIN');
    await b.query('DELETE FROM film_actor WHERE film_id = ?', [t.filmWithout]);
    await b.query('DELETE FROM film_category WHERE film_id = ?', [t.filmWithout]);
    await b.query('DELETE FROM film WHERE film_id = ?', [t.filmWithout]);
    await b.query('COMMIT');
    await b.query('BEGIN');
    await b.query('DELETE FROM payment WHERE customer_id = ?', [t.goneCustomer]);
    await b.query('DELETE FROM rental WHERE customer_id = ?', [t.goneCustomer]);
    await b.query('DELETE FROM customer WHERE customer_id = ?', [t.goneCustomer]);
    await b.query('COMMIT');
    // Cascading primary-key updates: the children follow in b by ON UPDATE CASCADE, outside the binlog.
    await b.query('UPDATE country SET country_id = 1000 WHERE country_id = ?', [t.country]); // → city
    await b.query('UPDATE film SET film_id = 9000 WHERE film_id = ?', [t.film]); // → film_actor, film_category, inventory; upd_film → film_text
    await b.query('UPDATE customer SET customer_id = 30000 WHERE customer_id = ?', [t.customer]); // → rental, payment
    await b.query('UPDATE staff SET staff_id = 7 WHERE staff_id = 2'); // → store.manager_staff_id (unique), rental, payment
    // Trigger-filled inserts under b's fixed clock: parent and children in one transaction …
    await b.query(`SET timestamp = UNIX_TIMESTAMP('${FIXED}')`);
    const ids = async (sql: string, values: unknown[]) => (await b.query<mysql.ResultSetHeader>(sql, values))[0].insertId;
    await b.query('BEGIN');
    const address = await ids("INSERT INTO address (address, district, city_id, phone, location) VALUES ('1 Replica Road', 'Nowhere', 1, '555', ST_GeomFromText('POINT(3 4)'))", []);
    const newCustomers = [await ids("INSERT INTO customer (store_id, first_name, last_name, address_id, create_date) VALUES (1, 'NEW', 'CUSTOMER', ?, '1999-01-01')", [address])];
    const newRentals = [await ids("INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) VALUES ('1999-01-01', ?, ?, 1)", [t.inventoryFree[0], newCustomers[0]])];
    const newPayments = [await ids("INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) VALUES (?, 1, ?, 3.99, '1999-01-01')", [newCustomers[0], newRentals[0]])];
    await b.query('COMMIT');
    // … and each in its own transaction, child right after parent.
    for (let i = 1; i <= 4; i++) {
      const c = await ids("INSERT INTO customer (store_id, first_name, last_name, email, address_id, create_date) VALUES (2, 'ANOTHER', ?, NULL, ?, '1999-01-01')", [`CUSTOMER ${i}`, address]);
      const r = await ids("INSERT INTO rental (rental_date, inventory_id, customer_id, return_date, staff_id) VALUES ('1999-01-01', ?, ?, NULL, 7)", [t.inventoryFree[i], c]);
      newPayments.push(await ids("INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) VALUES (?, 7, ?, 0.99, '1999-01-01')", [c, r]));
      newCustomers.push(c);
      newRentals.push(r);
    }
    const filmB = await ids("INSERT INTO film (title, description, release_year, language_id, special_features) VALUES ('REPLICA ROAD', 'A film b added', 2021, 1, '')", []);
    await b.query('INSERT INTO film_category (film_id, category_id) VALUES (?, 3)', [filmB]);
    await b.query('INSERT INTO inventory (film_id, store_id) VALUES (?, 1), (?, 2)', [filmB, filmB]);
    await b.query('SET timestamp = DEFAULT');
    // And one film from a, so that b's guarded ins_film is proven too.
    await s.db.a!.query(`SET timestamp = UNIX_TIMESTAMP('${FIXED}')`);
    const filmA = (await s.db.a!.query<mysql.ResultSetHeader>("INSERT INTO film (title, language_id) VALUES ('FROM A', 2)"))[0].insertId;
    await s.db.a!.query('SET timestamp = DEFAULT');

    await sameChecksums(s, EZONES, SAKILA_TABLES, { daemons, timeoutMs: 60_000, what: "b's changes to arrive in a" });

    // What the checksums stand for, spelled out in a (the ezone that applied b's work).
    const a = s.db.a!;
    const one = async (sql: string, values: unknown[] = []) => (await a.query<mysql.RowDataPacket[]>(sql, values))[0];
    const counts = await rowCounts(a, SAKILA_TABLES);
    expect(counts.film_text).toBe(counts.film); // no twice-inserted and no missing film_text row
    expect(counts.film).toBe(data.film.length + 1);
    expect(await one('SELECT COUNT(*) AS n FROM city WHERE country_id = ?', [t.country])).toEqual([{ n: 0 }]);
    expect(Number((await one('SELECT COUNT(*) AS n FROM city WHERE country_id = 1000'))[0]!.n)).toBe(data.city.filter((c) => c.country_id === t.country).length);
    expect(Number((await one('SELECT COUNT(*) AS n FROM inventory WHERE film_id = 9000'))[0]!.n)).toBe(data.inventory.filter((i) => i.film_id === t.film).length);
    expect((await one('SELECT film_id FROM film_text WHERE film_id IN (?, 9000)', [t.film])).map((r) => r.film_id)).toEqual([9000]); // upd_film's rewrite, applied once
    expect(Number((await one('SELECT COUNT(*) AS n FROM rental WHERE customer_id = 30000'))[0]!.n)).toBe(data.rental.filter((r) => r.customer_id === t.customer).length);
    expect(await one('SELECT manager_staff_id FROM store ORDER BY store_id')).toEqual([{ manager_staff_id: 1 }, { manager_staff_id: 7 }]);
    expect(await one('SELECT COUNT(*) AS n FROM customer WHERE customer_id = ?', [t.goneCustomer])).toEqual([{ n: 0 }]);
    const orphaned = data.payment.filter((p) => t.paidRentals.includes(Number(p.rental_id)) && Number(p.payment_id) % 11 !== 0).map((p) => p.payment_id);
    expect(orphaned.length).toBeGreaterThan(0);
    expect(await one('SELECT DISTINCT rental_id FROM payment WHERE payment_id IN (?)', [orphaned])).toEqual([{ rental_id: null }]); // ON DELETE SET NULL, re-derived
    // The stamped dates are b's (its fixed clock), not a's own: a's triggers did not fire again.
    const stamped = [
      ...(await one('SELECT create_date AS d FROM customer WHERE customer_id IN (?)', [newCustomers])),
      ...(await one('SELECT rental_date AS d FROM rental WHERE rental_id IN (?)', [newRentals])),
      ...(await one('SELECT payment_date AS d FROM payment WHERE payment_id IN (?)', [newPayments])),
    ].map((r) => String(r.d));
    expect(stamped).toEqual(Array(newCustomers.length + newRentals.length + newPayments.length).fill(FIXED));
    expect(await one('SELECT film_id, title FROM film_text WHERE film_id IN (?, ?) ORDER BY title', [filmA, filmB])).toEqual([
      { film_id: filmA, title: 'FROM A' },
      { film_id: filmB, title: 'REPLICA ROAD' },
    ]);

    const verify = await runDrc(['verify', '--config', s.configFile, '--json']);
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    const report = JSON.parse(verify.stdout) as { ok: boolean; tables: { table: string }[]; differences: unknown[] };
    expect(report.differences).toEqual([]);
    expect(report.tables.map((x) => x.table.split('.').pop()).sort()).toEqual([...SAKILA_TABLES].sort());
    for (const d of daemons) {
      const h = await d.health();
      expect(h.httpStatus, JSON.stringify(h)).toBe(200);
      expect(h.problems).toEqual([]);
    }
    // Nothing here was concurrent: a conflict would mean a trigger or a cascade wrote twice.
    for (const ez of EZONES) expect(await conflictsIn(s, ez), ez).toEqual([]);
    process.stdout.write(`\n[sakila] ${Object.values(loaded).reduce((x, y) => x + y, 0)} rows loaded in a; b's work arrived; 16 tables identical, verify 0 differences\n`);
  }, 240_000);
});
