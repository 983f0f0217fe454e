/**
 * A Kafka outage (or a stall) longer than the transaction timeout is not a zombie (issue 15 leftover).
 * The broker aborts a transaction left open past its timeout and bumps the producer's epoch; the old
 * producer's next request is answered INVALID_PRODUCER_EPOCH / PRODUCER_FENCED, as a zombie's is. With
 * each client adapter, against the real broker (kafka.transactionTimeout shortened to 2 s): that answer
 * to a timed-out transaction is a retryable TransactionTimedOutError, the producer claimed again commits,
 * and read_committed readers see nothing of the aborted transaction; a successor with the same
 * transactional id still fences the older producer (FencedError, fatal).
 */
import { randomBytes } from 'node:crypto';
import { Consumer, FetchIsolationLevels } from '@platformatic/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/loader.js';
import { FencedError, TransactionTimedOutError } from '../../src/errors.js';
import type { AtomicPublisher, KafkaTransport } from '../../src/model/ports.js';
import { createTransport } from '../../src/transport/select.js';
import { describeWithServers, infra } from '../support/env.js';
import { testLogger } from '../support/test-logger.js';
import { eventually } from '../support/wait.js';

const log = testLogger();
const TIMEOUT = '2s';

describeWithServers('a transaction the broker timed out is not a zombie', () => {
  /** Reads the last stable offset (the end of what read_committed readers see): it passes an open transaction only once that ends. */
  let reader: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  const open: AtomicPublisher[] = [];
  afterAll(async () => {
    for (const p of open) await p.close().catch(() => undefined);
    await reader?.close();
  });

  async function lastStable(topic: string): Promise<bigint> {
    reader ??= new Consumer({ clientId: 'drc-test-lso', bootstrapBrokers: infra().kafka.brokers, groupId: `drc-test-lso-${randomBytes(4).toString('hex')}` });
    const offsets = await reader.listOffsets({ topics: [topic], timestamp: -1n, isolationLevel: FetchIsolationLevels.READ_COMMITTED });
    return offsets.get(topic)?.[0] ?? 0n;
  }

  describe.each(['platformatic', 'kafkajs'] as const)('kafka.client: %s', (client) => {
    const tag = `${client}-${randomBytes(3).toString('hex')}`;
    const topic = `drc-test-txn-timeout-${tag}`;
    /** A transport per kafka.transactionTimeout. */
    const transports = new Map<string, KafkaTransport>();
    let transport: KafkaTransport;

    const publisher = async (transactionalId: string, timeout = TIMEOUT) => {
      if (!transports.has(timeout)) transports.set(timeout, await newTransport(timeout));
      transport = transports.get(timeout)!;
      const p = transport.atomicPublisher(transactionalId, 1 << 20);
      open.push(p);
      await p.connect();
      return p;
    };
    const newTransport = async (timeout: string) => {
      const config = parseConfig(
        stringify({ kafka: { brokers: infra().kafka.brokers, client, transactionTimeout: timeout }, ezones: { a: { mysql: { host: '127.0.0.1' }, serverId: 1 } } }),
        'test.yaml',
        {},
      );
      const t = await createTransport(config.kafka, { clientId: `drc-test-${tag}`, log });
      await t.ensureTopics([{ topic, partitions: 1, replicationFactor: -1 }]);
      return t;
    };
    const message = (text: string) => [{ topic, key: 'k', value: Buffer.from(text) }];

    it('the broker aborts a transaction open past its timeout: retryable, the producer claimed again commits, nothing of the aborted one is visible', async () => {
      const p = await publisher(`drc-test-timeout-${tag}`);
      const start = await lastStable(topic);
      const batch = await p.begin();
      await batch.send(message('aborted by the broker'));
      // Its abort marker moves the last stable offset past the message (offsets: message, marker); with
      // the default timeout (2 min) this would not happen within the wait: kafka.transactionTimeout reached the producer.
      await eventually('the broker aborted the open transaction', async () => (await lastStable(topic)) >= start + 2n, 30_000);
      const err = await batch.commit().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TransactionTimedOutError);
      expect(err).toMatchObject({ code: 'DRC_KAFKA_TRANSACTION_TIMED_OUT', retryable: true, fatal: false });
      expect((err as Error).message).toMatch(/past its timeout of 2 s \(kafka\.transactionTimeout\)/);

      // What capture's restart does: claim the producer again (a new epoch), publish from the last committed position.
      await p.reset();
      const next = await p.begin();
      await next.send(message('committed after the claim'));
      await next.commit();
      // Visible once the coordinator has written the commit's markers (they follow EndTxn's answer).
      await eventually(
        'the claimed producer\'s commit visible to read_committed readers',
        async () => (await transport.lastCommittedMatching(topic, () => true, { timeoutMs: 20_000 }))?.value?.toString() === 'committed after the claim',
        20_000,
      );
      expect(await transport.lastCommittedMatching(topic, (m) => m.value?.toString() === 'aborted by the broker', { timeoutMs: 20_000 })).toBeUndefined();
    }, 60_000);

    it('a successor with the same transactional id still fences the older producer: fatal', async () => {
      const id = `drc-test-zombie-${tag}`;
      // The default timeout: a successor's claim may take seconds on a loaded machine, the zombie's transaction must not time out meanwhile.
      const zombie = await publisher(id, '2m');
      const batch = await zombie.begin();
      await batch.send(message('from the zombie'));
      await publisher(id, '2m'); // the successor claims the id: a new epoch, the zombie's transaction aborted
      const err = await batch.commit().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FencedError);
      expect(err).toMatchObject({ code: 'DRC_FENCED', fatal: true });
      expect(await transport.lastCommittedMatching(topic, (m) => m.value?.toString() === 'from the zombie', { timeoutMs: 20_000 })).toBeUndefined();
    }, 60_000);
  });
});
