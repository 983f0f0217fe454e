import { describe, expect, it } from 'vitest';
import { peerCopyOf } from './routing-store.js';

/** A peer answering the routing read, and failing the forced records' read with `errno`. */
const peer = (errno: number) => ({
  query: async (sql: string) => {
    if (sql.includes('drc_meta.routing')) return [[{ shard: 0, owner: 'a', state: 'owned', version: 3, prev_owner: null, moving_to: null }], []];
    throw Object.assign(new Error('peer error'), { errno });
  },
});

describe('peer copy of the routing', () => {
  it('a peer of an older schema (no cut_offset column, no switchovers table) still gives its routing', async () => {
    for (const errno of [1054, 1146]) {
      const copy = await peerCopyOf(peer(errno) as never, 't');
      expect(copy.forced).toEqual([]);
      expect(copy.routes.map((r) => [r.shard, r.owner, r.version])).toEqual([[0, 'a', 3]]);
    }
  });

  it('other failures of the forced records read are not hidden', async () => {
    await expect(peerCopyOf(peer(1045) as never, 't')).rejects.toThrow(/peer error/);
  });
});
