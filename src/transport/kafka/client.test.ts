import { describe, expect, it } from 'vitest';
import { errorLevel } from './client.js';

describe('kafkajs error entries', () => {
  it('a broker answer to one request (correlationId) and an attempt being retried (retryCount) are debug lines, not warnings', () => {
    // connection.js: `Response Produce(key: 0, version: 7)` with the answer CONCURRENT_TRANSACTIONS, retried by kafkajs.
    expect(errorLevel({ error: 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing', correlationId: 12, size: 40 })).toBe('debug');
    expect(errorLevel({ retryCount: 0, retryTime: 5 })).toBe('debug');
  });

  it('anything else a kafkajs error entry says stays a warning (a lost connection)', () => {
    expect(errorLevel({ broker: '127.0.0.1:9092', error: 'Connection error: connect ECONNREFUSED' })).toBe('warn');
  });
});
