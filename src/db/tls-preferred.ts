/**
 * mysql.tls.mode `preferred` (db/tls.ts): TLS when the server offers it, plaintext when it does not,
 * as the mysql client's `--ssl-mode=PREFERRED`. mysql2 only knows "TLS or fail"
 * (HANDSHAKE_NO_SSL_SUPPORT), so this patch peeks at the server's greeting (its capability flags)
 * before mysql2's handshake reads it and, for options marked preferred, drops `ssl` for that one
 * connection (a per-connection view of the shared config; the pool's options stay as they are).
 * Checked against mysql2 3.24 (lib/commands/client_handshake.js, handshakeInit).
 */
import { createRequire } from 'node:module';

/** Marks an `ssl` options object as mode preferred. */
export const PREFERRED_TLS = Symbol.for('drc.tls.preferred');

const CLIENT_SSL = 0x800;

interface Packet {
  reset(): void;
}
interface Conn {
  config: { ssl?: unknown };
}

let installed = false;

export function installPreferredTls(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const lib = (p: string) => new URL(p, import.meta.resolve('mysql2')).pathname;
  const ClientHandshake = require(lib('./lib/commands/client_handshake.js')) as { prototype: { handshakeInit(p: Packet, c: Conn): unknown } };
  const Handshake = require(lib('./lib/packets/handshake.js')) as { fromPacket(p: Packet): { capabilityFlags: number } };
  const original = ClientHandshake.prototype.handshakeInit;
  ClientHandshake.prototype.handshakeInit = function (this: unknown, packet: Packet, connection: Conn) {
    const ssl = connection.config.ssl as Record<symbol, unknown> | undefined;
    if (ssl && ssl[PREFERRED_TLS]) {
      const offered = (Handshake.fromPacket(packet).capabilityFlags & CLIENT_SSL) !== 0;
      packet.reset();
      if (!offered) connection.config = Object.create(connection.config, { ssl: { value: false, enumerable: true } }) as Conn['config'];
    }
    return original.call(this, packet, connection);
  };
}

installPreferredTls();
