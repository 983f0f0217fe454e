import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { SandboxError } from '../errors.js';

/** The kernel's range for outgoing connections' local ports (Linux), or the usual default. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that is free right now, chosen outside the ephemeral range: a port the OS
 * hands out could be taken by any outgoing connection before our server binds it.
 */
export async function freePort(): Promise<number> {
  const [lo, hi] = ephemeralRange();
  const [from, to] = lo - 10_000 >= 1024 ? [10_000, lo - 1] : [hi + 1, 65_000];
  for (let i = 0; i < 100; i++) {
    const port = from + Math.floor(Math.random() * (to - from));
    if (await canBind(port)) return port;
  }
  throw new SandboxError(`no free port found between ${from} and ${to}`);
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function isPortOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (open: boolean) => {
      sock.destroy();
      resolve(open);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
