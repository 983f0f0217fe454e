import { stringify } from 'yaml';
import type { ConfigInput } from '../config/schema.js';
import type { SandboxState } from './state.js';

/** Replica server id of an ezone's capture connection: distinct from every sandbox server id. */
const captureServerId = (serverId: number) => 1000 + serverId;

/** The complete topology config for the sandbox, ready for `drc run --config <dir>/drc.yaml --ezone <name>`. */
export function sandboxConfig(state: SandboxState): ConfigInput {
  return {
    version: 1,
    kafka: { brokers: [`127.0.0.1:${state.kafka.port}`], topicPrefix: 'drc' },
    ezones: Object.fromEntries(
      state.ezones.map((ez) => [
        ez.name,
        {
          mysql: { host: '127.0.0.1', port: ez.port, user: state.drcUser, password: state.drcPassword, flavor: 'mariadb' },
          serverId: captureServerId(ez.serverId),
        },
      ]),
    ),
  };
}

export function renderSandboxConfig(state: SandboxState): string {
  return [
    '# Written by `drc sandbox up`: the local sandbox topology (private MariaDB servers and one Kafka broker).',
    '# Passwords are the sandbox\'s own; in production write password: ${ENV_VAR} instead.',
    stringify(sandboxConfig(state)),
  ].join('\n');
}
