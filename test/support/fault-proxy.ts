/**
 * A TCP proxy for fault injection between a daemon and MySQL or Kafka: pass traffic, add latency,
 * cut every connection, or blackhole (connections stay open, nothing gets through — a partition).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class FaultProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private blackholed = false;
  latencyMs = 0;

  constructor(
    private readonly targetPort: number,
    readonly listenPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect({ host: this.targetHost, port: this.targetPort });
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const forward = (from: Socket, to: Socket) =>
        from.on('data', (chunk: Buffer) => {
          if (this.blackholed) return; // dropped: the peer just waits
          if (this.latencyMs > 0) setTimeout(() => to.write(chunk), this.latencyMs);
          else to.write(chunk);
        });
      forward(client, upstream);
      forward(upstream, client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
  }

  /** Reset every open connection (new ones still pass). */
  cut(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  /** Partition: drop every byte both ways (connections stay open) until healed. */
  blackhole(on: boolean): void {
    this.blackholed = on;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
