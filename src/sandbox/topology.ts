import { stringify } from 'yaml';
import type { ConfigInput } from '../config/schema.js';

/** The facts a topology config is written from (the sandbox's servers, or test containers). */
export interface TopologyFacts {
  kafkaBrokers: string[];
  drcUser: string;
  drcPassword: string;
  flavor: 'mariadb' | 'mysql';
  ezones: { name: string; host: string; port: number; serverId: number }[];
}

/** Replica server id of an ezone's capture connection: distinct from every server's own id. */
const captureServerId = (serverId: number) => 1000 + serverId;

/** A complete topology config, ready for `drc run --config <file> --ezone <name>`. */
export function topologyConfig(facts: TopologyFacts): ConfigInput {
  return {
    version: 1,
    kafka: { brokers: facts.kafkaBrokers, topicPrefix: 'drc' },
    ezones: Object.fromEntries(
      facts.ezones.map((ez) => [
        ez.name,
        {
          mysql: { host: ez.host, port: ez.port, user: facts.drcUser, password: facts.drcPassword, flavor: facts.flavor },
          serverId: captureServerId(ez.serverId),
        },
      ]),
    ),
  };
}

export function renderTopologyConfig(facts: TopologyFacts, origin: string): string {
  return [
    `# Written by ${origin}.`,
    "# Passwords are the sandbox's own; in production write password: ${ENV_VAR} instead.",
    stringify(topologyConfig(facts)),
  ].join('\n');
}
