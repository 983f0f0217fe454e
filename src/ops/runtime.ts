/**
 * The Node runtime a daemon should run with. A bounded V8 heap keeps resident memory near the sizing
 * in the README: left alone, V8 grows the heap lazily (RSS 250–320 MB while a 100 MB transaction
 * passed; 135–160 MB with these flags, bench, 2026-11-21). The deploy artefacts set these flags.
 */
import { getHeapStatistics } from 'node:v8';
import type { Config } from '../config/schema.js';

export const DAEMON_NODE_OPTIONS = '--max-old-space-size=192';

const MB = 2 ** 20;

/**
 * Heap a daemon of one ezone may need, in MB: a base, plus each origin's apply buffer decoded (JSON
 * to objects takes about three times its bytes). The capture queue and Kafka fetches are Buffers,
 * outside the V8 heap.
 */
export function heapNeedMb(config: Pick<Config, 'ezones' | 'apply'>): number {
  const origins = Object.keys(config.ezones).length - 1;
  return Math.ceil(80 + origins * ((3 * config.apply.maxBufferBytes) / MB));
}

/** A warning when this process's heap limit is below what the config may need (undefined when fine). */
export function heapWarning(config: Pick<Config, 'ezones' | 'apply'>, limitBytes = getHeapStatistics().heap_size_limit): { limitMb: number; needMb: number } | undefined {
  const limitMb = Math.floor(limitBytes / MB);
  const needMb = heapNeedMb(config);
  return limitMb < needMb ? { limitMb, needMb } : undefined;
}
