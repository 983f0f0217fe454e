/**
 * The capture producer of an ezone: one transactional id for every daemon of the ezone, whatever its
 * kafka.clientId (a standby or a successor configured with another client id must still fence a zombie).
 */
import type { KafkaConfig } from '../config/schema.js';
import type { AtomicPublisher, KafkaTransport } from '../model/ports.js';
import type { Logger } from '../ops/logger.js';

/** The transactional id of an ezone's capture producer. */
export const captureTransactionalId = (topicPrefix: string, ezone: string): string => `drc.${topicPrefix}.${ezone}.capture`;

/**
 * Versions before this one named the capture producer `<kafka.clientId>.<prefix>.<ezone>.capture`. With
 * a client id other than `drc`, claim that id once too: a transaction a daemon of that version left open
 * (it crashed before the upgrade) is aborted now, instead of holding every read_committed reader of the
 * topic back until its transaction timeout, and such a daemon still running is fenced.
 */
async function fenceLegacyCapture(kafka: KafkaTransport, config: KafkaConfig, ezone: string, log: Logger): Promise<void> {
  const legacy = `${config.clientId}.${config.topicPrefix}.${ezone}.capture`;
  if (legacy === captureTransactionalId(config.topicPrefix, ezone)) return;
  const old = kafka.atomicPublisher(legacy, config.maxMessageBytes + 4096);
  try {
    await old.connect();
    log.info({ transactionalId: legacy }, 'claimed the capture producer id of earlier versions (what it left open is aborted)');
  } catch (err) {
    log.warn({ err, transactionalId: legacy }, 'could not claim the capture producer id of earlier versions: a transaction an earlier version left open holds readers back until its timeout');
  } finally {
    await old.close().catch(() => undefined);
  }
}

/**
 * The capture producer, connected: claiming the transactional id first fences a zombie and aborts what
 * it left open, so the tail read next sees only committed transactions.
 */
export async function openCapturePublisher(kafka: KafkaTransport, config: KafkaConfig, ezone: string, log: Logger): Promise<AtomicPublisher> {
  const publisher = kafka.atomicPublisher(captureTransactionalId(config.topicPrefix, ezone), config.maxMessageBytes + 4096);
  await publisher.connect();
  await fenceLegacyCapture(kafka, config, ezone, log);
  return publisher;
}
