import { describe, expect, it } from 'vitest';
import { decodeChunk, decodeMessage, FRAMING_BYTES } from '../model/envelope.js';
import { configSchema } from '../config/schema.js';
import { TypeCode } from '../model/types/column-meta.js';
import { columnTypesOf } from '../model/types/row.js';
import { TransactionAssembler, type CapturedPart, type SourceEvent } from './assembler.js';
import { toChanges } from './row-changes.js';
import { TableFilter } from '../config/table-filter.js';
import { createLogger } from '../ops/logger.js';
import { RefusedTables } from './refused-tables.js';

const silent = createLogger('silent');

const config = configSchema.parse({
  kafka: { brokers: ['k:9092'] },
  ezones: { a: { mysql: {}, serverId: 1 } },
  replicate: { include: ['app.*'], exclude: ['app.skip'] },
  tables: { 'app.counter': { versionColumn: 'v' } },
});

function run(events: SourceEvent[], maxMessageBytes = 1 << 20): CapturedPart[] {
  const parts: CapturedPart[] = [];
  const asm = new TransactionAssembler({ ezone: 'a', filter: new TableFilter(config), maxMessageBytes, emit: (p) => parts.push(p) }, '1-1-0');
  for (const e of events) asm.push(e);
  return parts;
}

const table = (tableId: number, name: string, pk: string[] | undefined = ['id'], schema = 'app'): SourceEvent => ({
  type: 'table',
  tableId,
  schema,
  table: name,
  primaryKey: pk,
  temporal: ['updated_at'],
});
const T0 = Date.UTC(2025, 0, 1);

describe('TransactionAssembler', () => {
  it('emits one final part per transaction with its changes, notifications and end position', () => {
    const parts = run([
      { type: 'begin', id: '1-1-1', timestamp: T0 },
      table(7, 'users'),
      { type: 'rows', op: 'insert', tableId: 7, rows: [{ id: 1, name: 'x', updated_at: '2025-01-01 00:00:00.000001' }], timestamp: T0 },
      { type: 'rows', op: 'update', tableId: 7, rows: [{ before: { id: 1, name: 'x', updated_at: '2025-01-01 00:00:00.000001' }, after: { id: 1, name: 'y', updated_at: '2025-01-01 00:00:01' } }], timestamp: T0 },
      { type: 'commit', position: '1-1-1', timestamp: T0 + 1000 },
    ]);
    expect(parts).toHaveLength(1);
    const [p] = parts;
    expect(p).toMatchObject({ txId: '1-1-1', origin: 'a', applied: false, end: { position: '1-1-1', commitTime: T0 + 1000 }, rows: 2 });
    const chunk = decodeChunk(p!.chunks[0]!);
    expect(chunk).toMatchObject({ origin: 'a', id: '1-1-1', pos: '1-1-1', ts: T0 + 1000, seq: 0, last: true });
    expect(chunk.changes.map((c) => [c.op, c.key, c.version])).toEqual([
      ['insert', { id: 1 }, String(T0 * 1000 + 1)],
      ['update', { id: 1 }, String(T0 * 1000 + 1_000_000)],
    ]);
    expect(p!.notifications.map((n) => [n.op, n.key, n.origin, n.tx])).toEqual([
      ['insert', { id: 1 }, 'a', '1-1-1'],
      ['update', { id: 1 }, 'a', '1-1-1'],
    ]);
  });

  it('marks transactions that carry the DRC marker as applied: notify with the true origin, nothing to ship', () => {
    const parts = run([
      { type: 'begin', id: '1-1-2', timestamp: T0 },
      table(1, 'tx_origin', ['slot'], 'drc_meta'),
      { type: 'rows', op: 'update', tableId: 1, rows: [{ before: { slot: 0, origin: 'c' }, after: { slot: 0, origin: 'b' } }], timestamp: T0 },
      table(7, 'users'),
      { type: 'rows', op: 'delete', tableId: 7, rows: [{ id: 3, updated_at: '2020-01-01 00:00:00' }], timestamp: T0 },
      { type: 'commit', position: '1-1-2', timestamp: T0 },
    ]);
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ applied: true, origin: 'b', chunks: [], tombstones: [] });
    expect(parts[0]!.notifications.map((n) => [n.op, n.origin])).toEqual([['delete', 'b']]);
  });

  it('ships a huge applied transaction\'s notifications in parts as they come, not all at its commit', () => {
    const rows = Array.from({ length: 1050 }, (_, i) => ({ id: i, updated_at: '2020-01-01 00:00:00' }));
    const parts = run(
      [
        { type: 'begin', id: '1-1-3', timestamp: T0 },
        table(1, 'tx_origin', ['slot'], 'drc_meta'),
        { type: 'rows', op: 'update', tableId: 1, rows: [{ before: { slot: 0, origin: 'c' }, after: { slot: 0, origin: 'b' } }], timestamp: T0 },
        table(7, 'users'),
        { type: 'rows', op: 'insert', tableId: 7, rows, timestamp: T0 },
        { type: 'commit', position: '1-1-3', timestamp: T0 },
      ],
      20_000,
    );
    // 200 bytes taken per notification: a part at every 100 of them, the rest with the commit.
    expect(parts).toHaveLength(11);
    expect(parts.slice(0, -1).every((p) => p.end === undefined && p.notifications.length === 100 && p.bytes === 20_000)).toBe(true);
    expect(parts[10]).toMatchObject({ applied: true, origin: 'b', end: { position: '1-1-3' }, rows: 50 });
    expect(parts.flatMap((p) => p.notifications.map((n) => n.key.id))).toEqual(rows.map((r) => r.id));
    expect(parts.reduce((n, p) => n + p.rows, 0)).toBe(1050);
  });

  it('refuses a marker written after other rows', () => {
    expect(() =>
      run([
        { type: 'begin', id: '1-1-3', timestamp: T0 },
        table(7, 'users'),
        { type: 'rows', op: 'insert', tableId: 7, rows: [{ id: 1 }], timestamp: T0 },
        table(1, 'tx_origin', ['slot'], 'drc_meta'),
        { type: 'rows', op: 'insert', tableId: 1, rows: [{ slot: 0, origin: 'b' }], timestamp: T0 },
      ]),
    ).toThrow(/wrote DRC's marker after other rows/);
  });

  it('records tombstones for local deletes with version max(before, commit time); integer versions keep their own', () => {
    const parts = run([
      { type: 'begin', id: '1-1-4', timestamp: T0 },
      table(7, 'users'),
      table(8, 'counter'),
      { type: 'rows', op: 'delete', tableId: 7, rows: [{ id: 1, updated_at: '2030-01-01 00:00:00' }, { id: 2, updated_at: '2020-01-01 00:00:00' }, { id: 3, updated_at: null }], timestamp: T0 },
      { type: 'rows', op: 'delete', tableId: 8, rows: [{ id: 9, v: 41 }], timestamp: T0 },
      { type: 'commit', position: '1-1-4', timestamp: T0 },
    ]);
    expect(parts[0]!.tombstones).toEqual([
      { schema: 'app', table: 'users', key: { id: 1 }, version: String(Date.UTC(2030, 0, 1) * 1000) },
      { schema: 'app', table: 'users', key: { id: 2 }, version: String(T0 * 1000) },
      { schema: 'app', table: 'users', key: { id: 3 }, version: String(T0 * 1000) },
      { schema: 'app', table: 'counter', key: { id: 9 }, version: '41' },
    ]);
  });

  it('ships a primary-key change as one update carrying the old key, with a tombstone for the old key', () => {
    const parts = run([
      { type: 'begin', id: '1-1-5', timestamp: T0 },
      table(7, 'users'),
      { type: 'rows', op: 'update', tableId: 7, rows: [{ before: { id: 1, n: 'a', updated_at: '2025-01-01 00:00:00' }, after: { id: 2, n: 'a', updated_at: '2025-01-01 00:00:01' } }], timestamp: T0 },
      { type: 'commit', position: '1-1-5', timestamp: T0 },
    ]);
    expect(decodeChunk(parts[0]!.chunks[0]!).changes.map((c) => [c.op, c.key, c.oldKey])).toEqual([['update', { id: 2 }, { id: 1 }]]);
    // Caches hear of both keys: the old one as gone.
    expect(parts[0]!.notifications.map((n) => [n.op, n.key])).toEqual([
      ['delete', { id: 1 }],
      ['update', { id: 2 }],
    ]);
    // The old key's tombstone has the change's version (an older update of key 1 cannot resurrect it) and where the row went (children follow it).
    expect(parts[0]!.tombstones).toEqual([{ schema: 'app', table: 'users', key: { id: 1 }, version: String(T0 * 1000 + 1_000_000), movedTo: { id: 2 } }]);
  });

  it('marks the changes of a row event written with foreign_key_checks = 0, and only those', () => {
    const parts = run([
      { type: 'begin', id: '1-1-5', timestamp: T0 },
      table(7, 'users'),
      { type: 'rows', op: 'insert', tableId: 7, rows: [{ id: 1, n: 'a' }], timestamp: T0, noFkChecks: true },
      { type: 'rows', op: 'insert', tableId: 7, rows: [{ id: 2, n: 'b' }], timestamp: T0 },
      { type: 'commit', position: '1-1-5', timestamp: T0 },
    ]);
    expect(decodeChunk(parts[0]!.chunks[0]!).changes.map((c) => [c.key, c.noFkChecks])).toEqual([
      [{ id: 1 }, true],
      [{ id: 2 }, undefined],
    ]);
  });

  it('ships with each routed change the routing version in force and, for a wrong write, the owner (issue 17)', () => {
    const parts: CapturedPart[] = [];
    const ownership = {
      violates: (_t: string, row: Record<string, unknown>) => (row.id === 2 ? { owner: 'b' } : undefined),
      routedVersion: (_t: string, row: Record<string, unknown>) => (row.id === 3 ? undefined : 5),
    };
    const asm = new TransactionAssembler({ ezone: 'a', filter: new TableFilter(config), maxMessageBytes: 1 << 20, emit: (p) => parts.push(p), ownership }, '1-1-0');
    for (const e of [
      { type: 'begin', id: '1-1-5', timestamp: T0 },
      table(7, 'users'),
      { type: 'rows', op: 'insert', tableId: 7, rows: [{ id: 1 }, { id: 2 }, { id: 3 }], timestamp: T0 },
      { type: 'commit', position: '1-1-5', timestamp: T0 },
    ] as SourceEvent[])
      asm.push(e);
    expect(decodeChunk(parts[0]!.chunks[0]!).changes.map((c) => [c.key, c.rv, c.wrong])).toEqual([
      [{ id: 1 }, 5, undefined],
      [{ id: 2 }, 5, 'b'],
      [{ id: 3 }, undefined, undefined],
    ]);
  });

  it('skips excluded, system and drc_meta tables; ships the heartbeat', () => {
    const parts = run([
      { type: 'begin', id: '1-1-6', timestamp: T0 },
      table(1, 'skip'),
      table(2, 'x', ['id'], 'other'),
      table(3, 'tombstones', ['k'], 'drc_meta'),
      table(4, 'heartbeat', ['ezone'], 'drc_meta'),
      { type: 'rows', op: 'insert', tableId: 1, rows: [{ id: 1 }], timestamp: T0 },
      { type: 'rows', op: 'insert', tableId: 2, rows: [{ id: 1 }], timestamp: T0 },
      { type: 'rows', op: 'insert', tableId: 3, rows: [{ k: 1 }], timestamp: T0 },
      { type: 'rows', op: 'insert', tableId: 4, rows: [{ ezone: 'a', updated_at: '2025-01-01 00:00:00' }], timestamp: T0 },
      { type: 'commit', position: '1-1-6', timestamp: T0 },
    ]);
    expect(decodeChunk(parts[0]!.chunks[0]!).changes.map((c) => `${c.schema}.${c.table}`)).toEqual(['drc_meta.heartbeat']);
  });

  it('emits a transaction with no replicated rows as a final part with nothing to ship', () => {
    const parts = run([
      { type: 'begin', id: '1-1-7', timestamp: T0 },
      table(1, 'skip'),
      { type: 'rows', op: 'insert', tableId: 1, rows: [{ id: 1 }], timestamp: T0 },
      { type: 'commit', position: '1-1-7', timestamp: T0 },
    ]);
    expect(parts).toEqual([expect.objectContaining({ chunks: [], notifications: [], end: { position: '1-1-7', commitTime: T0 } })]);
  });

  it('streams a large transaction as parts before its commit', () => {
    const rows = Array.from({ length: 300 }, (_, i) => ({ id: i, pad: 'x'.repeat(100) }));
    const parts = run(
      [
        { type: 'begin', id: '1-1-8', timestamp: T0 },
        table(7, 'users'),
        { type: 'rows', op: 'insert', tableId: 7, rows, timestamp: T0 },
        { type: 'commit', position: '1-1-8', timestamp: T0 },
      ],
      5000,
    );
    expect(parts.length).toBeGreaterThan(5);
    expect(parts.slice(0, -1).every((p) => p.end === undefined && p.chunks.length === 1)).toBe(true);
    expect(parts.at(-1)!.end).toEqual({ position: '1-1-8', commitTime: T0 });
    expect(parts.flatMap((p) => p.chunks.flatMap((c) => decodeChunk(c).changes)).map((c) => c.key.id)).toEqual(rows.map((r) => r.id));
  });

  it('keeps every message, key and framing included, within kafka.maxMessageBytes for multi-byte text and oversized values', () => {
    const cjk = Array.from({ length: 1000 }, (_, i) => ({ id: i, pad: '漢字テキスト한국어'.repeat(20) })); // ~400 bytes, ~130 UTF-16 units
    const blob = { id: 5000, pad: { $b: Buffer.alloc(200_000, 0xab).toString('base64') } };
    const parts = run(
      [
        { type: 'begin', id: '1-1-10', timestamp: T0 },
        table(7, 'users'),
        { type: 'rows', op: 'insert', tableId: 7, rows: cjk, timestamp: T0 },
        { type: 'rows', op: 'insert', tableId: 7, rows: [blob], timestamp: T0 },
        { type: 'commit', position: '1-1-10', timestamp: T0 },
      ],
      20_000,
    );
    const messages = parts.flatMap((p) => p.chunks);
    for (const m of messages) expect(m.length + Buffer.byteLength('a') + FRAMING_BYTES).toBeLessThanOrEqual(20_000);
    expect(messages.length).toBeGreaterThan(400_000 / 20_000 + 200_000 / 20_000);
    expect(parts.reduce((n, p) => n + p.bytes - p.notifications.length * 200, 0)).toBe(messages.reduce((n, m) => n + m.length, 0));
    expect(messages.filter((m) => decodeMessage(m).kind === 'piece').length).toBeGreaterThanOrEqual(13);
  });

  it('refuses a replicated table without a primary key by name: its rows are skipped and counted, the rest of the transaction ships', () => {
    const refused = new RefusedTables(silent);
    const parts: CapturedPart[] = [];
    const asm = new TransactionAssembler({ ezone: 'a', filter: new TableFilter(config), maxMessageBytes: 1 << 20, emit: (p) => parts.push(p), refused }, '1-1-0');
    const events: SourceEvent[] = [
      { type: 'begin', id: '1-1-9', timestamp: T0 },
      table(7, 'keyless', []),
      { type: 'rows', op: 'insert', tableId: 7, rows: [{ v: 1 }, { v: 2 }], timestamp: T0 },
      table(8, 'users'),
      { type: 'rows', op: 'insert', tableId: 8, rows: [{ id: 1, updated_at: '2025-01-01 00:00:00' }], timestamp: T0 },
      { type: 'commit', position: '1-1-9', timestamp: T0 },
      // only the keyless table: nothing to ship
      { type: 'begin', id: '1-1-10', timestamp: T0 },
      table(7, 'keyless', []),
      { type: 'rows', op: 'delete', tableId: 7, rows: [{ v: 1 }], timestamp: T0 },
      { type: 'commit', position: '1-1-10', timestamp: T0 },
    ];
    for (const e of events) asm.push(e);
    const shipped = () => parts.filter((p) => p.chunks.length > 0);
    expect(parts).toHaveLength(2); // the second only moves the position
    expect(shipped()).toHaveLength(1);
    expect(decodeChunk(shipped()[0]!.chunks[0]!).changes.map((c) => c.table)).toEqual(['users']);
    expect(refused.tables).toEqual({ 'app.keyless': { rows: 3, refusing: true } });
    expect(refused.any).toBe(true);
    // ALTER TABLE … ADD PRIMARY KEY: from its next change on, the table replicates
    for (const e of [
      { type: 'begin', id: '1-1-11', timestamp: T0 },
      table(9, 'keyless', ['v']),
      { type: 'rows', op: 'insert', tableId: 9, rows: [{ v: 3 }], timestamp: T0 },
      { type: 'commit', position: '1-1-11', timestamp: T0 },
    ] as SourceEvent[])
      asm.push(e);
    expect(shipped()).toHaveLength(2);
    expect(decodeChunk(shipped()[1]!.chunks[0]!).changes.map((c) => [c.table, c.key])).toEqual([['keyless', { v: 3 }]]);
    expect(refused.tables['app.keyless']).toEqual({ rows: 3, refusing: false });
    expect(refused.any).toBe(false);
  });

  it('ignores a keyless table that is not replicated (no refusal reported)', () => {
    const refused = new RefusedTables(silent);
    const asm = new TransactionAssembler({ ezone: 'a', filter: new TableFilter(config), maxMessageBytes: 1 << 20, emit: () => undefined, refused }, '1-1-0');
    for (const e of [{ type: 'begin', id: '1-1-12', timestamp: T0 }, table(7, 'skip', []), { type: 'rows', op: 'insert', tableId: 7, rows: [{ v: 1 }], timestamp: T0 }, { type: 'commit', position: '1-1-12', timestamp: T0 }] as SourceEvent[]) asm.push(e);
    expect(refused.tables).toEqual({});
  });
});

describe('toChanges with the table map’s column types (issue 12)', () => {
  const types = columnTypesOf([
    { name: 'k', typeCode: TypeCode.DOUBLE },
    { name: 'y', typeCode: TypeCode.YEAR },
  ]);
  const info = { schema: 'app', table: 'd', primaryKey: ['k'], columnTypes: types };
  const before = { k: 20000000.25, y: 2000 };
  const after = { k: 20000000.75, y: 2000 };

  it('turns an update of a DOUBLE key beyond float32 precision into a key change (one key is not the other)', () => {
    expect(toChanges('update', { before, after }, info, null, T0).map((c) => c.oldKey)).toEqual([{ k: 20000000.25 }]);
    expect(toChanges('update', { before, after }, { ...info, columnTypes: undefined }, null, T0).map((c) => c.oldKey)).toEqual([undefined]);
  });

  it('reads the version through the column’s type', () => {
    expect(toChanges('insert', after, info, 'y', T0)[0]?.version).toBe('2000');
  });
});
