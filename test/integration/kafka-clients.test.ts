/**
 * The guarantees that depend most on the Kafka client, run explicitly with both clients
 * (`kafka.client`), whatever DRC_TEST_KAFKA_CLIENT says: exactly-once capture across SIGKILL
 * (transactional producer, fencing, resume from Kafka) and a broker restart under load. The other
 * fault scenarios (faults, standby, capture-crash) run with the default client, or the one
 * DRC_TEST_KAFKA_CLIENT names.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeChunk } from '../../src/model/envelope.js';
import { changesTopic } from '../../src/model/topics.js';
import { restartServer } from '../../src/sandbox/sandbox.js';
import { runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { adminConnection, describeWithServers, infra } from '../support/env.js';
import { TEST_SANDBOX_DIR } from '../support/infra.js';
import { converge } from '../support/replication.js';
import { consumeTopic, scenario, type Scenario } from '../support/scenario.js';
import { testLogger } from '../support/test-logger.js';
import { waitFor } from '../support/wait.js';
import { ownRows, startWorkload, WORKLOAD_TABLE } from '../support/workload.js';

describeWithServers('Kafka-dependent guarantees with each client', () => {
  describe.each(['platformatic', 'kafkajs'] as const)('kafka.client: %s', (kafkaClient) => {
    let s: Scenario | undefined;
    const daemons: DaemonProcess[] = [];
    afterEach(async () => {
      for (const d of daemons.splice(0)) if (d.child.exitCode === null) await d.kill();
      await s?.close();
      s = undefined;
    });
    const start = async (ezone: string) => {
      const d = await DaemonProcess.start(['run', '--config', s!.configFile, '--ezone', ezone]);
      daemons.push(d);
      await d.waitActive();
      return d;
    };

    it('capture ships every transaction exactly once across a SIGKILL', async () => {
      s = await scenario(`crash-${kafkaClient}`, {}, { kafkaClient });
      expect(s.config.kafka.client).toBe(kafkaClient);
      const TXS = 4000;
      const ROWS = 3;
      await s.db.a!.query('CREATE TABLE w (id INT AUTO_INCREMENT PRIMARY KEY, batch INT NOT NULL, n INT NOT NULL)');
      const first = await start('a');
      let committed = 0;
      let next = 0;
      const workload = Promise.all(
        [0, 1, 2].map(async () => {
          const conn = await adminConnection('a');
          await conn.query(`USE ${s!.schema}`);
          for (let b = next++; b < TXS; b = next++) {
            await conn.query(`INSERT INTO w (batch, n) VALUES ${Array.from({ length: ROWS }, (_, n) => `(${b}, ${n})`).join(',')}`);
            committed++;
          }
          await conn.end();
        }),
      );
      await waitFor(() => committed, { what: `${TXS * 0.3} transactions committed`, until: (c) => c >= TXS * 0.3, intervalMs: 20, timeoutMs: 120_000 });
      await first.kill('SIGKILL');
      const killedAt = committed;
      await start('a');
      await workload;

      const shipped = new Map<string, number>();
      const rowsByBatch = new Map<number, number>();
      let open: { id: string; batches: number[] } | undefined;
      const done = await consumeTopic(s.kafka, changesTopic(s.prefix, 'a'), (m) => {
        const c = decodeChunk(m.value);
        if (c.seq === 0) open = { id: c.id, batches: [] };
        for (const ch of c.changes) if (ch.table === 'w') open!.batches.push(Number(ch.after!.batch));
        if (c.last) {
          if (open!.batches.length > 0) {
            shipped.set(c.id, (shipped.get(c.id) ?? 0) + 1);
            for (const b of open!.batches) rowsByBatch.set(b, (rowsByBatch.get(b) ?? 0) + 1);
          }
          open = undefined;
        }
        return rowsByBatch.size === TXS && [...rowsByBatch.values()].every((n) => n === ROWS);
      }, 120_000);
      expect({ done, transactions: shipped.size, duplicated: [...shipped].filter(([, n]) => n > 1), incomplete: [...rowsByBatch].filter(([, n]) => n !== ROWS) }).toEqual({
        done: true,
        transactions: TXS,
        duplicated: [],
        incomplete: [],
      });
      process.stdout.write(`\n[kafka-clients ${kafkaClient}] capture SIGKILLed after ${killedAt} of ${TXS} transactions; each shipped exactly once\n`);
    }, 300_000);

    it.runIf(infra().mode === 'local')('replication survives a Kafka broker restart under load; the ezones end identical', async () => {
      s = await scenario(`brokerrestart-${kafkaClient}`, {}, { kafkaClient });
      for (const ez of ['a', 'b']) await s.db[ez]!.query(WORKLOAD_TABLE);
      await start('a');
      await start('b');
      const work = startWorkload(s, ['a', 'b'], { bigTransactionRows: 5000 });
      await work.more(200, 'a and b before the Kafka restart');
      await restartServer({ dir: TEST_SANDBOX_DIR, server: 'kafka', downMs: 3000, log: testLogger() });
      await work.more(200, 'a and b after the Kafka restart');
      const inserted = await work.stop();
      await converge(s, 'w', ['a', 'b'], { timeoutMs: 180_000 });
      const res = await runDrc(['verify', '--config', s.configFile, '--tables', `${s.schema}.w`, '--ezones', 'a,b', '--json']);
      expect(res.code, res.stdout).toBe(0);
      for (const ez of ['a', 'b']) expect(await ownRows(s.db[ez]!, ['a', 'b'])).toEqual(inserted);
      for (const d of daemons) expect(d.child.exitCode).toBeNull();
      process.stdout.write(`\n[kafka-clients ${kafkaClient}] Kafka restarted under load; rows inserted ${JSON.stringify(inserted)}; verify: 0 differences\n`);
    }, 300_000);
  });
});
