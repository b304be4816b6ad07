import { DateTime } from 'luxon';
import { SEVERITIES, severityRank } from '../../alerts/severity.js';
import type { RenderedEmail } from '../../delivery/contract.js';
import { type Translate, emailTranslator } from '../../i18n/email-i18n.js';
import { type LocaleFormat, acrossOffsetChange, dateTimeBeside, localeFormat, offsetsBeside, onWholeMinutes } from '../../i18n/format.js';
import { acknowledgedText, actionLinks, sourceTitle } from './alert-line.js';
import { type Link, greeting, link, linkText, renderEmail, why } from './frame.js';
import { fitUnderBudget } from './fit.js';
import { SEVERITY_COLOURS } from './severity-style.js';
import { subjectForPeriod, subjectTenant } from './headers.js';
import { field, shownTenant } from './text.js';
import { firstReading } from '../../shared/local-clock.js';
import { firstKnownZone } from '../../shared/validation.js';
import { byCodePoint } from '../../storage/text-order.js';
import type { DailyEmailView, DailyHealthView, MatchPartView, MuteLineView } from './view-models.js';

/** matchText writes what a mute matches for people: `Robot: R7 · Event: Robot went offline`. */
export function matchText(parts: readonly MatchPartView[], t: Translate, fmt: LocaleFormat): string {
  return parts.map((part) => fmt.labelled(t(`field.${part.field}`), field(part.value))).join(' · ');
}

/**
 * MAX_MUTE_LINES is the most mutes and snoozes an email lists: a tenant with hundreds of them
 * would otherwise fill the email with them, and take its HTML past Gmail's clipping so that
 * fitUnderBudget left no alert shown. The others are counted in one line.
 */
export const MAX_MUTE_LINES = 10;

/**
 * muteLines writes the mutes and snoozes that cover a recipient, one line each: what, until when,
 * by whom; at most MAX_MUTE_LINES, then how many more. An end past a daylight-saving change says
 * its own offset, as the email's times are said to be in the one of `statedAt` (dateTimeBeside).
 */
export function muteLines(mutes: readonly MuteLineView[], t: Translate, fmt: LocaleFormat, statedAt: number): string[] {
  const lines = mutes.slice(0, MAX_MUTE_LINES).map((m) =>
    t(m.snooze ? 'daily.snoozeLine' : 'daily.muteLine', {
      what: matchText(m.what, t, fmt),
      until: dateTimeBeside(fmt, m.until, statedAt),
      name: field(m.by, 100),
    }),
  );
  return mutes.length > MAX_MUTE_LINES ? [...lines, t('daily.moreMutes', { count: mutes.length - MAX_MUTE_LINES })] : lines;
}

/** HealthList is one list of the health section: still failing, recovered, or noisiest. */
interface HealthList {
  readonly heading: string;
  readonly items: readonly {
    readonly title: string;
    readonly detail: string;
    readonly link: Link | null;
    /** "Acknowledged by NAME on TIME" under a source still failing, as under a summary's line; null for none. */
    readonly acknowledged?: string | null;
    /** The recipient's "I'm on it" link of a source still failing, as a summary's line shows it; empty for none. */
    readonly actions?: readonly Link[];
  }[];
  /** How many more sources there are than the items, said in words; null when none. */
  readonly more: string | null;
}

/**
 * healthSection presents the health section: a table of alerts per component against the day
 * before, then the lists that have something to say. Null when neither day had an alert.
 */
function healthSection(health: DailyHealthView | undefined, t: Translate, fmt: LocaleFormat) {
  if (!health || health.components.length === 0) return null;
  const show = t('common.showAlerts');
  const lastFailure = (at: number) => t('daily.lastFailure', { time: fmt.dateTime(at) });
  const alerts = (count: number) => fmt.labelled(t('field.count'), fmt.number(count));
  const more = (count: number | undefined) => (count ? t('daily.moreSources', { count }) : null);
  const lists: HealthList[] = [
    {
      heading: t('daily.stillFailing'),
      items: health.stillFailing.map((s) => {
        const title = sourceTitle(s.key, undefined, t, fmt);
        return {
          title,
          detail: `${alerts(s.failures)} · ${lastFailure(s.lastFailureAt)}`,
          link: link(s.url, show, { what: title, fmt }),
          acknowledged: acknowledgedText(s.acknowledged, t, fmt),
          actions: actionLinks(s.actions, t, { what: title, fmt }),
        };
      }),
      more: more(health.moreStillFailing),
    },
    {
      heading: t('daily.recovered'),
      items: health.recovered.map((s) => {
        const title = sourceTitle(s.key, undefined, t, fmt);
        return { title, detail: lastFailure(s.lastFailureAt), link: link(s.url, show, { what: title, fmt }) };
      }),
      more: more(health.moreRecovered),
    },
    {
      heading: t('daily.noisiest'),
      items: health.noisiest.map((s) => {
        const title = sourceTitle(s.key, undefined, t, fmt);
        return { title, detail: alerts(s.count), link: link(s.url, show, { what: title, fmt }) };
      }),
      more: null,
    },
  ].filter((list) => list.items.length > 0);
  return {
    heading: t('daily.healthHeading'),
    byComponent: t('daily.byComponent'),
    componentLabel: t('field.component'),
    countLabel: t('field.count'),
    previousLabel: t('daily.dayBefore'),
    components: health.components.map((c) => ({ component: field(c.componentDisplayName, 100), count: fmt.number(c.count), previous: fmt.number(c.previous) })),
    lists,
  };
}

/** healthText is the health section in the text part. */
function healthText(health: NonNullable<ReturnType<typeof healthSection>>, fmt: LocaleFormat): string[] {
  const width = Math.max(6, ...health.components.flatMap((c) => [c.count.length, c.previous.length]));
  return [
    '',
    health.heading,
    `  ${health.byComponent} (${health.countLabel} / ${health.previousLabel})`,
    ...health.components.map((c) => `  ${c.count.padStart(width)}  ${c.previous.padStart(width)}  ${c.component}`),
    ...health.lists.flatMap((list) => [
      '',
      `  ${list.heading}`,
      ...list.items.flatMap((item) => [
        `    ${item.title} · ${item.detail}`,
        ...(item.acknowledged ? [`      ${item.acknowledged}`] : []),
        ...(item.link ? [`      ${linkText(item.link, fmt)}`] : []),
        ...(item.actions ?? []).map((action) => `      ${linkText(action, fmt)}`),
      ]),
      ...(list.more ? [`    ${list.more}`] : []),
    ]),
  ];
}

/**
 * dailySubject names Fatal for a reader who triages by subject, as the summary's does: "daily
 * alerts summary, 135 alerts, 2 Fatal" when the day had any, "all quiet" when it had none at all;
 * then its day ("(Nov 27, 2026)"), so that every quiet day's report is not one more "all quiet".
 */
function dailySubject(allQuiet: boolean, total: number, fatal: number, tenant: string, t: Translate, fmt: LocaleFormat, day: string): string {
  const subject = allQuiet
    ? t('daily.subjectQuiet', { tenant })
    : fatal <= 0
      ? t('daily.subject', { count: total, tenant })
      : t('daily.subjectFatal', { count: total, tenant, fatal: fmt.number(fatal) });
  return subjectForPeriod(subject, day);
}

/**
 * reportDay is the day a daily report is of, as its subject names it in the recipient's zone: the
 * last day it covers (the day of its report time; the day before for a report at midnight, also at
 * the second of two midnights where the clock goes back to one, as in the Azores), or for a catch-up
 * of missed days, from the day of the first report it stands for to the last, so that the subjects
 * of consecutive reports follow one another in an inbox, none naming a day twice.
 */
function reportDay(period: { start: number; end: number }, days: number, fmt: LocaleFormat, tenantZone: string, readerZone: string): string {
  const reader = firstKnownZone(readerZone);
  const dayOf = (end: number) => fmt.date(firstReading(DateTime.fromMillis(end, { zone: reader })) - 1);
  if (days <= 1) return dayOf(period.end);
  // The first report it stands for ends a day of the tenant's calendar after the period starts (23 or 25 hours across a change).
  const firstEnd = DateTime.fromMillis(period.start, { zone: firstKnownZone(tenantZone) })
    .plus({ days: 1 })
    .toMillis();
  return `${dayOf(firstEnd)} – ${dayOf(period.end)}`;
}

/**
 * renderDailyEmail renders one recipient's daily Alerts summary: severity-coloured totals, then
 * the count of each event (most severe first, then most frequent; as many as keep the HTML under
 * Gmail's clipping, see fitUnderBudget), the total, the health section
 * (per component against the day before, sources still failing and recovered, the noisiest
 * sources), the mutes in force, and links to the alert list and the preferences. With no counts it is the "all quiet" report, which says why
 * it comes at all (a missing report then means something is wrong).
 */
export function renderDailyEmail(view: DailyEmailView): RenderedEmail {
  const rows = view.counts.filter((row) => row.count > 0).length;
  // Hundreds of events (custom event names, an Alertmanager with many rules) would take the HTML
  // past Gmail's clipping: the report then lists fewer rows, the totals still counting them all.
  return fitUnderBudget(rows, (shown) => renderDailyRows(view, shown), view.htmlBudget);
}

/** renderDailyRows renders a daily report listing its first `shown` rows of counts and saying how many more there are. */
function renderDailyRows(view: DailyEmailView, shown: number): RenderedEmail {
  const { recipient, period } = view;
  const tenant = shownTenant(view.tenant);
  const t = emailTranslator(recipient.language);
  // Across a daylight-saving change (a 23- or 25-hour day), each time says its own offset.
  const fmt = acrossOffsetChange(localeFormat(recipient.language, recipient.timeZone), recipient.timeZone, period.start, period.end);
  const counts = view.counts.filter((row) => row.count > 0);
  const total = counts.reduce((sum, row) => sum + row.count, 0);
  // No alert to list; all quiet only if no mute kept any out either (then the report says how many it did).
  const quiet = total === 0;
  const mutedAlerts = view.mutedAlerts ?? 0;
  const allQuiet = quiet && mutedAlerts === 0;
  // A report time with seconds (`HH:MM:SS`) is written with them.
  const at = onWholeMinutes(period.start, period.end) ? fmt.dateTime : fmt.dateTimeToSecond;
  const bounds = { start: at(period.start), end: at(period.end) };
  const intro = allQuiet ? t('daily.quiet', bounds) : t('daily.intro', { ...bounds, count: total });
  // After downtime the missed days go out as one report (PRODUCT.md): said, as a catch-up summary says it.
  const reported = reportedPeriod(period, tenant.timeZone);
  const days = calendarDays(reported, tenant.timeZone);
  const catchUp = days > 1 ? t('daily.catchUp', { count: days }) : null;
  const muted = mutedAlerts > 0 ? t('summary.muted', { count: mutedAlerts }) : null;
  // Then by component and by the names themselves: rows the sort left tied kept the order the database
  // grouped them in, which SQLite and PostgreSQL give differently.
  const ordered = [...counts].sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      b.count - a.count ||
      a.eventDisplayName.localeCompare(b.eventDisplayName, recipient.language) ||
      a.componentDisplayName.localeCompare(b.componentDisplayName, recipient.language) ||
      byCodePoint(a.event, b.event) ||
      byCodePoint(a.component, b.component),
  );
  const rows = ordered.slice(0, shown).map((row) => {
    const [event, component] = [field(row.eventDisplayName), field(row.componentDisplayName, 100)];
    return {
      colour: SEVERITY_COLOURS[row.severity],
      severity: t(`severity.${row.severity}`),
      event,
      component,
      count: fmt.number(row.count),
      actions: actionLinks(row.actions, t, { what: `${event} · ${component}`, fmt }),
    };
  });
  const moreEvents = ordered.length > rows.length ? t('daily.moreEvents', { count: ordered.length - rows.length }) : null;
  // The mutes in force are listed so that nobody wonders why a source went silent.
  const mutes = muteLines(view.mutes ?? [], t, fmt, period.end);
  const severityCounts = [...SEVERITIES].reverse().map((severity) => ({
    severity,
    count: counts.filter((row) => row.severity === severity).reduce((sum, row) => sum + row.count, 0),
  }));
  const cards = severityCounts
    .filter((card) => card.count > 0)
    .map((card) => ({ colour: SEVERITY_COLOURS[card.severity], label: t(`severity.${card.severity}`), count: fmt.number(card.count) }));
  const viewAll = link(view.links.viewAll, t('daily.viewAll'));
  const timesIn = t('common.timesIn', { zone: fmt.zoneLabel(period.end) });
  const body = {
    intro,
    catchUp,
    quiet,
    quietWhy: allQuiet ? t('daily.quietWhy') : null,
    timesIn,
    cards,
    byEvent: t('daily.byEvent'),
    eventLabel: t('field.event'),
    componentLabel: t('field.component'),
    countLabel: t('field.count'),
    rows,
    moreEvents,
    totalLabel: t('daily.total'),
    total: fmt.number(total),
    viewAll,
    // A source that last failed on the other side of a daylight-saving change says that time's own offset.
    health: healthSection(view.health, t, offsetsBeside(fmt, period.end)),
    mutesHeading: mutes.length > 0 || muted ? t('daily.mutesHeading') : null,
    muted,
    mutes,
  };
  // The counts column is as wide as its widest count (the total), so that a day of a hundred thousand alerts
  // or more keeps its events' names, links and total in line, as the health section's columns do.
  const countWidth = Math.max(6, body.total.length);
  const underEvent = ' '.repeat(countWidth + 4);
  const text = quiet
    ? [intro, ...(catchUp ? [catchUp] : []), timesIn, ...(allQuiet ? [t('daily.quietWhy')] : [])]
    : [
        intro,
        ...(catchUp ? [catchUp] : []),
        timesIn,
        '',
        cards.map((card) => fmt.labelled(card.label, card.count)).join(' · '),
        '',
        t('daily.byEvent'),
        ...rows.flatMap((row) => [
          `  ${row.count.padStart(countWidth)}  [${row.severity}] ${row.event} (${row.component})`,
          ...row.actions.map((action) => `${underEvent}${linkText(action, fmt)}`),
        ]),
        ...(moreEvents ? [`${underEvent}${moreEvents}`] : []),
        `  ${body.total.padStart(countWidth)}  ${body.totalLabel}`,
      ];
  const mutesText = body.mutesHeading ? ['', body.mutesHeading, ...(muted ? [`  ${muted}`] : []), ...mutes.map((line) => `  ${line}`)] : [];
  return renderEmail(
    'daily',
    {
      language: recipient.language,
      subject: dailySubject(
        allQuiet,
        total,
        severityCounts.find((card) => card.severity === 'Fatal')?.count ?? 0,
        subjectTenant(tenant.displayName),
        t,
        fmt,
        reportDay(reported, days, fmt, tenant.timeZone, recipient.timeZone),
      ),
      preheader: intro,
      accent: allQuiet ? SEVERITY_COLOURS.Success : (rows[0]?.colour ?? SEVERITY_COLOURS.Info),
      tenantDisplayName: tenant.displayName,
      heading: t('daily.heading'),
      greeting: greeting(t, recipient),
      why: why(t, recipient, tenant.displayName),
      preferences: link(view.links.preferences, t('common.preferences')),
      unsubscribe: link(view.links.unsubscribe, t('daily.unsubscribe')),
    },
    body,
    [...text, ...(body.health ? healthText(body.health, fmt) : []), ...mutesText, ...(viewAll ? ['', linkText(viewAll, fmt)] : [])],
    { tenantName: tenant.name, unsubscribe: view.links.unsubscribe },
    t,
    fmt,
  );
}

/**
 * reportedPeriod is a daily period with each end on the day it reports on. A report time that the
 * spring change skips moves forward by the gap (windows.ts), past midnight where the clock skips
 * the day's last hour (Greenland's 23:00–24:00: that Saturday's 23:30 report falls at 00:30 on
 * Sunday): such an end, whose report time the other end reads, is taken back by the gap, to the
 * day it stands for. A 00:30 report of that Sunday, whose other end reads 00:30 too, stays.
 */
function reportedPeriod(period: { start: number; end: number }, zone: string): { start: number; end: number } {
  const known = firstKnownZone(zone);
  const back = (instant: number, other: number): number => {
    const local = DateTime.fromMillis(instant, { zone: known });
    const time = DateTime.fromMillis(other, { zone: known });
    const yesterday = local.minus({ days: 1 });
    const meant = DateTime.fromObject(
      { year: yesterday.year, month: yesterday.month, day: yesterday.day, hour: time.hour, minute: time.minute, second: time.second },
      { zone: known },
    );
    if (meant.toMillis() !== instant) return instant;
    const seconds = (t: DateTime) => t.hour * 3_600 + t.minute * 60 + t.second;
    return instant - ((((seconds(local) - seconds(time)) % 86_400) + 86_400) % 86_400) * 1_000;
  };
  return { start: back(period.start, period.end), end: back(period.end, period.start) };
}

/**
 * calendarDays is how many days of the tenant's calendar a daily period spans, end date less start
 * date: 1 for a day (23 or 25 hours across a change, or longer when the report time moved later),
 * more when reports were missed.
 */
function calendarDays(period: { start: number; end: number }, zone: string): number {
  const day = (ms: number) => DateTime.fromMillis(ms, { zone: firstKnownZone(zone) }).startOf('day');
  return Math.round(day(period.end).diff(day(period.start), 'days').days);
}
