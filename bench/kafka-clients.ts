/**
 * Kafka clients side by side on one broker, in the capture publisher's pattern: one transaction per
 * shipped batch (begin, send, commit), one at a time, on a single-partition topic. Prints messages/s
 * and commit latency (begin → committed) p50/p99 per client and batch size, as JSON.
 *
 *   npm run build && tsc -p bench/tsconfig.json && node dist-bench/bench/kafka-clients.js --brokers 127.0.0.1:9092 [--seconds 10]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { configSchema } from '../src/config/schema.js';
import { createTransport } from '../src/transport/select.js';

const { values } = parseArgs({ options: { brokers: { type: 'string' }, seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' } } });
if (!values.brokers) throw new Error('--brokers host:port is required');
const seconds = Number(values.seconds);
const log = pino({ level: 'warn' });

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function measure(client: 'platformatic' | 'kafkajs', perTx: number, bytes: number) {
  const config = configSchema.shape.kafka.parse({ brokers: values.brokers!.split(','), client });
  const t = await createTransport(config, { clientId: `bench-${client}`, log });
  const topic = `bench.clients.${client}.${randomUUID()}`;
  await t.ensureTopics([{ topic, partitions: 1, replicationFactor: -1 }]);
  const publisher = t.atomicPublisher(`bench.${randomUUID()}`, 1_000_000);
  await publisher.connect();
  const value = Buffer.alloc(bytes, 'x');
  const latencies: number[] = [];
  let messages = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const t0 = performance.now();
    const batch = await publisher.begin();
    await batch.send(Array.from({ length: perTx }, (_, i) => ({ topic, key: `k${i}`, value })));
    await batch.commit();
    latencies.push(performance.now() - t0);
    messages += perTx;
  }
  const elapsed = (performance.now() - started) / 1000;
  await publisher.close();
  await t.close();
  latencies.sort((a, b) => a - b);
  return {
    client,
    messagesPerTx: perTx,
    valueBytes: bytes,
    transactions: latencies.length,
    txPerSec: Math.round(latencies.length / elapsed),
    messagesPerSec: Math.round(messages / elapsed),
    commitP50Ms: Number(quantile(latencies, 0.5).toFixed(2)),
    commitP99Ms: Number(quantile(latencies, 0.99).toFixed(2)),
  };
}

const results = [];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [perTx, bytes] of [
    [1, 300],
    [50, 300],
    [500, 300],
  ] as const) {
    for (const client of ['kafkajs', 'platformatic'] as const) results.push({ round, ...(await measure(client, perTx, bytes)) });
  }
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
