/**
 * Binlog positions as strings: a MariaDB GTID position (`d-s-n,…`), a MySQL GTID set
 * (`uuid:1-5:7,uuid:tag:1-3,…`), or a file position (`file:<binlog name>:<offset>`) where GTIDs are
 * unavailable.
 */

export const filePosition = (name: string, offset: number) => `file:${name}:${offset}`;

export function parseFilePosition(pos: string): { filename: string; position: number } | undefined {
  const m = /^file:(.+):(\d+)$/.exec(pos);
  return m ? { filename: m[1] as string, position: Number(m[2]) } : undefined;
}

const MARIADB = /^\d+-\d+-\d+(,\d+-\d+-\d+)*$/;

/** Whether everything up to `target` is included in `watermark` (both positions of one server). */
export function positionCovers(watermark: string, target: string): boolean {
  const t = target.replace(/\s+/g, '');
  const w = watermark.replace(/\s+/g, '');
  if (t === '') return true;
  if (w === '') return false;
  const tf = parseFilePosition(t);
  if (tf) {
    const wf = parseFilePosition(w);
    if (!wf) return false;
    return wf.filename > tf.filename || (wf.filename === tf.filename && wf.position >= tf.position);
  }
  if (MARIADB.test(t)) {
    if (!MARIADB.test(w)) return false;
    const seqs = new Map<string, bigint>();
    for (const e of w.split(',')) {
      const [d, , n] = e.split('-');
      seqs.set(d as string, BigInt(n as string));
    }
    return t.split(',').every((e) => {
      const [d, , n] = e.split('-');
      const have = seqs.get(d as string);
      return have !== undefined && have >= BigInt(n as string);
    });
  }
  const have = mysqlIntervals(w);
  for (const [source, intervals] of mysqlIntervals(t)) {
    const covering = have.get(source) ?? [];
    if (!intervals.every(([a, b]) => covering.some(([c, d]) => c <= a && b <= d))) return false;
  }
  return true;
}

/** `uuid[:tag]` → merged inclusive intervals. */
function mysqlIntervals(set: string): Map<string, [bigint, bigint][]> {
  const out = new Map<string, [bigint, bigint][]>();
  for (const section of set.split(',').filter(Boolean)) {
    const [uuid, ...items] = section.split(':');
    let source = (uuid as string).toLowerCase();
    for (const item of items) {
      if (!/^\d/.test(item)) {
        source = `${(uuid as string).toLowerCase()}:${item}`;
        continue;
      }
      const [a, b] = item.split('-');
      const list = out.get(source) ?? [];
      list.push([BigInt(a as string), BigInt(b ?? (a as string))]);
      out.set(source, list);
    }
  }
  for (const [k, list] of out) out.set(k, merge(list));
  return out;
}

function merge(list: [bigint, bigint][]): [bigint, bigint][] {
  const sorted = [...list].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1n) last[1] = b > last[1] ? b : last[1];
    else out.push([a, b]);
  }
  return out;
}

/**
 * The position after adding one transaction's GTID (MariaDB `d-s-n`, or MySQL `uuid:n` /
 * `uuid:tag:n`) to a position — for groups with no commit marker (DDL), where the binlog reader only
 * learns the new position from the next transaction.
 */
export function withGtid(position: string, gtid: string): string {
  if (/^\d+-\d+-\d+$/.test(gtid)) {
    const domain = gtid.split('-')[0];
    const entries = position ? position.split(',').filter((e) => e.split('-')[0] !== domain) : [];
    return [...entries, gtid].sort((x, y) => Number(x.split('-')[0]) - Number(y.split('-')[0])).join(',');
  }
  const m = /^(.+):(\d+)$/.exec(gtid);
  if (!m) return position;
  const [, source, gno] = m;
  return position ? `${position},${source}:${gno}` : `${source}:${gno}`;
}

/**
 * Whether the transaction `txId` (capture/assembler.ts: its GTID, the file position after its BEGIN, or
 * `<position before it>+` where there is neither) lies at or before `watermark`.
 */
export function transactionCovered(watermark: string, txId: string): boolean {
  if (txId.endsWith('+')) {
    const before = txId.slice(0, -1);
    return positionCovers(watermark, before) && !positionCovers(before, watermark);
  }
  return positionCovers(watermark, txId);
}
