import { Admin, type BaseOptions } from '@platformatic/kafka';
import type { TopicSpec } from '../../model/ports.js';
import { backoff } from './options.js';
import { toDrcError } from './errors.js';

/** Attempts of ensureTopics while the brokers answer that a topic is still being created. */
const ATTEMPTS = 10;

/** Broker answers that only say someone else created the topic first. */
const EXISTS = 'TOPIC_ALREADY_EXISTS';

/**
 * Create the topics that do not exist yet and wait until each partition has a leader (idempotent;
 * safe when several daemons race: the topic another daemon created first answers "already exists",
 * and a fresh topic has no leader for a moment — waited for, not fatal).
 */
export async function ensureTopics(base: BaseOptions, specs: TopicSpec[]): Promise<void> {
  const admin = new Admin({ ...base, retries: 3, retryDelay: backoff(200, 2000) });
  try {
    const existing = new Set(await admin.listTopics());
    for (const s of specs.filter((spec) => !existing.has(spec.topic))) {
      await admin
        .createTopics({
          topics: [s.topic],
          partitions: s.partitions,
          replicas: s.replicationFactor,
          configs: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
        })
        .catch((err: unknown) => {
          if (!answers(err, EXISTS)) throw err;
        });
    }
    for (let attempt = 1; ; attempt++) {
      const metadata = await admin.metadata({ topics: specs.map((s) => s.topic), forceUpdate: true });
      const leaderless = specs.filter((s) => {
        const t = metadata.topics.get(s.topic);
        return !t || t.partitions.length < s.partitions || t.partitions.some((p) => p === undefined || p.leader < 0);
      });
      if (leaderless.length === 0) return;
      if (attempt >= ATTEMPTS) throw Object.assign(new Error(`topics without a leader yet: ${leaderless.map((s) => s.topic).join(', ')}`));
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  } catch (err) {
    throw toDrcError(err, base);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** True when a broker answer in the error (or the errors it aggregates) is `apiId`. */
function answers(err: unknown, apiId: string): boolean {
  const stack = [err];
  for (let i = 0; i < stack.length && i < 64; i++) {
    const e = stack[i] as { apiId?: string; errors?: unknown[] } | undefined;
    if (!e) continue;
    if (e.apiId === apiId) return true;
    stack.push(...(e.errors ?? []));
  }
  return false;
}
