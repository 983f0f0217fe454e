/**
 * What a `drc run` daemon says about itself over HTTP (`/healthz`, `/metrics`): the only source of
 * readiness and progress for the tests and the bench. Log text is for people, never for waiting on.
 * No test-runner imports here, so the bench can use it too.
 */

/** `/healthz` as the daemon answers it (200 healthy, 503 unhealthy; a standby is healthy). */
export interface HealthReply {
  httpStatus: number;
  status: string;
  role: 'active' | 'standby';
  problems: string[];
  /** What deserves attention without failing health (e.g. a table refused for lack of a primary key). */
  warnings: string[];
}

/** Ask a daemon's `/healthz` (throws while nothing listens on the port yet). */
export async function fetchHealth(port: number, timeoutMs = 2000): Promise<HealthReply> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json()) as { status?: string; role?: 'active' | 'standby'; problems?: string[]; warnings?: string[] };
  return { httpStatus: res.status, status: body.status ?? '', role: body.role ?? 'active', problems: body.problems ?? [], warnings: body.warnings ?? [] };
}

/** A daemon's `/metrics` (Prometheus text). */
export async function fetchMetrics(port: number, timeoutMs = 5000): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`/metrics on port ${port} answered ${res.status}`);
  return res.text();
}

/** One sample of Prometheus text: metric name, labels, value. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of the text (comments skipped). */
export function parseMetrics(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = v!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * The sum of a metric's samples whose labels include `labels` (0 when there is none: a counter that
 * was never bumped is not exported yet).
 */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  return parseMetrics(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
