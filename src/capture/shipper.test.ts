import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeChunk } from '../model/envelope.js';
import type { AtomicPublisher, OutgoingMessage } from '../model/ports.js';
import type { CaptureStats } from '../model/stats.js';
import type { CapturedPart } from './assembler.js';
import { ROUTING_HEADER, ROUTING_HEADER_MAX_BYTES, Shipper } from './shipper.js';

/** A publisher that records what each Kafka transaction held and how it ended. */
function recordingPublisher() {
  const batches: { messages: OutgoingMessage[]; ended?: 'commit' | 'abort' }[] = [];
  const publisher: AtomicPublisher = {
    begin: async () => {
      const batch: (typeof batches)[number] = { messages: [] };
      batches.push(batch);
      return {
        send: async (m) => void batch.messages.push(...m),
        commit: async () => void (batch.ended = 'commit'),
        abort: async () => void (batch.ended = 'abort'),
      };
    },
    reset: async () => undefined,
    close: async () => undefined,
  };
  return { publisher, batches };
}

const stats = (): CaptureStats => ({ transactions: 0, appliedTransactions: 0, rowChanges: 0, messages: 0, restarts: 0, wrongWrites: 0, committedPosition: '', coveredPosition: '', lastCommitAt: 0, lastEventAt: 0, queuedBytes: 0 });
const part = (over: Partial<CapturedPart>): CapturedPart => ({ txId: 'tx', origin: 'a', applied: false, chunks: [], notifications: [], tombstones: [], bytes: 0, rows: 0, ...over });
const topics = { changes: 'drc.a.changes', notify: 'drc.a.notify' };

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});
afterEach(() => vi.useRealTimers());

describe('Shipper', () => {
  it('ships whole transactions as one Kafka transaction and moves the committed position', async () => {
    const { publisher, batches } = recordingPublisher();
    const s = stats();
    const shipper = new Shipper('a', topics, publisher, s);
    await shipper.ship([
      part({ txId: 't1', chunks: [Buffer.from('c1')], rows: 2, end: { position: '0-1-5', commitTime: 1 } }),
      part({ txId: 't2', chunks: [Buffer.from('c2')], rows: 1, end: { position: '0-1-6', commitTime: 2 } }),
    ]);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ ended: 'commit' });
    expect(batches[0]!.messages.map((m) => [m.topic, m.value.toString()])).toEqual([
      ['drc.a.changes', 'c1'],
      ['drc.a.changes', 'c2'],
    ]);
    expect(s).toMatchObject({ transactions: 2, rowChanges: 3, messages: 2, committedPosition: '0-1-6', lastCommitAt: 1_000_000 });
  });

  it('tells a commit that put a resume point on changes from one of notifications only (review M1 of 34ffb73)', async () => {
    const { publisher, batches } = recordingPublisher();
    let failCommit = true;
    const flaky: AtomicPublisher = {
      ...publisher,
      begin: async () => {
        const batch = await publisher.begin();
        return { ...batch, commit: async () => (failCommit ? Promise.reject(new Error('commit failed')) : batch.commit()) };
      },
    };
    const s = stats();
    const shipper = new Shipper('a', topics, flaky, s);
    const notification = { origin: 'b', schema: 'app', table: 't', op: 'insert', key: { id: 1 }, position: '0-1-5' } as unknown as CapturedPart['notifications'][number];
    const applied = (txId: string, position: string) => part({ txId, applied: true, notifications: [notification], end: { position, commitTime: 1 } });
    // The first batch carries a position-only message, but its commit fails: it is read again.
    await expect(shipper.ship([applied('x1', '0-1-5')])).rejects.toThrow('commit failed');
    expect(batches[0]!.messages.map((m) => m.topic)).toEqual([topics.notify, topics.changes]);
    await shipper.abort();
    failCommit = false;
    // Within a second of that position-only message: the re-read commits notifications only.
    await shipper.ship([applied('x1', '0-1-5')]);
    expect(batches.at(-1)).toMatchObject({ ended: 'commit' });
    expect(batches.at(-1)!.messages.map((m) => m.topic)).toEqual([topics.notify]);
    expect(s.committedPosition).toBe('0-1-5'); // the committed position moved all the same: not the signal
    expect(shipper.resumePointCommitted).toBe(false);
    await shipper.ship([part({ txId: 't1', chunks: [Buffer.from('c1')], end: { position: '0-1-7', commitTime: 2 } })]);
    expect(shipper.resumePointCommitted).toBe(true);
  });

  it('keeps the Kafka transaction open while a big source transaction streams, and abort() drops it', async () => {
    const { publisher, batches } = recordingPublisher();
    const s = stats();
    const shipper = new Shipper('a', topics, publisher, s);
    await shipper.ship([part({ txId: 'big', chunks: [Buffer.from('chunk-0')] })]);
    await shipper.ship([part({ txId: 'big', chunks: [Buffer.from('chunk-1')] })]);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.ended).toBeUndefined();
    expect(s.committedPosition).toBe('');
    await shipper.abort();
    expect(batches[0]!.ended).toBe('abort');
  });

  it('catches the resume point up with a position-only message, at most once a second', async () => {
    const { publisher, batches } = recordingPublisher();
    const s = stats();
    const shipper = new Shipper('a', topics, publisher, s);
    // A DRC-applied transaction: notify only, nothing for changes.
    const notification = { origin: 'b', schema: 'app', table: 't', op: 'insert', key: { id: 1 }, position: '0-1-7' } as unknown as CapturedPart['notifications'][number];
    await shipper.ship([part({ txId: 'applied', applied: true, notifications: [notification], end: { position: '0-1-7', commitTime: 3 } })]);
    expect(batches[0]!.messages.map((m) => m.topic)).toEqual(['drc.a.notify', 'drc.a.changes']);
    expect(decodeChunk(batches[0]!.messages[1]!.value)).toMatchObject({ origin: 'a', pos: '0-1-7', changes: [] });
    expect(s.appliedTransactions).toBe(1);

    await shipper.ship([part({ txId: 'applied2', applied: true, end: { position: '0-1-8', commitTime: 4 } })]);
    expect(shipper.positionDue).toBe(false); // the last position-only message went out just now
    vi.advanceTimersByTime(1000);
    expect(shipper.positionDue).toBe(true);
    await shipper.ship([]);
    expect(decodeChunk(batches.at(-1)!.messages[0]!.value)).toMatchObject({ pos: '0-1-8' });
    expect(shipper.positionDue).toBe(false);
  });

  it('commits a Kafka transaction only once the tombstones of its deletes are recorded', async () => {
    const { publisher, batches } = recordingPublisher();
    let coveredUpTo = '';
    let release: (() => void) | undefined;
    const covered = (position: string) =>
      new Promise<void>((resolve) => {
        release = () => {
          coveredUpTo = position;
          resolve();
        };
      });
    const s = stats();
    const shipper = new Shipper('a', topics, publisher, s, covered);
    const shipping = shipper.ship([part({ txId: 'del', chunks: [Buffer.from('c')], tombstones: [{ schema: 'app', table: 't', key: { id: 1 }, version: '5' }], end: { position: '0-1-9', commitTime: 1 } })]);
    await vi.advanceTimersByTimeAsync(10);
    expect(batches[0]!.ended).toBeUndefined(); // sent, not committed: the delete's tombstone is not recorded yet
    release!();
    await shipping;
    expect(coveredUpTo).toBe('0-1-9');
    expect(batches[0]!.ended).toBe('commit');
    expect(s.committedPosition).toBe('0-1-9');
  });

  it('drops a pending position-only catch-up when its batch is aborted (those transactions are read again)', async () => {
    let fail = true;
    const batches: { messages: OutgoingMessage[]; ended?: string }[] = [];
    const publisher: AtomicPublisher = {
      begin: async () => {
        const batch: (typeof batches)[number] = { messages: [] };
        batches.push(batch);
        return {
          send: async (m) => {
            if (fail) throw new Error('send failed');
            batch.messages.push(...m);
          },
          commit: async () => void (batch.ended = 'commit'),
          abort: async () => void (batch.ended = 'abort'),
        };
      },
      reset: async () => undefined,
      close: async () => undefined,
    };
    const s = stats();
    const shipper = new Shipper('a', topics, publisher, s);
    const a = part({ txId: 'A', chunks: [Buffer.from('c')], end: { position: 'posA', commitTime: 1 } });
    const x = part({ txId: 'X', applied: true, end: { position: 'posX', commitTime: 2 } });
    await expect(shipper.ship([a, x])).rejects.toThrow('send failed');
    await shipper.abort(); // capture restarts from its last committed position, before A
    await vi.advanceTimersByTimeAsync(1100);
    fail = false;
    expect(shipper.positionDue).toBe(false); // a position-only message for X would move the resume point past A
    expect(batches.filter((b) => b.ended === 'commit')).toEqual([]);
  });
  it('sends the routing in force at the resume point on the last final chunk of each Kafka transaction, and keeps it as committed', async () => {
    const { publisher, batches } = recordingPublisher();
    const s = stats();
    let oversized = 0;
    const shipper = new Shipper('a', topics, publisher, s, undefined, () => oversized++);
    await shipper.ship([
      part({ txId: 't1', chunks: [Buffer.from('c1')], end: { position: '0-1-5', commitTime: 1, routing: 'v1' } }),
      part({ txId: 't2', chunks: [Buffer.from('c2a'), Buffer.from('c2b')], end: { position: '0-1-6', commitTime: 2, routing: 'v2' } }),
      // Applied here only: nothing for `changes`, the resume point on Kafka stays at t2's chunk.
      part({ txId: 't3', applied: true, end: { position: '0-1-7', commitTime: 3, routing: 'v3' } }),
    ]);
    expect(batches[0]!.messages.map((m) => [m.value.toString(), m.headers?.[ROUTING_HEADER]])).toEqual([
      ['c1', undefined],
      ['c2a', undefined],
      ['c2b', 'v2'],
    ]);
    // In process, a restart resumes at the committed position (t3's): the routing after t3.
    expect([s.committedPosition, shipper.committedRouting]).toEqual(['0-1-7', 'v3']);

    // The position-only message that catches the resume point up carries the routing at its position.
    vi.advanceTimersByTime(1500);
    await shipper.ship([]);
    const catchUp = batches[1]!.messages[0]!;
    expect([decodeChunk(catchUp.value).pos, catchUp.headers?.[ROUTING_HEADER]]).toEqual(['0-1-7', 'v3']);

    // Too fragmented a routing goes without (reported), the position still commits.
    const huge = 'x'.repeat(ROUTING_HEADER_MAX_BYTES + 1);
    await shipper.ship([part({ txId: 't4', chunks: [Buffer.from('c4')], end: { position: '0-1-8', commitTime: 4, routing: huge } })]);
    expect(batches[2]!.messages[0]!.headers).toBeUndefined();
    expect([oversized, s.committedPosition, shipper.committedRouting]).toEqual([1, '0-1-8', huge]);
  });
});
