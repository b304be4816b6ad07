import fs from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
const traces: Array<Array<[string, number, number]>> = [];
const gcs: Array<[number, number, number]> = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push([e.startTime, e.duration, (e as any).detail?.kind ?? 0]); }).observe({ entryTypes: ['gc'] });
let cur: Array<[string, number, number]> | undefined;
export function mark(name: string): void {
  if (name === 'req') { cur = []; traces.push(cur); }
  if (!cur) return;
  const c = process.cpuUsage();
  cur.push([name, performance.now(), (c.user + c.system) / 1000]);
}
process.on('exit', () => {
  const steps = new Map<string, { wall: number[]; cpu: number[] }>();
  const gcPer: number[] = []; const totals: number[] = []; const cpus: number[] = [];
  for (const t of traces.slice(5)) {
    for (let i = 1; i < t.length; i++) {
      const k = `${t[i - 1]![0]}→${t[i]![0]}`;
      const s = steps.get(k) ?? { wall: [], cpu: [] };
      s.wall.push(t[i]![1] - t[i - 1]![1]);
      s.cpu.push(t[i]![2] - t[i - 1]![2]);
      steps.set(k, s);
    }
    const end = t.find((m) => m[0] === '250');
    if (end) {
      gcPer.push(gcs.filter(([s]) => s >= t[0]![1] && s <= end[1]).reduce((a, [, d]) => a + d, 0));
      totals.push(end[1] - t[0]![1]); cpus.push(end[2] - t[0]![2]);
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;
  const p95 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length * 0.95)] ?? NaN;
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const out = [...steps].filter(([, s]) => s.wall.length > 10).map(([k, s]) => `${k}\tn=${s.wall.length}\twall p50 ${med(s.wall).toFixed(2)}\tcpu p50 ${med(s.cpu).toFixed(2)}\tcpu mean ${mean(s.cpu).toFixed(2)}`).join('\n');
  const gcLine = `req→250: wall p50 ${med(totals).toFixed(2)} p95 ${p95(totals).toFixed(2)}; cpu p50 ${med(cpus).toFixed(2)} mean ${mean(cpus).toFixed(2)}; GC inside: mean ${mean(gcPer).toFixed(2)} ms, p95 ${p95(gcPer).toFixed(2)}, alerts with any GC ${gcPer.filter((g) => g > 0).length}/${gcPer.length}`;
  const t0 = traces[5]?.[0]?.[1] ?? 0; const tEnd = traces.at(-1)?.at(-1)?.[1] ?? Infinity;
  const inRun = gcs.filter(([s]) => s >= t0 && s <= tEnd);
  const byKind = new Map<number, number[]>(); for (const [, d, k] of inRun) byKind.set(k, [...(byKind.get(k) ?? []), d]);
  const gcKinds = [...byKind].map(([k, ds]) => `kind ${k}: ${ds.length} x mean ${mean(ds).toFixed(2)} max ${Math.max(...ds).toFixed(2)} ms`).join('; ');
  const slow = traces.slice(5).filter((t) => t.some((m) => m[0] === '250')).map((t) => {
    const end = t.findIndex((m) => m[0] === '250');
    const steps2 = t.slice(1, end + 1).map((m, i) => [`${t[i]![0]}→${m[0]}`, m[1] - t[i]![1]] as const).sort((a, b) => b[1] - a[1]).slice(0, 3);
    const g = gcs.filter(([s2]) => s2 >= t[0]![1] && s2 <= t[end]![1]).map(([, d, k]) => `gc${k}:${d.toFixed(1)}`).join(',');
    return [t[end]![1] - t[0]![1], `${(t[end]![1] - t[0]![1]).toFixed(1)} ms: ${steps2.map(([k, w]) => `${k} ${w.toFixed(1)}`).join(', ')} ${g}`] as const;
  }).sort((a, b) => b[0] - a[0]).slice(0, 8).map((x) => x[1]).join('\n');
  fs.writeFileSync(`/tmp/lat/probe-${process.pid}.txt`, out + '\n' + gcLine + '\nGC during the run (' + (traces.length - 5) + ' alerts): ' + gcKinds + '\nslowest:\n' + slow + '\n');
});
