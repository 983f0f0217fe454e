import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { expect, it } from 'vitest';
import { describeWithServers, infra } from '../support/env.js';

describeWithServers('kafka broker', () => {
  it('round-trips messages in order through an idempotent producer and a consumer group', async () => {
    const kafka = new Kafka({ clientId: 'drc-test', brokers: infra().kafka.brokers, logLevel: logLevel.NOTHING });
    const topic = `test.roundtrip.${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 500 }, (_, i) => ({ key: `k${i % 7}`, value: JSON.stringify({ i, payload: 'x'.repeat(i) }) }));
    for (let i = 0; i < sent.length; i += 100) await producer.send({ topic, acks: -1, messages: sent.slice(i, i + 100) });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; value: string; offset: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${sent.length} messages arrived`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          received.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', offset: message.offset });
          if (received.length === sent.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    expect(received.map(({ key, value }) => ({ key, value }))).toEqual(sent);
    expect(received.map((m) => Number(m.offset))).toEqual(sent.map((_, i) => i));
  });
});
