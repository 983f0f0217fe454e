/**
 * kafka.ssl and kafka.sasl (config/security.ts) → kafkajs options. The one place where the config's
 * security shape meets a Kafka client: another adapter maps the same shape in its own function.
 * Certificate files are read here, when a client is created; an OAUTHBEARER token file is re-read on
 * every authentication, so a token agent can rotate it underneath a running daemon.
 */
import type { KafkaConfig as KafkaJsConfig, SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../../config/schema.js';
import { kafkaTlsFiles, readSecretFile } from '../../config/security.js';

/** `ssl` and `sasl` for `new Kafka(…)`. */
export function kafkajsSecurity(config: Pick<KafkaConfig, 'ssl' | 'sasl'>): Pick<KafkaJsConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaJsConfig, 'ssl' | 'sasl'> = {};
  const ssl = config.ssl;
  if (ssl === true) out.ssl = true;
  else if (ssl && typeof ssl === 'object') out.ssl = kafkaTlsFiles(ssl);
  const sasl = config.sasl;
  if (sasl?.mechanism === 'oauthbearer') {
    const file = sasl.tokenFile as string;
    out.sasl = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: readSecretFile(file) }) };
  } else if (sasl) {
    out.sasl = { mechanism: sasl.mechanism, username: sasl.username ?? '', password: sasl.password } as SASLOptions;
  }
  return out;
}

