import ZongJi from '@vlasky/zongji';
import { describe, expect, it } from 'vitest';
import { UnsupportedBinlogEventError } from '../errors.js';
import { TypeCode } from '../model/types/column-meta.js';
import { LOG_EVENT_IGNORABLE_F, PARTIAL_UPDATE_ROWS_EVENT, TRANSACTION_PAYLOAD_EVENT } from './binlog-event-types.js';
import { installZongjiPatches, rawBytesColumns, type BinlogPacketLike, type PatchedColumn } from './zongji-patches.js';

describe('rawBytesColumns (fixes of @vlasky/zongji 0.9.0 decoding)', () => {
  const cols = (): PatchedColumn[] => [
    { name: 'g', type: TypeCode.GEOMETRY, charset: null },
    { name: 'v', type: TypeCode.VARCHAR, charset: 'latin1' },
    { name: 'c', type: TypeCode.STRING, charset: 'sjis' },
    { name: 't', type: TypeCode.BLOB, charset: 'gbk' },
    { name: 'u', type: TypeCode.VARCHAR, charset: 'utf8mb4' },
    { name: 'b', type: TypeCode.STRING, charset: null },
  ];
  const schemas = () => [{ COLUMN_TYPE: 'point' }, { COLUMN_TYPE: 'varchar(10)' }, { COLUMN_TYPE: 'char(4)' }, { COLUMN_TYPE: 'text' }, { COLUMN_TYPE: 'varchar(4)' }, { COLUMN_TYPE: 'binary(4)' }];

  it('reads GEOMETRY as a BLOB (lib/common.js:778 parseGeometryValue drops SRID and WKB), keeping its type aside', () => {
    const c = cols();
    rawBytesColumns(c, schemas());
    expect(c[0]).toMatchObject({ type: TypeCode.BLOB, charset: null, declaredType: TypeCode.GEOMETRY });
  });

  it('hands over the bytes of text outside UTF-8 (lib/common.js:450 latin1 as cp1252, :464 iconv), keeping the charset aside', () => {
    const c = cols();
    const s = schemas();
    rawBytesColumns(c, s);
    expect(s[1]!.COLUMN_TYPE!.startsWith('varbin')).toBe(true); // lib/common.js:728 returns VARBINARY bytes as they are
    expect(c[1]).toMatchObject({ charset: 'latin1', declaredCharset: 'latin1' });
    expect(s[2]!.COLUMN_TYPE!.startsWith('varbin')).toBe(true);
    expect(c[3]).toMatchObject({ charset: null, declaredCharset: 'gbk' }); // lib/common.js:752 decodes only with a charset
    expect(c[4]).toEqual({ name: 'u', type: TypeCode.VARCHAR, charset: 'utf8mb4' });
    expect(s[5]!.COLUMN_TYPE).toBe('binary(4)');
  });

  it('is idempotent (zongji may run updateColumnInfo on a cached table map again)', () => {
    const c = cols();
    const s = schemas();
    rawBytesColumns(c, s);
    const once = JSON.stringify([c, s]);
    rawBytesColumns(c, s);
    expect(JSON.stringify([c, s])).toBe(once);
  });
});

describe('event-type guard (zongji 0.9.0 passes over event types it cannot decode, issue 14)', () => {
  /** A binlog network packet as the server sends it: OK byte, v4 event header, body (no checksum). */
  function eventPacket(typeCode: number, body: Buffer, nextPosition: number, flags = 0): BinlogPacketLike {
    const header = Buffer.alloc(20);
    header[0] = 0x00;
    header.writeUInt32LE(1_700_000_000, 1);
    header[5] = typeCode;
    header.writeUInt32LE(1, 6);
    header.writeUInt32LE(19 + body.length, 10);
    header.writeUInt32LE(nextPosition, 14);
    header.writeUInt16LE(flags, 18);
    const buffer = Buffer.concat([Buffer.from([0, 0, 0, 0]), header, body]); // 4 bytes of mysql2 packet header first
    return { buffer, offset: 4, end: buffer.length, isEOF: () => false, isError: () => false } as BinlogPacketLike;
  }
  const xid = (next: number) => eventPacket(16, Buffer.alloc(8, 1), next);

  /** A reader as index.js:821 prepares it, and its Binlog command fed packet by packet. */
  async function reader() {
    await installZongjiPatches();
    const url = new URL('./lib/sequence/binlog.js', import.meta.resolve('@vlasky/zongji'));
    const { default: initBinlogClass } = (await import(url.href)) as { default: (z: unknown) => new (cb: (err: Error | null, ev?: { getEventName(): string }) => void) => unknown };
    const zongji = new ZongJi({}) as unknown as { BinlogClass: ReturnType<typeof initBinlogClass>; options: { filename?: string }; on(e: 'error', f: (err: Error) => void): void };
    zongji.options.filename = 'bin.000007';
    const errors: Error[] = [];
    zongji.on('error', (err) => errors.push(err));
    zongji.BinlogClass = initBinlogClass(zongji);
    const delivered: string[] = [];
    const command = new zongji.BinlogClass((err, ev) => delivered.push(err ? `error: ${err.message}` : ev!.getEventName())) as { binlogData(p: BinlogPacketLike, c: unknown): unknown };
    const feed = (...packets: BinlogPacketLike[]) => packets.forEach((p) => command.binlogData(p, null));
    return { errors, delivered, feed };
  }

  it('hands decodable events on as before', async () => {
    const r = await reader();
    r.feed(xid(400), xid(500));
    expect(r.delivered).toEqual(['xid', 'xid']);
    expect(r.errors).toEqual([]);
  });

  it('stops at a TRANSACTION_PAYLOAD_EVENT (binlog_transaction_compression=ON): an error naming event and setting, nothing after it handed on', async () => {
    const r = await reader();
    r.feed(xid(400), eventPacket(TRANSACTION_PAYLOAD_EVENT, Buffer.alloc(64, 7), 900), xid(1000), xid(1100));
    expect(r.delivered).toEqual(['xid']);
    expect(r.errors).toHaveLength(1);
    const err = r.errors[0]!;
    expect(err).toBeInstanceOf(UnsupportedBinlogEventError);
    expect(err.message).toContain('TRANSACTION_PAYLOAD_EVENT');
    expect(err.message).toContain('binlog_transaction_compression');
    expect((err as UnsupportedBinlogEventError).context).toMatchObject({ event: 'TRANSACTION_PAYLOAD_EVENT', typeCode: 40, eventEnd: 'bin.000007:900' });
    expect((err as UnsupportedBinlogEventError).fatal).toBe(false); // the supervisor pauses the stream, retrying slowly
  });

  it('stops at a PARTIAL_UPDATE_ROWS_EVENT (binlog_row_value_options=PARTIAL_JSON)', async () => {
    const r = await reader();
    r.feed(eventPacket(PARTIAL_UPDATE_ROWS_EVENT, Buffer.alloc(40, 3), 700), xid(800));
    expect(r.delivered).toEqual([]);
    expect(r.errors.map((e) => e.message)).toEqual([expect.stringContaining('binlog_row_value_options')]);
    expect(r.errors[0]!.message).toContain('PARTIAL_UPDATE_ROWS_EVENT');
  });

  it('stops at an event type nobody knows, unless the server marked it ignorable', async () => {
    const r = await reader();
    r.feed(eventPacket(200, Buffer.alloc(10), 300, LOG_EVENT_IGNORABLE_F), xid(400), eventPacket(201, Buffer.alloc(10), 500), xid(600));
    expect(r.delivered).toEqual(['unknown', 'xid']);
    expect(r.errors.map((e) => (e as UnsupportedBinlogEventError).context.event)).toEqual(['UNKNOWN_EVENT_201']);
  });
});
