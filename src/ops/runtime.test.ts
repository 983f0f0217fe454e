import { describe, expect, it } from 'vitest';
import { daemonNodeFlags, daemonRestart, heapLimitMb, heapNeedMb, heapWarning, NODE_MAJOR, runtimeWarning, SEMI_SPACE_MB } from './runtime.js';

const MB = 2 ** 20;
const config = (ezones: number, maxBufferBytes: number) => ({
  ezones: Object.fromEntries(Array.from({ length: ezones }, (_, i) => [`e${i}`, {}])) as never,
  apply: { maxBufferBytes } as never,
});

describe('heap sizing', () => {
  it('grows with the number of origins and their apply buffers', () => {
    expect(heapNeedMb(config(2, 16 * MB))).toBe(128);
    expect(heapNeedMb(config(3, 16 * MB))).toBe(176);
    expect(heapNeedMb(config(2, 64 * MB))).toBe(272);
  });

  it('warns when the heap limit is below the need, and only then', () => {
    expect(heapWarning(config(2, 16 * MB), 192 * MB)).toBeUndefined();
    expect(heapWarning(config(4, 16 * MB), 192 * MB)).toEqual({ limitMb: 192, needMb: 224 });
  });
});

describe('the daemon runtime drc run restarts itself with', () => {
  const proc = (env: NodeJS.ProcessEnv = {}, execArgv: string[] = []) => ({ execPath: '/n/node', execArgv, argv: ['/n/node', '/d/main.js', 'run', '--ezone', 'a'], env });
  const two = config(2, 16 * MB);

  it('sizes the old generation from the need, a quarter above it in steps of 16 MB, never below it', () => {
    expect(heapLimitMb(two)).toBe(160);
    expect(heapLimitMb(config(3, 16 * MB))).toBe(224);
    expect(heapLimitMb(config(2, 64 * MB))).toBe(352);
    for (const [n, b] of [[2, 1], [5, 16], [9, 100]] as const) expect(heapLimitMb(config(n, b * MB))).toBeGreaterThanOrEqual(heapNeedMb(config(n, b * MB)));
    expect(daemonNodeFlags(two)).toEqual(['--max-old-space-size=160', `--max-semi-space-size=${SEMI_SPACE_MB}`]);
  });

  it('restarts with the flags and MALLOC_ARENA_MAX, before the script, keeping node\'s own arguments and the environment', () => {
    expect(daemonRestart(two, proc({ PATH: '/bin' }, ['--cpu-prof']))).toEqual({
      args: ['/n/node', '--cpu-prof', '--max-old-space-size=160', `--max-semi-space-size=${SEMI_SPACE_MB}`, '/d/main.js', 'run', '--ezone', 'a'],
      env: { PATH: '/bin', MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', DRC_NODE_RUNTIME: 'set' },
    });
  });

  it('keeps what the operator set, in NODE_OPTIONS (either spelling) or node\'s arguments, and adds only the rest', () => {
    const r = daemonRestart(two, proc({ NODE_OPTIONS: '--max_old_space_size=512', MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '0' }, ['--max-semi-space-size=2']));
    expect(r).toBeUndefined();
    const r2 = daemonRestart(two, proc({ NODE_OPTIONS: '--max-old-space-size=512 --min-semi-space-size=1' }));
    expect(r2!.args).toEqual(['/n/node', `--max-semi-space-size=${SEMI_SPACE_MB}`, '/d/main.js', 'run', '--ezone', 'a']);
    expect(r2!.env).toMatchObject({ NODE_OPTIONS: '--max-old-space-size=512 --min-semi-space-size=1', MALLOC_ARENA_MAX: '2' });
  });

  it('restarts once: the restarted process, or one started with DRC_NODE_RUNTIME set, runs as it is', () => {
    const r = daemonRestart(two, proc())!;
    expect(daemonRestart(two, { ...proc(r.env), execArgv: r.args.slice(1, 3) })).toBeUndefined();
    expect(daemonRestart(two, proc({ DRC_NODE_RUNTIME: 'off' }))).toBeUndefined();
  });
});

describe('runtime', () => {
  it('is Node 24 wherever the project runs it (npm scripts put node_modules/.bin/node first)', () => {
    expect(process.version).toMatch(/^v24\./);
    expect(runtimeWarning()).toBeUndefined();
  });

  it('warns on another major, naming the end of life of an older one', () => {
    expect(runtimeWarning('20.20.2')).toMatch(/Node\.js 24 LTS; this process runs 20\.20\.2, which is older \(Node 20 reached end of life/);
    expect(runtimeWarning('26.1.0')).toMatch(/not tested/);
    expect(runtimeWarning(`${NODE_MAJOR}.0.0`)).toBeUndefined();
  });
});
