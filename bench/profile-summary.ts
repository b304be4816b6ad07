/**
 * Summarises V8 CPU profiles (`node --cpu-prof`): the functions with the most self time, and the
 * share of each file, so a hot path can be named with its percentage of CPU.
 *
 *   npx tsx bench/profile-summary.ts bench/profiles/*.cpuprofile [--top 25]
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** HotSpot is a function (or file) and its share of the sampled CPU time. */
export interface HotSpot {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

function shortUrl(url: string): string {
  return url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'node_modules/')
    .replace(/^.*\/(src|bench)\//, '$1/');
}

function nameOf(node: ProfileNode): string {
  return `${node.callFrame.functionName || '(anonymous)'} ${shortUrl(node.callFrame.url) || '(native)'}:${node.callFrame.lineNumber + 1}`;
}

/**
 * hotSpots sums self time per function and per file over a profile, and the inclusive time of
 * the project's own functions (src/): what each costs with everything it calls.
 */
export function hotSpots(profile: Profile): { functions: HotSpot[]; files: HotSpot[]; inclusive: HotSpot[]; totalMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id)!;
    const url = shortUrl(node.callFrame.url) || '(native)';
    const name = nameOf(node);
    fn.set(name, (fn.get(name) ?? 0) + ms);
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!;
      if (shortUrl(frame.callFrame.url).startsWith('src/')) onStack.add(nameOf(frame));
    }
    for (const n of onStack) inclusive.set(n, (inclusive.get(n) ?? 0) + ms);
    const f = url.startsWith('node_modules/')
      ? url
          .split('/')
          .slice(0, url.startsWith('node_modules/@') ? 3 : 2)
          .join('/')
      : url;
    file.set(f, (file.get(f) ?? 0) + ms);
    total += ms;
  });
  const rank = (m: Map<string, number>) => [...m].map(([name, ms]) => ({ name, ms, percent: (100 * ms) / total })).sort((a, b) => b.ms - a.ms);
  return { functions: rank(fn), files: rank(file), inclusive: rank(inclusive), totalMs: total };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
  for (const file of positionals) {
    const { functions, files, inclusive, totalMs } = hotSpots(JSON.parse(fs.readFileSync(file, 'utf8')) as Profile);
    const show = (list: HotSpot[]) =>
      list
        .slice(0, Number(values.top))
        .map((h) => `  ${h.percent.toFixed(1).padStart(5)} %  ${h.ms.toFixed(0).padStart(6)} ms  ${h.name}`)
        .join('\n');
    process.stdout.write(
      `${file}: ${(totalMs / 1000).toFixed(1)} s sampled\n by file:\n${show(files)}\n by function (self time):\n${show(functions)}\n project functions (inclusive):\n${show(inclusive)}\n\n`,
    );
  }
}
