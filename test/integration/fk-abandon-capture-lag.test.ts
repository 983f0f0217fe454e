import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';
import { sleep } from '../support/wait.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
const dump = async (c: mysql.Connection, t: string) => JSON.stringify((await c.query<mysql.RowDataPacket[]>(`SELECT id, pid FROM ${t} ORDER BY id`))[0]);

describeWithServers('FK: a delete after a concurrent move, capture lagging', () => {
  let s: Scenario | undefined;
  let lock: mysql.Connection | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await lock?.end();
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('delete-diverged while b capture has not recorded its own move', async () => {
    s = await scenario('fk-abandon-lag', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, ${VERSION})`);
      await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)`);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const { a, b } = s.db as Record<string, mysql.Connection>;
    await a!.query("INSERT INTO p (id, updated_at) VALUES (24, '2020-01-01')");
    await a!.query("INSERT INTO c (id, pid, updated_at) VALUES (41, 24, '2020-01-01')");
    await converge(s, 'c', ['a', 'b'], { rows: 1 });
    await stopDaemons(daemons);
    await b!.query('UPDATE p SET id = 2 WHERE id = 24');
    await sleep(1_100);
    await a!.query('DELETE FROM p WHERE id = 24');
    await sleep(1_100);
    await b!.query('INSERT INTO p (id) VALUES (24)');
    lock = await connectEzone('b');
    await lock.query('BEGIN');
    await lock.query('SELECT * FROM drc_meta.tombstones FOR UPDATE');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await sleep(8_000);
    await lock.query('ROLLBACK');
    await converge(s, 'p', ['a', 'b'], { rows: 2 });
    await sleep(8_000);
    expect(await dump(a!, 'c')).toEqual('[]');
    expect(await dump(b!, 'c')).toEqual(await dump(a!, 'c'));
  });
});
