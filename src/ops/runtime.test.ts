import { describe, expect, it } from 'vitest';
import { DAEMON_NODE_OPTIONS, heapNeedMb, heapWarning, NODE_MAJOR, nodeOptionsFor, runtimeWarning } from './runtime.js';

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
    expect(heapWarning(config(2, 16 * MB), 100 * MB)).toEqual({ limitMb: 100, needMb: 128, nodeOptions: '--max-old-space-size=192 --max-semi-space-size=8', memoryLimitMb: 384 });
    expect(heapWarning(config(4, 16 * MB), 192 * MB)).toEqual({ limitMb: 192, needMb: 224, nodeOptions: '--max-old-space-size=224 --max-semi-space-size=8', memoryLimitMb: 416 });
  });

  it('names the exact NODE_OPTIONS: the deploy default up to its 192 MB, the need (16 MB steps) above it', () => {
    expect(DAEMON_NODE_OPTIONS).toBe('--max-old-space-size=192 --max-semi-space-size=8');
    expect(nodeOptionsFor(config(2, 16 * MB))).toBe(DAEMON_NODE_OPTIONS);
    expect(nodeOptionsFor(config(3, 16 * MB))).toBe('--max-old-space-size=192 --max-semi-space-size=8');
    expect(nodeOptionsFor(config(2, 64 * MB))).toBe('--max-old-space-size=272 --max-semi-space-size=8');
    expect(nodeOptionsFor(config(5, 16 * MB))).toBe('--max-old-space-size=272 --max-semi-space-size=8');
    expect(nodeOptionsFor(config(2, 20 * MB))).toBe('--max-old-space-size=192 --max-semi-space-size=8');
    expect(nodeOptionsFor(config(3, 20 * MB))).toBe('--max-old-space-size=208 --max-semi-space-size=8');
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
