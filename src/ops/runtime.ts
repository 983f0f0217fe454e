/**
 * The Node runtime a daemon runs with, sized from its config. `drc run` restarts itself in place with
 * it (process.execve: same pid, same stdio) unless it already has it, so every way of starting a
 * daemon (systemd, the image, `npx drc run`, the bench) gets the same flags without repeating them.
 *
 * - A bounded old generation: left alone, V8 grows the heap lazily far beyond what is live (bench,
 *   2026-11-21: RSS 270–320 MB while a 100 MB transaction passed).
 * - Semi-spaces of SEMI_SPACE_MB: Node 24's default maximum is 64 MB each (a young generation of up
 *   to 128 MB committed); 4 instead of 8 cost capture about 12% (GC share), fewer than 8 is not taken.
 * - MALLOC_ARENA_MAX: glibc gives each thread that allocates an arena of its own (up to 8 per core),
 *   and memory freed in one is not reused by another; the daemon has one JS thread. And a fixed
 *   mmap threshold (DAEMON_ENV).
 */
import { getHeapStatistics } from 'node:v8';
import type { Config } from '../config/schema.js';

const MB = 2 ** 20;

/** Each semi-space of the young generation, in MB (the new space is two of them). */
export const SEMI_SPACE_MB = 8;

/**
 * What the daemon sets in its environment (read by glibc at start, hence the restart). A fixed mmap
 * threshold: glibc raises it to the size of every large block freed (up to 32 MB), after which the
 * Buffers of chunk messages and statements (about 1 MB each) come from the arenas and their memory
 * stays resident after they are freed; below a fixed 128 kB threshold each is mapped and unmapped.
 */
export const DAEMON_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };

/** Set in the restarted daemon's environment; set it to anything beforehand to keep the runtime as started. */
export const RUNTIME_MARK = 'DRC_NODE_RUNTIME';

type HeapConfig = Pick<Config, 'ezones' | 'apply'>;

/**
 * Heap a daemon of one ezone may need, in MB: a base, plus each origin's apply buffer decoded (JSON
 * to objects takes about three times its bytes). The capture queue and Kafka fetches are Buffers,
 * outside the V8 heap.
 */
export function heapNeedMb(config: HeapConfig): number {
  const origins = Object.keys(config.ezones).length - 1;
  return Math.ceil(80 + origins * ((3 * config.apply.maxBufferBytes) / MB));
}

/** The old generation's limit (MB): the need plus a quarter of headroom, in steps of 16 MB. */
export function heapLimitMb(config: HeapConfig): number {
  return Math.ceil((heapNeedMb(config) * 1.25) / 16) * 16;
}

/** The V8 flags of a daemon with this config. */
export function daemonNodeFlags(config: HeapConfig): string[] {
  return [`--max-old-space-size=${heapLimitMb(config)}`, `--max-semi-space-size=${SEMI_SPACE_MB}`];
}

interface ProcessLike {
  execPath: string;
  execArgv: string[];
  argv: string[];
  env: NodeJS.ProcessEnv;
}

/** Whether a Node option (`--max-old-space-size`) is given in these arguments (either spelling, `-` or `_`). */
const hasOption = (given: string, flag: string): boolean => {
  const name = flag.slice(2, flag.indexOf('=')).replace(/[-_]/g, '[-_]');
  return new RegExp(`(^|\\s)--${name}(=|\\s|$)`).test(given);
};

/**
 * The arguments and environment `drc run` restarts itself with, or undefined when there is nothing
 * to add. What the operator gave (NODE_OPTIONS, node's own arguments, the environment) is kept and
 * wins; RUNTIME_MARK set means done (or not wanted).
 */
export function daemonRestart(config: HeapConfig, proc: ProcessLike): { args: string[]; env: NodeJS.ProcessEnv } | undefined {
  if (proc.env[RUNTIME_MARK] !== undefined) return undefined;
  const given = `${proc.env.NODE_OPTIONS ?? ''} ${proc.execArgv.join(' ')}`;
  const flags = daemonNodeFlags(config).filter((f) => !hasOption(given, f));
  const env = Object.entries(DAEMON_ENV).filter(([k]) => proc.env[k] === undefined);
  if (flags.length === 0 && env.length === 0) return undefined;
  return {
    args: [proc.execPath, ...proc.execArgv, ...flags, ...proc.argv.slice(1)],
    env: { ...proc.env, ...Object.fromEntries(env), [RUNTIME_MARK]: 'set' },
  };
}

/** A warning when this process's heap limit is below what the config may need (undefined when fine). */
export function heapWarning(config: HeapConfig, limitBytes = getHeapStatistics().heap_size_limit): { limitMb: number; needMb: number } | undefined {
  const limitMb = Math.floor(limitBytes / MB);
  const needMb = heapNeedMb(config);
  return limitMb < needMb ? { limitMb, needMb } : undefined;
}

/** The Node.js release line DRC runs on (LTS). The project brings it: the `node` devDependency. */
export const NODE_MAJOR = 24;

/** A warning when this process runs on another Node.js major than DRC's (undefined when it is the one). */
export function runtimeWarning(version = process.versions.node): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major === NODE_MAJOR) return undefined;
  return `DRC runs on Node.js ${NODE_MAJOR} LTS; this process runs ${version}${major < NODE_MAJOR ? ', which is older (Node 20 reached end of life on 2026-04-30)' : ', which is not tested'}: start it through npm/npx in the project (node_modules/.bin/node) or install Node.js ${NODE_MAJOR}`;
}
