/**
 * The Node runtime a daemon should run with. A bounded V8 heap keeps resident memory near the sizing
 * in the README: left alone, V8 grows the heap lazily (bench, 2026-11-21: RSS 270–320 MB while a
 * 100 MB transaction passed; with these flags 150/246 MB for capture/apply of a 1 GB one). A young
 * generation of 8 MB semi-spaces instead of 4 keeps capture's GC share down (about 12% faster).
 * The deploy artefacts set these flags.
 */
import { getHeapStatistics } from 'node:v8';
import type { Config } from '../config/schema.js';

/** The old-generation limit the deploy artefacts set (MB): enough for two ezones at the default apply buffer. */
export const DAEMON_HEAP_MB = 192;
export const DAEMON_NODE_OPTIONS = `--max-old-space-size=${DAEMON_HEAP_MB} --max-semi-space-size=8`;

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

/** What a daemon's memory limit should add to its old-generation limit (MB): young generation, code, Buffers (README "Sizing"). */
export const MEMORY_MARGIN_MB = 192;

/** The old-generation limit for this config (MB): the need in steps of 16 MB, never below DAEMON_HEAP_MB. */
export const heapLimitFor = (config: Pick<Config, 'ezones' | 'apply'>): number => Math.max(DAEMON_HEAP_MB, Math.ceil(heapNeedMb(config) / 16) * 16);

/** The NODE_OPTIONS a daemon with this config should run with: the deploy artefacts' flags, the old generation raised to heapLimitFor. */
export function nodeOptionsFor(config: Pick<Config, 'ezones' | 'apply'>): string {
  return DAEMON_NODE_OPTIONS.replace(`=${DAEMON_HEAP_MB} `, `=${heapLimitFor(config)} `);
}

/**
 * A warning when this process's heap limit is below what the config may need (undefined when fine),
 * with the exact NODE_OPTIONS to set and the memory limit that goes with them.
 */
export function heapWarning(config: Pick<Config, 'ezones' | 'apply'>, limitBytes = getHeapStatistics().heap_size_limit): { limitMb: number; needMb: number; nodeOptions: string; memoryLimitMb: number } | undefined {
  const limitMb = Math.floor(limitBytes / MB);
  const needMb = heapNeedMb(config);
  if (limitMb >= needMb) return undefined;
  return { limitMb, needMb, nodeOptions: nodeOptionsFor(config), memoryLimitMb: heapLimitFor(config) + MEMORY_MARGIN_MB };
}

/** The Node.js release line DRC runs on (LTS). The project brings it: the `node` devDependency. */
export const NODE_MAJOR = 24;

/** A warning when this process runs on another Node.js major than DRC's (undefined when it is the one). */
export function runtimeWarning(version = process.versions.node): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major === NODE_MAJOR) return undefined;
  return `DRC runs on Node.js ${NODE_MAJOR} LTS; this process runs ${version}${major < NODE_MAJOR ? ', which is older (Node 20 reached end of life on 2026-04-30)' : ', which is not tested'}: start it through npm/npx in the project (node_modules/.bin/node) or install Node.js ${NODE_MAJOR}`;
}
