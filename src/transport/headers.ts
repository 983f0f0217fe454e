/** Kafka record headers as StoredMessage carries them, shared by every Kafka adapter. */

/** Header pairs as a client library decodes them → text by name; undefined when there are none. */
export function textHeaders(pairs: Iterable<readonly [unknown, unknown]>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let any = false;
  for (const [k, v] of pairs) {
    if (k === null || k === undefined || v === null || v === undefined) continue;
    out[String(k)] = String(v);
    any = true;
  }
  return any ? out : undefined;
}
