/**
 * Summarises V8 .cpuprofile files (written by `node --cpu-prof`): self time per function and per
 * package, so a bench run with `--profile` says where the daemon's CPU goes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package name, our own source folder, or a V8/Node bucket. */
function owner(url: string, name: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/dist\/([^/]+)\//.exec(url);
  if (own) return `drc/${own[1]}`;
  if (url.startsWith('node:')) return 'node';
  if (!url) return name.startsWith('(') ? name : '(native)';
  return url;
}

export function summarise(file: string, top = 15): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fnSelf = new Map<string, number>();
  const ownerSelf = new Map<string, number>();
  let total = 0;
  let idle = 0;
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i] ?? 0;
    const f = byId.get(id)!.callFrame;
    total += us;
    if (f.functionName === '(idle)') {
      idle += us;
      return;
    }
    const o = owner(f.url, f.functionName);
    const key = `${f.functionName || '(anonymous)'} ${o}:${f.lineNumber + 1}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
    ownerSelf.set(o, (ownerSelf.get(o) ?? 0) + us);
  });
  const busy = total - idle;
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${k}`);
  return [
    `${file}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (${((100 * busy) / total).toFixed(0)}%)`,
    ' self time by owner:',
    ...rows(ownerSelf),
    ' self time by function:',
    ...rows(fnSelf),
  ].join('\n');
}

/** Every profile under `dir/<phase>/`. */
export function summariseDir(dir: string): string {
  const out: string[] = [];
  for (const phase of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, phase)).filter((x) => x.endsWith('.cpuprofile'))) out.push(summarise(join(dir, phase, f)));
  }
  return out.join('\n\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of process.argv.slice(2)) process.stdout.write(`${summarise(f, 25)}\n\n`);
}
