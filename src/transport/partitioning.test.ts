import { compatibilityPartitioner, defaultPartitioner } from '@platformatic/kafka';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { producerSettings } from './platformatic/publisher.js';

/** The partition kafkajs' DefaultPartitioner (the kafkajs adapter's) picks for `key` among `count`. */
function kafkajsPartition(key: string, count: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: count }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
}

/** The partition the platformatic adapter's producers pick: its partitioner, then the library's `% count`. */
function platformaticPartition(key: string, count: number): number {
  const partitioner = producerSettings({ clientId: 'x', bootstrapBrokers: ['127.0.0.1:9092'] }).partitioner;
  return partitioner({ topic: 't', key, value: undefined }, Buffer.from(key, 'utf8')) % count;
}

describe('partitioning: a notify key lands on the same partition whichever client wrote it', () => {
  const keys = [
    ...Array.from({ length: 5000 }, (_, i) => `shop.orders:[${i}]`),
    ...Array.from({ length: 500 }, (_, i) => `user:${'é漢'.repeat(i % 7)}${i * 7919}`),
    '',
    'a',
    'drc.heartbeat:["A"]',
  ];

  it.each([1, 2, 3, 7, 12, 64])('the platformatic adapter and kafkajs agree for %i partitions', (count) => {
    const differing = keys.filter((k) => platformaticPartition(k, count) !== kafkajsPartition(k, count));
    expect(differing).toEqual([]);
  });

  it('the library default would move keys (why the adapter sets its own)', () => {
    const moved = keys.filter((k) => (defaultPartitioner({ topic: 't' }, Buffer.from(k)) % 3) !== kafkajsPartition(k, 3));
    expect(moved.length).toBeGreaterThan(0);
    expect(compatibilityPartitioner).toBe(producerSettings({ clientId: 'x', bootstrapBrokers: ['h:1'] }).partitioner);
  });
});
