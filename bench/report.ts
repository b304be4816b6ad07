/**
 * The results of `npm run bench` and how they read in docs/BENCHMARKS.md: pure functions from
 * figures to Markdown, so the document's layout is tested without running anything.
 */
import type { Machine } from './machine.js';
import { median } from './stats.js';

/** Figure is one measured quantity: its value in each run, and the command that reproduces it. */
export interface Figure {
  readonly label: string;
  readonly runs: readonly number[];
  readonly unit: string;
  readonly command: string;
  readonly note?: string;
}

/** Target is a goal of the performance issues (12, and 7's still relevant ones) and whether this run met it. */
export interface Target {
  readonly goal: string;
  readonly figure: string;
  /**
   * undefined when the run could not measure it; 'undecided' when its runs scattered more than the
   * target's margin on both sides of it (pairedVerdict), so that no single run may decide.
   */
  readonly met: boolean | 'undecided' | undefined;
}

/** Section is a titled table of figures with what it measured and how. */
export interface Section {
  readonly title: string;
  readonly method: string;
  readonly figures: readonly Figure[];
  /** Extra lines after the table (ratios, counts). */
  readonly notes: readonly string[];
}

/** BenchReport is everything the document shows. */
export interface BenchReport {
  readonly startedAt: Date;
  readonly minutes: number;
  readonly budgetMinutes: number;
  readonly runs: number;
  readonly machine: Machine;
  readonly loadAfter: readonly number[];
  readonly versions: Readonly<Record<string, string>>;
  readonly targets: readonly Target[];
  readonly sections: readonly Section[];
  /** Steps skipped or failed, and sizes reduced to fit the budget. */
  readonly caveats: readonly string[];
  /** Hand-written start-up figures, before and after the build (bench/startup.md), kept across regenerations. */
  readonly startup?: string | undefined;
  /** Hand-written findings from CPU profiles (bench/hot-paths.md), kept across regenerations. */
  readonly hotPaths?: string | undefined;
  /** Hand-written worker memory figures, before and after what was trimmed (bench/worker-rss.md), kept across regenerations. */
  readonly workerRss?: string | undefined;
  /** Hand-written takeover figures after kill -9 of a worker (bench/takeover.md), kept across regenerations. */
  readonly takeover?: string | undefined;
}

/** medianOf is a figure's median over its runs. */
export function medianOf(figure: Figure): number {
  return median(figure.runs);
}

/** formatNumber prints a figure: thousands separated, one decimal below 100. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

/** ratio prints a / b as "2.4×", or n/a. */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a';
}

function figureRow(f: Figure): string {
  const runs = f.runs.map(formatNumber).join(', ') || '—';
  return `| ${f.label} | **${formatNumber(medianOf(f))}** ${f.unit} | ${runs} | \`${f.command}\`${f.note ? ` (${f.note})` : ''} |`;
}

function verdict(met: Target['met']): string {
  if (met === 'undecided') return '**undecided** (the runs scatter more than the margin)';
  return met === undefined ? 'not measured' : met ? '**met**' : '**missed**';
}

/** renderReport writes docs/BENCHMARKS.md. */
export function renderReport(r: BenchReport): string {
  const m = r.machine;
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (bench/run-all.ts) on ${r.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}, in ${r.minutes.toFixed(1)} minutes ` +
      `(budget ${r.budgetMinutes} minutes). Every figure is the **median of ${r.runs} run${r.runs === 1 ? '' : 's'}** unless its row says otherwise; ` +
      'the runs are listed next to it. Everything ran on one machine in one run, against the same SMTP sink (bench/sink.ts: ' +
      'greets at once as Postfix does, accepts every message, counts Message-IDs).',
    '',
    'Reproduce the whole document with `TOCSIN_TEST_PG_URL=postgres://user:pass@127.0.0.1:5432/postgres npm run bench` ' +
      '(a role that may create databases; without it the PostgreSQL and scale-out figures are left out), one part with ' +
      '`npm run bench -- --only ingest|latency|delivery|reports|outbox`, and profile with `npm run bench -- --cpu-prof` then ' +
      '`npx tsx bench/profile-summary.ts bench/profiles/*.cpuprofile`. It installs `prometheus-alertmanager` with apt-get when missing.',
    '',
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${m.cpuModel}, ${m.cores} cores |`,
    `| memory | ${m.memoryGb} GB |`,
    `| kernel | ${m.kernel} |`,
    `| load average (1, 5, 15 min) | ${m.loadAverage.join(', ')} before, ${r.loadAfter.join(', ')} after |`,
    '',
    '## Versions',
    '',
    '| | |',
    '|---|---|',
    ...Object.entries(r.versions).map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '## Targets',
    '',
    '| target | this run | verdict |',
    '|---|---|---|',
    ...r.targets.map((t) => `| ${t.goal} | ${t.figure} | ${verdict(t.met)} |`),
    '',
  ];
  for (const s of r.sections) {
    lines.push(`## ${s.title}`, '', s.method, '');
    if (s.figures.length > 0) {
      lines.push('| figure | median | runs | reproduce |', '|---|---|---|---|', ...s.figures.map(figureRow), '');
    }
    if (s.notes.length > 0) lines.push(...s.notes.map((n) => `- ${n}`), '');
  }
  if (r.workerRss) lines.push(r.workerRss.trim(), '');
  if (r.takeover) lines.push(r.takeover.trim(), '');
  if (r.startup) lines.push(r.startup.trim(), '');
  if (r.hotPaths) lines.push(r.hotPaths.trim(), '');
  if (r.caveats.length > 0) lines.push('## Notes and caveats of this run', '', ...r.caveats.map((c) => `- ${c}`), '');
  return `${lines.join('\n')}\n`;
}
