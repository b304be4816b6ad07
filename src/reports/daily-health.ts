import { type Severity, severityRank } from '../alerts/severity.js';
import { type SourceKey, type Sourced, byName, bySourceName, sourceKeyId, sourceKeyOf } from './source-groups.js';

/**
 * The health section of the daily report, decided from the counts of two periods (the report's
 * and the one before it): how each component fared against the day before, which sources are
 * still failing and which recovered, and the noisiest sources. Pure; the counts come from
 * sourcedEventCounts, already filtered by the recipient's subscriptions and mutes.
 */

/** HealthCount is what the section reads: alerts of one severity, component and source, and the last one's time. */
export interface HealthCount extends Sourced {
  readonly severity: Severity;
  readonly count: number;
  readonly lastAt: number;
  /**
   * The greatest id of these alerts: ids count up in the order alerts are stored, so it tells which
   * of a failure and a milder alert with the same lastAt came last (one batch shares its time).
   */
  readonly lastId?: string | undefined;
}

/** ComponentTrend is one component's alerts in the period and in the one before. */
export interface ComponentTrend {
  readonly component: string;
  readonly count: number;
  readonly previous: number;
}

/** FailingSource is a source whose last word in the period was a failure. */
export interface FailingSource {
  readonly key: SourceKey;
  /** Error and Fatal alerts in the period. */
  readonly failures: number;
  readonly lastFailureAt: number;
  /** The id of its last failure (see HealthCount.lastId), whose flood someone may have acknowledged. */
  readonly lastFailureId?: string | undefined;
}

/** RecoveredSource is a source that failed (in the period or the one before) and has not since. */
export interface RecoveredSource {
  readonly key: SourceKey;
  readonly lastFailureAt: number;
}

/** NoisySource is a source and how many alerts of any severity it raised in the period. */
export interface NoisySource {
  readonly key: SourceKey;
  readonly count: number;
}

/** DailyHealth is the section's content; every list empty means nothing to say. */
export interface DailyHealth {
  readonly components: readonly ComponentTrend[];
  /** The sources still failing, most failures first, at most HEALTH_LIST_MAX of them. */
  readonly stillFailing: readonly FailingSource[];
  /** How many more sources are still failing than stillFailing names. */
  readonly moreStillFailing: number;
  /** The recovered sources, latest failure first, at most HEALTH_LIST_MAX of them. */
  readonly recovered: readonly RecoveredSource[];
  /** How many more sources recovered than recovered names. */
  readonly moreRecovered: number;
  readonly noisiest: readonly NoisySource[];
}

/** NOISIEST is how many of the noisiest sources the section names. */
export const NOISIEST = 5;

/**
 * HEALTH_LIST_MAX is how many sources the still-failing and recovered lists name, the rest only
 * counted: a tenant with hundreds of processes failing gets a report of bounded size (every
 * recipient's report is rendered and held in memory at send time, so its size is the worker's).
 */
export const HEALTH_LIST_MAX = 10;

const isFailure = (severity: Severity) => severityRank(severity) >= severityRank('Error');
// What says a source works again: a Success or an Info (a robot available). A Warn is a failure of
// its own (a business exception, a job stopped, an item abandoned), so it ends no failure.
const isRecovery = (severity: Severity) => severityRank(severity) < severityRank('Warn');

/** Latest is when the last of some alerts occurred, and the greatest id of those that occurred then. */
interface Latest {
  readonly at: number;
  readonly id: string | undefined;
}

interface SourceFacts {
  key: SourceKey;
  count: number;
  failures: number;
  lastFailure: Latest | undefined;
  lastOk: Latest | undefined;
}

/** later keeps the latest of two, by time and then by id (the order of storing). */
function later(a: Latest | undefined, c: HealthCount): Latest {
  if (a === undefined || c.lastAt > a.at) return { at: c.lastAt, id: c.lastId };
  if (c.lastAt < a.at) return a;
  return { at: a.at, id: a.id === undefined || (c.lastId !== undefined && c.lastId > a.id) ? c.lastId : a.id };
}

function factsBySource(counts: readonly HealthCount[]): Map<string, SourceFacts> {
  const facts = new Map<string, SourceFacts>();
  for (const c of counts) {
    const key = sourceKeyOf(c);
    // Alerts naming no process, robot or queue are in the components' figures only.
    if (key.field === 'component') continue;
    const id = sourceKeyId(key);
    let f = facts.get(id);
    if (!f) facts.set(id, (f = { key, count: 0, failures: 0, lastFailure: undefined, lastOk: undefined }));
    f.count += c.count;
    if (isFailure(c.severity)) {
      f.failures += c.count;
      f.lastFailure = later(f.lastFailure, c);
    } else if (isRecovery(c.severity)) f.lastOk = later(f.lastOk, c);
  }
  return facts;
}

function perComponent(counts: readonly HealthCount[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const c of counts) totals.set(c.component, (totals.get(c.component) ?? 0) + c.count);
  return totals;
}

/** SourceHealth is how a source that failed in a period stands at its end. */
export type SourceHealth = 'stillFailing' | 'recovered';

/**
 * healthOf is the rule of both reports: recovered when a Success or Info alert came after the source's last
 * failure, later in time or, in the same millisecond (one batch), stored after it.
 */
function healthOf(lastFailure: Latest, lastOk: Latest | undefined): SourceHealth {
  if (lastOk === undefined || lastOk.at < lastFailure.at) return 'stillFailing';
  if (lastOk.at > lastFailure.at) return 'recovered';
  return lastOk.id !== undefined && lastFailure.id !== undefined && lastOk.id > lastFailure.id ? 'recovered' : 'stillFailing';
}

/**
 * healthBySource says, for each source (a process, robot or queue, keyed by sourceKeyId) that
 * failed in the period of `counts`, whether it was still failing at the period's end: what a
 * summary says beside each group of what failed.
 */
export function healthBySource(counts: readonly HealthCount[]): Map<string, SourceHealth> {
  const result = new Map<string, SourceHealth>();
  for (const [id, f] of factsBySource(counts)) if (f.lastFailure !== undefined) result.set(id, healthOf(f.lastFailure, f.lastOk));
  return result;
}

/** byTrend orders components as the health section lists them: the most alerts first, then the most the day before, then by name. */
export function byTrend(a: ComponentTrend, b: ComponentTrend): number {
  // Not in the server's locale (LANG), as sources are not (bySourceName): a component is any name an alert gives.
  return b.count - a.count || b.previous - a.previous || byName(a.component, b.component);
}

/**
 * dailyHealth decides the section. A source (a process, robot or queue, see sourceKeyOf) that had an
 * Error or Fatal alert in the period is still failing unless a Success or Info alert (not a Warn)
 * came after its last one; it recovered when one did, or when it failed the day before and not in
 * this period at all.
 */
export function dailyHealth(current: readonly HealthCount[], previous: readonly HealthCount[]): DailyHealth {
  const now = perComponent(current);
  const before = perComponent(previous);
  const components = [...new Set([...now.keys(), ...before.keys()])]
    .map((component) => ({ component, count: now.get(component) ?? 0, previous: before.get(component) ?? 0 }))
    .sort(byTrend);

  const today = factsBySource(current);
  const yesterday = factsBySource(previous);
  const stillFailing: FailingSource[] = [];
  const recovered: RecoveredSource[] = [];
  for (const f of today.values()) {
    if (f.lastFailure === undefined) continue;
    if (healthOf(f.lastFailure, f.lastOk) === 'recovered') recovered.push({ key: f.key, lastFailureAt: f.lastFailure.at });
    else stillFailing.push({ key: f.key, failures: f.failures, lastFailureAt: f.lastFailure.at, lastFailureId: f.lastFailure.id });
  }
  for (const [id, f] of yesterday) {
    if (f.lastFailure !== undefined && today.get(id)?.lastFailure === undefined) recovered.push({ key: f.key, lastFailureAt: f.lastFailure.at });
  }
  const noisiest = [...today.values()]
    .sort((a, b) => b.count - a.count || bySourceName(a.key, b.key))
    .slice(0, NOISIEST)
    .map((f) => ({ key: f.key, count: f.count }));
  return {
    components,
    stillFailing: stillFailing.sort((a, b) => b.failures - a.failures || bySourceName(a.key, b.key)).slice(0, HEALTH_LIST_MAX),
    moreStillFailing: Math.max(0, stillFailing.length - HEALTH_LIST_MAX),
    recovered: recovered.sort((a, b) => b.lastFailureAt - a.lastFailureAt || bySourceName(a.key, b.key)).slice(0, HEALTH_LIST_MAX),
    moreRecovered: Math.max(0, recovered.length - HEALTH_LIST_MAX),
    noisiest,
  };
}
