import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Health } from './health.js';

/** `/metrics` (Prometheus text) and `/healthz` (200 or 503 with the problems as JSON). */
export async function startHttp(port: number, registry: Registry, health: () => Health, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(err.message);
        },
      );
      return;
    }
    if (req.method === 'GET' && url === '/healthz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', role: h.role ?? 'active', problems: h.problems, warnings: h.warnings ?? [], ...(h.routing ? { routing: h.routing } : {}) }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics or /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
