import { stringify } from 'yaml';
import type { ConfigInput } from '../config/schema.js';

/** The facts a topology config is written from (the sandbox's servers, or test containers). */
export interface TopologyFacts {
  kafkaBrokers: string[];
  drcUser: string;
  drcPassword: string;
  flavor: 'mariadb' | 'mysql';
  ezones: { name: string; host: string; port: number; serverId: number }[];
  /** TLS to MySQL with these files (mode verify_identity, client certificate) and to Kafka (mTLS). */
  tls?: { ca: string; cert: string; key: string };
  /** DRC's MySQL password from this file (passwordFile) instead of in the config. */
  drcPasswordFile?: string;
}

/** Replica server id of an ezone's capture connection: distinct from every server's own id. */
const captureServerId = (serverId: number) => 1000 + serverId;

/** A complete topology config, ready for `drc run --config <file> --ezone <name>`. */
export function topologyConfig(facts: TopologyFacts): ConfigInput {
  return {
    version: 1,
    kafka: { brokers: facts.kafkaBrokers, topicPrefix: 'drc', ...(facts.tls ? { ssl: { ...facts.tls } } : {}) },
    ezones: Object.fromEntries(
      facts.ezones.map((ez) => [
        ez.name,
        {
          mysql: {
            host: ez.host,
            port: ez.port,
            user: facts.drcUser,
            ...(facts.drcPasswordFile ? { passwordFile: facts.drcPasswordFile } : { password: facts.drcPassword }),
            flavor: facts.flavor,
            ...(facts.tls ? { tls: { mode: 'verify_identity' as const, ...facts.tls } } : {}),
          },
          serverId: captureServerId(ez.serverId),
        },
      ]),
    ),
  };
}

export function renderTopologyConfig(facts: TopologyFacts, origin: string): string {
  return [
    `# Written by ${origin}.`,
    "# Passwords are the sandbox's own; in production write password: ${ENV_VAR} or passwordFile: /path instead.",
    stringify(topologyConfig(facts)),
  ].join('\n');
}
