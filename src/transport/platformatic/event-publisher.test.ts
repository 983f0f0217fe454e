import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PlatformaticEventPublisher } from './event-publisher.js';

describe('PlatformaticEventPublisher.close', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('ends a connect that is still retrying (no broker answers): shutdown is not held by an outage', async () => {
    // A port that accepts and drops every connection: the producer's metadata request retries without limit.
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const publisher = new PlatformaticEventPublisher({ clientId: 'close-test', bootstrapBrokers: [`127.0.0.1:${port}`] }, 1_000_000);
    const connecting = publisher.connect();
    const outcome = connecting.then(
      () => 'connected',
      () => 'failed',
    );
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    await publisher.close();
    expect(await outcome).toBe('failed');
    expect(Date.now() - started).toBeLessThan(2000);
  }, 10_000);
});
