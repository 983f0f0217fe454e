import { describe, expect, it } from 'vitest';
import { RecordingPool, type ScriptedCall } from '../db/recording-session.js';
import { CheckpointStore } from './checkpoint-store.js';

const storing = (row: Record<string, unknown> | undefined) => new RecordingPool((call: ScriptedCall) => (call.sql.includes('FROM drc_meta.apply_position') ? (row ? [row] : []) : undefined));

describe('CheckpointStore', () => {
  it("resumes at the offset recorded for this stream's topic, or one recorded before topics were", async () => {
    expect(await new CheckpointStore(storing({ next_offset: 42, topic: 'drc.a.changes' }), 'mariadb', 'a', 'drc.a.changes').read()).toBe('42');
    expect(await new CheckpointStore(storing({ next_offset: 42, topic: null }), 'mariadb', 'a', 'drc.a.changes').read()).toBe('42');
    expect(await new CheckpointStore(storing(undefined), 'mariadb', 'a', 'drc.a.changes').read()).toBeUndefined();
  });

  it('ignores an offset recorded for another topic (a changed prefix, a recreated topic): seeking to it would skip messages', async () => {
    const store = new CheckpointStore(storing({ next_offset: 5000, topic: 'old.a.changes' }), 'mariadb', 'a', 'drc.a.changes');
    expect(await store.readWithTopic()).toEqual({ offset: undefined, stale: 'old.a.changes' });
    expect(store.statement('7', 'tx', 'pos').params).toEqual(['a', 0, '7', 'tx', 'pos', 'drc.a.changes']);
  });
});
