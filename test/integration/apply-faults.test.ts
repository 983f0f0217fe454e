import type { RowDataPacket } from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { changesTopic, deadLetterTopic } from '../../src/model/topics.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { consumeTopic, eventually, scenario, type Scenario } from '../support/scenario.js';

describeWithServers('apply under faults, bad input and ownership rules', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  const processes: DaemonProcess[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) if (p.child.exitCode === null) await p.kill();
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('recovers from SIGKILL of the applier mid-stream: identical contents, no duplicates, no spurious conflicts', async () => {
    s = await scenario('applykill');
    for (const ez of ['a', 'b']) await s.db[ez]!.query('CREATE TABLE w (id INT PRIMARY KEY, n INT NOT NULL, v VARCHAR(40) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    daemons.push(...(await startDaemons(s, ['a'])));
    const startB = async () => {
      const p = await DaemonProcess.start(['run', '--config', s!.configFile, '--ezone', 'b']);
      processes.push(p);
      await p.waitActive();
      return p;
    };
    await startB();

    const TXS = 4000;
    let done = 0;
    const workload = (async () => {
      const a = s!.db.a!;
      for (let i = 0; i < TXS; i++) {
        await a.query('INSERT INTO w (id, n, v) VALUES (?, 0, ?)', [i, `v${i}`]);
        if (i % 4 === 0 && i > 0) await a.query('UPDATE w SET n = n + 1, v = ? WHERE id = ?', [`u${i}`, i - 1]);
        if (i % 9 === 0 && i > 0) await a.query('DELETE FROM w WHERE id = ?', [i - 2]);
        done++;
      }
    })();
    const countIn = async (ez: string) => {
      const [[row]] = await s!.db[ez]!.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM w');
      return Number(row!.n);
    };
    await eventually('b applying', async () => (await countIn('b')) > 300, 60_000);
    await processes[0]!.kill('SIGKILL');
    const killedWith = await countIn('b');
    expect(done).toBeLessThan(TXS);
    await startB();
    await workload;

    const rows = JSON.parse(await converge(s, 'w', ['a', 'b'], { timeoutMs: 120_000 })) as unknown[];
    expect(rows.length).toBe(TXS - Math.floor((TXS - 1) / 9));
    expect(await conflictsIn(s, 'b')).toEqual([]);
    process.stdout.write(`\n[apply-kill] applier killed with ${killedWith} rows applied; ${rows.length} rows identical after restart, no conflicts\n`);
  }, 300_000);

  it('sends a poison message to the dead-letter topic and keeps applying what follows', async () => {
    s = await scenario('poison');
    for (const ez of ['a', 'b']) await s.db[ez]!.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.a!.query('INSERT INTO t VALUES (1, 1)');
    await converge(s, 't', ['a', 'b'], { rows: 1 });

    const producer = s.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const poison = `not an envelope ${randomBytes(4).toString('hex')}`;
    await producer.send({ topic: changesTopic(s.prefix, 'a'), messages: [{ key: 'a', value: poison }, { key: 'a', value: '{"v":1,"kind":"tx","origin":"a"}' }] });
    await producer.disconnect();
    await s.db.a!.query('INSERT INTO t VALUES (2, 2)');
    await converge(s, 't', ['a', 'b'], { rows: 2 });

    const dead: { value: string; reason: string }[] = [];
    await consumeTopic(s.kafka, deadLetterTopic(s.prefix, 'b'), (m) => {
      dead.push({ value: m.value.toString(), reason: '' });
      return dead.length >= 2;
    }, 30_000);
    expect(dead.map((d) => d.value)).toEqual([poison, '{"v":1,"kind":"tx","origin":"a"}']);
    expect(daemons[1]!.appliers.get('a')!.stats.deadLetters).toBe(2);
  });

  it('rejects writes from an ezone that does not own the row (policy reject) and records them', async () => {
    s = await scenario('ownreject');
    const orders = `${s.schema}.orders`;
    s = await reconfigure(s, {
      ownership: { policy: 'reject', tables: { [orders]: { function: 'range', column: 'user_id', ranges: [{ from: 0, to: 1000, ezone: 'a' }, { from: 1000, to: 2000, ezone: 'b' }] } } },
    });
    for (const ez of ['a', 'b']) await s.db[ez]!.query('CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NOT NULL)');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.a!.query('INSERT INTO orders VALUES (1, 5), (2, 1500)');
    await eventually('owned row applied', async () => (await s!.db.b!.query<RowDataPacket[]>('SELECT id FROM orders'))[0].length === 1);
    await eventually('violation recorded', async () => (await conflictsIn(s!, 'b')).length === 1);
    const [rows] = await s.db.b!.query('SELECT id, user_id FROM orders');
    expect(rows).toEqual([{ id: 1, user_id: 5 }]);
    expect((await conflictsIn(s, 'b')).map((c) => [c.key_json, c.reason, c.decision, c.origin])).toEqual([['{"id":2}', 'ownership', 'skipped', 'a']]);
    expect(daemons[0]!.capture.stats.wrongWrites).toBe(1);
  });

  it('applies and records violations under policy report, global tables included', async () => {
    s = await scenario('ownreport');
    s = await reconfigure(s, {
      ownership: { policy: 'report', shardCount: 16, routing: [{ shards: '0-15', ezone: 'a' }], tables: { [`${s.schema}.orders`]: { function: 'hash', column: 'user_id' } }, global: { [`${s.schema}.settings`]: 'a' } },
    });
    for (const ez of ['a', 'b']) {
      await s.db[ez]!.query('CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NOT NULL)');
      await s.db[ez]!.query('CREATE TABLE settings (k VARCHAR(10) PRIMARY KEY, v INT)');
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.b!.query('INSERT INTO orders VALUES (7, 42)');
    await s.db.b!.query("INSERT INTO settings VALUES ('x', 1)");
    await converge(s, 'orders', ['a', 'b'], { rows: 1 });
    await converge(s, 'settings', ['a', 'b'], { rows: 1 });
    await eventually('violations recorded', async () => (await conflictsIn(s!, 'a')).length === 2);
    expect((await conflictsIn(s, 'a')).map((c) => [c.table_name, c.reason, c.decision, c.origin])).toEqual([
      ['orders', 'ownership', 'applied', 'b'],
      ['settings', 'ownership', 'applied', 'b'],
    ]);
    expect(daemons[1]!.capture.stats.wrongWrites).toBe(2);
  });
});

/** The scenario with config overrides that refer to its own schema name. */
async function reconfigure(s: Scenario, overrides: Record<string, unknown>): Promise<Scenario> {
  const { configSchema } = await import('../../src/config/schema.js');
  const { writeFileSync } = await import('node:fs');
  const { stringify } = await import('yaml');
  const config = configSchema.parse({ ...s.config, ...overrides });
  writeFileSync(s.configFile, stringify(config));
  return { ...s, config };
}
