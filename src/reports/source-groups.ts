import { type Severity, severityRank } from '../alerts/severity.js';
import { SOURCE_FILTER_PARTS } from '../alerts/source-parts.js';
import { byCodePoint } from '../storage/text-order.js';

/**
 * What failed, for people: the emails group alert lines by the process, robot or queue that
 * raised them (the first of those the alert's source names, in that order: a process runs on
 * many robots, so its failures read as one), else by component. Pure functions of the lines.
 */

/** SourceField is what a group is keyed by: a part of the alerts' source, or their component. */
export type SourceField = (typeof SOURCE_FILTER_PARTS)[number] | 'component';

/** SourceKey names one group: `robot` R7, or `component` Queues for alerts with no source. */
export interface SourceKey {
  readonly field: SourceField;
  readonly value: string;
}

/** Sourced is what grouping reads of an alert, a line or a count. */
export interface Sourced {
  readonly component: string;
  readonly source?: { readonly [K in (typeof SOURCE_FILTER_PARTS)[number]]?: string | undefined } | null | undefined;
}

/** sourceKeyOf is the group an alert belongs to: its process, else robot, else queue, else component. */
export function sourceKeyOf(alert: Sourced): SourceKey {
  for (const field of SOURCE_FILTER_PARTS) {
    const value = alert.source?.[field];
    if (value) return { field, value };
  }
  return { field: 'component', value: alert.component };
}

/** sourceKeyId is a key as one string, for maps. */
export function sourceKeyId(key: SourceKey): string {
  return `${key.field}\n${key.value}`;
}

/** Tallied is a line or count that groups add up: how many alerts, how severe, when. */
export interface Tallied extends Sourced {
  readonly severity: Severity;
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

/** SourceTotals are one group's figures: its worst severity, how many alerts, first and last time. */
export interface SourceTotals {
  readonly key: SourceKey;
  readonly severity: Severity;
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

/** addTo adds one line to a group's totals (or starts them). */
function addTo(totals: SourceTotals | undefined, key: SourceKey, line: Tallied): SourceTotals {
  if (!totals) return { key, severity: line.severity, count: line.count, firstAt: line.firstAt, lastAt: line.lastAt };
  return {
    key,
    severity: severityRank(line.severity) > severityRank(totals.severity) ? line.severity : totals.severity,
    count: totals.count + line.count,
    firstAt: Math.min(totals.firstAt, line.firstAt),
    lastAt: Math.max(totals.lastAt, line.lastAt),
  };
}

/**
 * SourceTally adds up every line of a period per group, while the email keeps only some lines:
 * a group's count, first and last time are those of all its alerts, not of the lines shown.
 */
export class SourceTally {
  readonly #totals = new Map<string, SourceTotals>();

  /** add counts one line (or flood) in its group. */
  add(line: Tallied): void {
    const key = sourceKeyOf(line);
    const id = sourceKeyId(key);
    this.#totals.set(id, addTo(this.#totals.get(id), key, line));
  }

  /** totals are every group's figures, in no particular order. */
  totals(): SourceTotals[] {
    return [...this.#totals.values()];
  }
}

/** SourceGroup is one group as an email shows it: its figures, and the lines of it the email lists. */
export interface SourceGroup<L> extends SourceTotals {
  readonly lines: readonly L[];
}

// One collator for every comparison: localeCompare with options builds one per call (about 3 µs each; 0.15 kept).
// Its locale is given, not the process's default, which Node takes from LANG: a Danish server (da_DK) put
// « Aarhus » after « Zeta », and named other sources among tied ones in its reports than another server did.
const numericOrder = new Intl.Collator('en', { numeric: true });

/**
 * bySourceName orders sources by name, numbers in names in their order (R2 before R10), as people
 * number their robots and processes; names that compare alike so (R1 and R01, or one with a
 * zero-width space) by code point, not in the order the database handed them over, which SQLite's
 * GROUP BY and PostgreSQL's differ in.
 */
export function bySourceName(a: SourceKey, b: SourceKey): number {
  return byName(sourceKeyId(a), sourceKeyId(b));
}

/** byName orders names as bySourceName does: numbers in them in their order, then by code point; the same on every server. */
export function byName(a: string, b: string): number {
  return numericOrder.compare(a, b) || byCodePoint(a, b);
}

/** worstFirst orders groups: most severe, then most alerts, then earliest, then by name. */
function worstFirst(a: SourceTotals, b: SourceTotals): number {
  return severityRank(b.severity) - severityRank(a.severity) || b.count - a.count || a.firstAt - b.firstAt || bySourceName(a.key, b.key);
}

/**
 * groupBySource puts lines under their group, most severe group first (then the one with most
 * alerts), each group's lines most severe first, then earliest. `totals` (from a SourceTally of
 * the whole period) give the groups' figures when the lines are only some of the period's.
 * Without totals, or for a group they miss, the lines' own figures. Only groups with a line are
 * listed: an email bounds its lines, and so its groups.
 */
export function groupBySource<L extends Tallied>(lines: readonly L[], totals?: readonly SourceTotals[]): SourceGroup<L>[] {
  const members = new Map<string, L[]>();
  const own = new SourceTally();
  for (const line of lines) {
    const id = sourceKeyId(sourceKeyOf(line));
    const group = members.get(id);
    if (group) group.push(line);
    else members.set(id, [line]);
    own.add(line);
  }
  const figures = new Map((totals ?? []).map((t) => [sourceKeyId(t.key), t]));
  return own
    .totals()
    .map((t) => figures.get(sourceKeyId(t.key)) ?? t)
    .sort(worstFirst)
    .map((t) => ({
      ...t,
      lines: members.get(sourceKeyId(t.key))!.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.firstAt - b.firstAt),
    }));
}
