/**
 * Capture's transactional id no longer begins with kafka.clientId (a standby configured with another
 * client id fenced no zombie). A daemon of the earlier version, with a client id other than `drc`,
 * that crashed with a transaction open left it under the old id: read_committed readers of the topic
 * see nothing past it until the broker's transaction timeout (2 minutes by default). The upgraded daemon
 * claims the old id once at start, which aborts it: a's rows reach b at once.
 */
import { afterEach, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { startDaemon, type Daemon } from '../../src/daemon/wiring.js';
import type { AtomicPublisher } from '../../src/model/ports.js';
import { changesTopic } from '../../src/model/topics.js';
import { createTransport } from '../../src/transport/select.js';
import { describeWithServers } from '../support/env.js';
import { converge, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';
import { testLogger } from '../support/test-logger.js';

const log = testLogger();

describeWithServers('capture producer id of earlier versions', () => {
  let s: Scenario | undefined;
  let legacy: (AtomicPublisher & { connect(): Promise<void> }) | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await legacy?.close().catch(() => undefined);
    legacy = undefined;
    await s?.close();
    s = undefined;
  });

  it('a transaction left open under <clientId>.<prefix>.<ezone>.capture is aborted at start: it holds no reader back', async () => {
    s = await scenario('legacy_txn_id', {}, { ezones: ['a', 'b'] });
    const config: Config = { ...s.config, kafka: { ...s.config.kafka, clientId: 'drc-site1' } };
    expect(config.kafka.transactionTimeout, 'the timeout the open transaction would otherwise hold readers for').toBeGreaterThanOrEqual(60_000);
    for (const ez of ['a', 'b']) await s.db[ez]!.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    // What a crashed daemon of the earlier version leaves: an open transaction on a.changes under the old id.
    const topic = changesTopic(s.prefix, 'a');
    const transport = await createTransport(config.kafka, { clientId: 'drc-test-legacy', log });
    await transport.ensureTopics([{ topic, partitions: 1, replicationFactor: -1 }]);
    legacy = transport.atomicPublisher(`drc-site1.${s.prefix}.a.capture`, 1 << 20);
    await legacy.connect();
    const batch = await legacy.begin();
    await batch.send([{ topic, key: 'k', value: Buffer.from('left open by a crashed daemon') }]);

    for (const ez of ['a', 'b']) daemons.push(await startDaemon(config, ez, log.child({ ezone: ez })));
    await s.db.a!.query("INSERT INTO t (id, v) VALUES (1, 'after the upgrade')");
    // Well within the transaction timeout: only the abort at a's start lets b read past the open transaction.
    await converge(s, 't', ['a', 'b'], { rows: 1, timeoutMs: 30_000 });
  }, 120_000);
});
