import { describe, expect, it } from 'vitest';
import { MemoryMessageStream } from './message-stream.js';

describe('MemoryMessageStream', () => {
  it('delivers from the offset asked for, one message at a time, and waits for appends', async () => {
    const stream = new MemoryMessageStream();
    ['a', 'b', 'c'].forEach((v) => stream.append(Buffer.from(v)));
    const seen: string[] = [];
    let inHandler = 0;
    await stream.start('1', async (m) => {
      inHandler++;
      expect(inHandler).toBe(1);
      await new Promise((r) => setTimeout(r, 1));
      seen.push(`${m.offset}:${m.value?.toString()}`);
      inHandler--;
    });
    await new Promise((r) => setTimeout(r, 20));
    stream.append(Buffer.from('d'));
    await new Promise((r) => setTimeout(r, 20));
    await stream.stop();
    expect(seen).toEqual(['1:b', '2:c', '3:d']);
    expect(stream.starts).toEqual(['1']);
  });

  it('reports a crash to the failure handler and stops delivering', async () => {
    const stream = new MemoryMessageStream();
    const failures: string[] = [];
    await stream.start(undefined, async () => undefined, (err) => failures.push(err.message));
    stream.crash(new Error('broker gone'));
    stream.append(Buffer.from('late'));
    await stream.stop();
    expect(failures).toEqual(['broker gone']);
  });
});
