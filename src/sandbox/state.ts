import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { MariaDbAccounts, MariaDbSpec } from './mariadb.js';
import type { KafkaSpec } from './kafka.js';
import type { SandboxPki } from './certs.js';

/** What `sandbox up` started, kept in `<dir>/sandbox.json` (mode 0600: it holds passwords). */
export interface SandboxState extends MariaDbAccounts {
  version: 1;
  ezones: (MariaDbSpec & { pid?: number })[];
  kafka: KafkaSpec & { pid?: number };
  /** `sandbox up --tls`: the private PKI (sandbox/certs.ts). */
  tls?: { pki: SandboxPki };
}

export const stateFile = (dir: string) => join(dir, 'sandbox.json');
export const configFile = (dir: string) => join(dir, 'drc.yaml');

export function readState(dir: string): SandboxState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SandboxState;
  } catch (err) {
    throw new SandboxError(`${file} is unreadable; stop leftover servers by hand and delete it`, { cause: err });
  }
}

export function writeState(dir: string, state: SandboxState): void {
  const tmp = `${stateFile(dir)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, stateFile(dir));
}
