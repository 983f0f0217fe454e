import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';
import { sleep } from '../support/wait.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
const dump = async (c: mysql.Connection, t: string) => JSON.stringify((await c.query<mysql.RowDataPacket[]>(`SELECT * FROM ${t} ORDER BY id`))[0]);

describeWithServers('FK: a delete after a concurrent move, RESTRICT grandchild', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('grandchild written in b under the moved child', async () => {
    s = await scenario('fk-abandon-restrict', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, ${VERSION})`);
      await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)`);
      await db.query(`CREATE TABLE g (id INT PRIMARY KEY, cid INT NOT NULL, ${VERSION}, FOREIGN KEY (cid) REFERENCES c (id) ON DELETE RESTRICT ON UPDATE CASCADE)`);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const { a, b } = s.db as Record<string, mysql.Connection>;
    await a!.query("INSERT INTO p (id, updated_at) VALUES (24, '2020-01-01')");
    await a!.query("INSERT INTO c (id, pid, updated_at) VALUES (41, 24, '2020-01-01')");
    await converge(s, 'c', ['a', 'b'], { rows: 1 });
    await stopDaemons(daemons);
    await b!.query('UPDATE p SET id = 2 WHERE id = 24');
    await sleep(300);
    await b!.query('INSERT INTO g (id, cid) VALUES (1, 41)');
    await sleep(1_100);
    await a!.query('DELETE FROM p WHERE id = 24');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await converge(s, 'p', ['a', 'b'], { rows: 1 });
    await sleep(6_000);
    // b's stream from a is not stalled by the refusing grandchild: a later write still arrives.
    await a!.query('INSERT INTO p (id) VALUES (77)');
    await converge(s, 'p', ['a', 'b'], { rows: 2 });
    expect(await dump(b!, 'p')).toEqual(await dump(a!, 'p'));
    expect(await dump(b!, 'c')).toEqual(await dump(a!, 'c'));
  });
});
