/**
 * The transport contract (model/ports.ts KafkaTransport) against the real broker, once per client
 * library (`kafka.client`): what capture and apply rely on must hold whichever one is configured.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type KafkaConfig } from '../../src/config/schema.js';
import { ErrorCode } from '../../src/errors.js';
import type { KafkaTransport, StoredMessage } from '../../src/model/ports.js';
import { createBrokerInspector, createTransport } from '../../src/transport/select.js';
import { describeWithServers, infra } from '../support/env.js';
import { testLogger } from '../support/test-logger.js';

const CLIENTS = ['platformatic', 'kafkajs'] as const;

function kafkaConfig(client: (typeof CLIENTS)[number]): KafkaConfig {
  return configSchema.shape.kafka.parse({ brokers: infra().kafka.brokers, client });
}

const msg = (topic: string, i: number, pad = 0) => ({ topic, key: `k${i % 7}`, value: Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(pad) })) });
const indexOf = (m: StoredMessage) => (JSON.parse(m.value!.toString()) as { i: number }).i;

/** Read partition 0 of `topic` from `offset` through the transport's stream until `count` messages came. */
async function readStream(t: KafkaTransport, topic: string, offset: string | undefined, count: number, timeoutMs = 60_000): Promise<StoredMessage[]> {
  const stream = t.messageStream(topic, `test.${randomUUID()}`);
  const got: StoredMessage[] = [];
  let inHandler = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${count} messages arrived`)), timeoutMs);
      void stream.start(
        offset,
        async (m) => {
          inHandler++;
          if (inHandler > 1) reject(new Error('two handler calls at once'));
          got.push(m);
          await new Promise((r) => setImmediate(r));
          inHandler--;
          if (got.length === count) {
            clearTimeout(timer);
            resolve();
          }
        },
        reject,
      ).catch(reject);
    });
    // Nothing more arrives than what was committed.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await stream.stop();
  }
  return got;
}

describeWithServers('kafka transport contract', () => {
  const log = testLogger();
  const raw = () => new Kafka({ clientId: 'drc-test', brokers: infra().kafka.brokers, logLevel: logLevel.NOTHING });

  describe.each(CLIENTS)('kafka.client: %s', (client) => {
    const transport = () => createTransport(kafkaConfig(client), { clientId: `drc-test-${client}`, log });
    let t: KafkaTransport;
    beforeAll(async () => {
      t = await transport();
    });
    afterAll(() => t.close());

    it('ensureTopics creates missing topics with their settings and is idempotent when raced', async () => {
      const topic = `test.topics.${client}.${randomUUID()}`;
      const spec = { topic, partitions: 3, replicationFactor: -1, config: { 'max.message.bytes': '2000000' } };
      await Promise.all([t.ensureTopics([spec]), (await transport()).ensureTopics([spec])]);
      await t.ensureTopics([spec]);
      const admin = raw().admin();
      await admin.connect();
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['max.message.bytes'] }], includeSynonyms: false });
      await admin.disconnect();
      expect(meta.topics[0]!.partitions).toHaveLength(3);
      expect(configs.resources[0]!.configEntries[0]!.configValue).toBe('2000000');
    });

    it('publishes atomically: committed batches are read in order from any offset, aborted ones never', async () => {
      const topic = `test.roundtrip.${client}.${randomUUID()}`;
      await t.ensureTopics([{ topic, partitions: 1, replicationFactor: -1 }]);
      const publisher = t.atomicPublisher(`drc-test.${randomUUID()}`, 1_000_000);
      await publisher.connect();
      const sent: number[] = [];
      for (let b = 0; b < 10; b++) {
        const batch = await publisher.begin();
        const messages = Array.from({ length: 50 }, (_, j) => msg(topic, b * 50 + j, (b * 50 + j) % 300));
        await batch.send(messages);
        if (b % 3 === 1) {
          await batch.abort();
        } else {
          await batch.commit();
          sent.push(...messages.map((_, j) => b * 50 + j));
        }
      }
      await publisher.close();
      const all = await readStream(t, topic, undefined, sent.length);
      expect(all.map(indexOf)).toEqual(sent);
      expect(all.every((m, i) => i === 0 || BigInt(m.offset) > BigInt(all[i - 1]!.offset))).toBe(true);
      expect(all[0]!.key).toBe('k0');
      // From the offset of the 101st committed message on.
      const from = await readStream(t, topic, all[100]!.offset, sent.length - 100);
      expect(from.map(indexOf)).toEqual(sent.slice(100));
      // The tail: the last committed message satisfying a predicate, aborted ones never.
      const last = await t.lastCommittedMatching(topic, (m) => indexOf(m) % 50 === 0);
      expect(last && indexOf(last)).toBe(450);
      expect(await t.lastCommittedMatching(topic, () => false)).toBeUndefined();
    });

    it('fences a zombie: a new publisher with the same transactional id aborts its open transaction (larger than one fetch) and its commit fails as fenced', async () => {
      const topic = `test.fence.${client}.${randomUUID()}`;
      await t.ensureTopics([{ topic, partitions: 1, replicationFactor: -1, config: { 'max.message.bytes': '1100000' } }]);
      const id = `drc-test.${randomUUID()}`;
      const zombie = t.atomicPublisher(id, 1_000_000);
      await zombie.connect();
      const first = await zombie.begin();
      await first.send([msg(topic, 0)]);
      await first.commit();
      // About 9 MB in one open transaction: more than one fetch (4 MB) of a reader.
      const open = await zombie.begin();
      for (let part = 0; part < 3; part++) await open.send(Array.from({ length: 15 }, (_, j) => msg(topic, 1000 + part * 15 + j, 200_000)));
      const successor = t.atomicPublisher(id, 1_000_000);
      await successor.connect();
      await expect(open.commit()).rejects.toMatchObject({ code: ErrorCode.fenced });
      const next = await successor.begin();
      await next.send([msg(topic, 1)]);
      await next.commit();
      await successor.close();
      await zombie.close();
      const got = await readStream(t, topic, undefined, 2);
      expect(got.map(indexOf)).toEqual([0, 1]);
      expect(indexOf((await t.lastCommittedMatching(topic, () => true))!)).toBe(1);
    });

    it('publishes reports at least once and the inspector sees the brokers and the end of each topic', async () => {
      const topic = `test.events.${client}.${randomUUID()}`;
      await t.ensureTopics([{ topic, partitions: 1, replicationFactor: -1 }]);
      const events = t.eventPublisher(1_000_000);
      await events.connect();
      await events.publish(Array.from({ length: 20 }, (_, i) => ({ ...msg(topic, i), headers: { reason: 'test', origin: 'A' } })));
      await events.close();
      const inspector = await createBrokerInspector(kafkaConfig(client), `drc-test-${client}`, log);
      try {
        expect(await inspector.brokerCount()).toBe(1);
        const ends = await inspector.endOffsets([topic, `test.missing.${randomUUID()}`]);
        expect([...ends]).toEqual([[topic, '20']]);
      } finally {
        await inspector.close();
      }
      const got = await readStream(t, topic, undefined, 20);
      expect(got.map(indexOf)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    });
  });

  it('a key lands on the same partition whichever client wrote it (notify topics have several partitions)', async () => {
    const topic = `test.partitions.${randomUUID()}`;
    const keys = Array.from({ length: 200 }, (_, i) => `shop.orders:[${i * 31}]`);
    const [first, second] = await Promise.all(CLIENTS.map((client) => createTransport(kafkaConfig(client), { clientId: `drc-test-${client}`, log })));
    await first!.ensureTopics([{ topic, partitions: 7, replicationFactor: -1 }]);
    for (const [i, t] of [first!, second!].entries()) {
      const events = t.eventPublisher(1_000_000);
      await events.connect();
      await events.publish(keys.map((key) => ({ topic, key, value: Buffer.from(CLIENTS[i]!) })));
      await events.close();
    }
    const consumer = raw().consumer({ groupId: `test-${randomUUID()}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Map<string, Map<string, number>>(CLIENTS.map((c) => [c, new Map()]));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not every message arrived')), 60_000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.get(message.value!.toString())!.set(message.key!.toString(), partition);
          if ([...seen.values()].every((m) => m.size === keys.length)) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    const [a, b] = CLIENTS.map((c) => keys.map((k) => seen.get(c)!.get(k)));
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(7); // the keys spread over every partition
  });
});
