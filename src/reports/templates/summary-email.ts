import type { RenderedEmail } from '../../delivery/contract.js';
import { type Translate, emailTranslator } from '../../i18n/email-i18n.js';
import { type LocaleFormat, acrossOffsetChange, isoDay, localeFormat, offsetsBeside, onWholeMinutes } from '../../i18n/format.js';
import { groupBySource, sourceKeyId } from '../source-groups.js';
import { alertLine, alertLineText, sourceTitle, timeRange } from './alert-line.js';
import { muteLines } from './daily-email.js';
import { greeting, link, linkText, renderEmail, why } from './frame.js';
import { subjectForPeriod, subjectTenant, threadId } from './headers.js';
import { SEVERITY_COLOURS, mostSevereFirst } from './severity-style.js';
import { fitUnderBudget } from './fit.js';
import type { AlertGroupView, SummaryEmailView } from './view-models.js';
import { shownTenant } from './text.js';

/**
 * SUMMARY_MAX_LINES is the most lines a summary lists; the rest is counted and reached through
 * "See more". With fitUnderBudget, it keeps a flood of alerts under Gmail's 102 KB clipping of long emails.
 */
export const SUMMARY_MAX_LINES = 50;

// The longest message a summary line shows, in characters.
const SUMMARY_MESSAGE_MAX = 300;

/**
 * renderSummaryEmail renders one recipient's Error summary (Orchestrator's 10-minute email): the
 * count, the window in the recipient's zone (labelled), then the lines grouped by what failed
 * (process, robot or queue; see groupBySource), the worst group first, each with its count, first
 * and last time and a link to its alerts in the console, and in it the most severe lines first
 * with repeats of a dedup key as one "×N" line; then how many alerts mutes kept out and which
 * mutes, and a "See more" link to the filtered alert list.
 * A view covering several windows reads as a catch-up summary. It shows at most SUMMARY_MAX_LINES
 * lines, fewer when they would take the HTML past Gmail's clipping (see fitUnderBudget).
 */
export function renderSummaryEmail(view: SummaryEmailView): RenderedEmail {
  const ordered = mostSevereFirst([...view.groups].sort((a, b) => a.firstAt - b.firstAt));
  // Long lines (many sources, long messages, several action links each) can make 50 lines too
  // many for Gmail: the email then shows fewer, and counts the rest as not shown.
  return fitUnderBudget(Math.min(ordered.length, SUMMARY_MAX_LINES), (lines) => renderSummaryLines(view, ordered.slice(0, lines)), view.htmlBudget);
}

/**
 * summarySubject names Fatal for a reader who triages by subject: "N new Fatal alerts" when they
 * all are, "N new error alerts, F of them Fatal" for a mix, "N new error alerts" without Fatal;
 * then its window ("(10:40–10:50)"), so that summaries of one count read apart in the inbox.
 */
function summarySubject(view: SummaryEmailView, t: Translate, fmt: LocaleFormat, period: string): string {
  const count = view.totalAlerts;
  const tenant = subjectTenant(shownTenant(view.tenant).displayName);
  const fatal = view.fatalAlerts ?? view.groups.reduce((sum, group) => sum + (group.severity === 'Fatal' ? group.count : 0), 0);
  const subject =
    fatal <= 0
      ? t('summary.subject', { count, tenant })
      : fatal >= count
        ? t('summary.subjectFatal', { count, tenant })
        : t('summary.subjectSomeFatal', { count, tenant, fatal: fmt.number(fatal) });
  return subjectForPeriod(subject, period);
}

/**
 * windowPeriod is a summary's window as its subject names it, in the recipient's zone: `10:40–10:50`
 * within a day (to the second for a short interval), each end with its day across midnight.
 */
function windowPeriod(window: { start: number; end: number }, fmt: LocaleFormat, oneDay: boolean, toSecond: boolean): string {
  if (oneDay) {
    const time = toSecond ? fmt.time : fmt.clock;
    return `${time(window.start)}–${time(window.end)}`;
  }
  const dateTime = toSecond ? fmt.dateTimeToSecond : fmt.dateTime;
  return `${dateTime(window.start)} – ${dateTime(window.end)}`;
}

/** renderSummaryLines renders a summary showing these lines (the most severe first) and counting the others. */
function renderSummaryLines(view: SummaryEmailView, shown: readonly AlertGroupView[]): RenderedEmail {
  const { recipient, window } = view;
  const tenant = shownTenant(view.tenant);
  const t = emailTranslator(recipient.language);
  // A window across a daylight-saving change (a catch-up, or the changing hour itself): each time says its own offset.
  const fmt = acrossOffsetChange(localeFormat(recipient.language, recipient.timeZone), recipient.timeZone, window.start, window.end);
  const oneDay = fmt.sameDay(window.start, window.end - 1);
  // Times on the window's day are written to the second; those of alerts that occurred another day, with their day.
  const day = oneDay ? window.start : undefined;
  const links = new Map((view.sources ?? []).map((source) => [sourceKeyId(source.key), source]));
  // An alert that occurred on the other side of a daylight-saving change (delivered or imported late) says its own offset.
  const alertFmt = offsetsBeside(fmt, window.start);
  const sources = groupBySource(shown, view.sources).map((group) => {
    const known = links.get(sourceKeyId(group.key));
    const label = known?.label ?? (group.key.field === 'component' ? group.lines[0]?.componentDisplayName : undefined);
    const title = sourceTitle(group.key, label, t, fmt);
    return {
      colour: SEVERITY_COLOURS[group.severity],
      title,
      // PRODUCT.md: a report says what is still failing and what recovered.
      health: known?.health ? t(known.health === 'recovered' ? 'summary.sourceRecovered' : 'summary.sourceStillFailing') : null,
      count: fmt.labelled(t('field.count'), fmt.number(group.count)),
      time: timeRange(group.firstAt, group.lastAt, alertFmt, day),
      link: link(known?.url, t('common.showAlerts'), { what: title, fmt }),
      lines: group.lines.map((line) => alertLine(line, t, alertFmt, { messageMax: SUMMARY_MESSAGE_MAX, foldMessage: true, day, nameActions: true })),
    };
  });
  const hidden = Math.max(0, view.totalAlerts - shown.reduce((sum, group) => sum + group.count, 0));
  const count = view.totalAlerts;
  // A window of a short interval (tests, demos) is written to the second, so that its start and end differ.
  const toSecond = !onWholeMinutes(window.start, window.end);
  // Its end has a date of its own when the window crosses midnight: French and Spanish then put their article before it too.
  const intro = t(oneDay ? 'summary.intro' : 'summary.introDays', {
    count,
    start: toSecond ? fmt.dateTimeToSecond(window.start) : fmt.dateTime(window.start),
    end: oneDay ? (toSecond ? fmt.time : fmt.clock)(window.end) : (toSecond ? fmt.dateTimeToSecond : fmt.dateTime)(window.end),
  });
  const catchUp = view.windowCount > 1 ? t('summary.catchUp', { count: view.windowCount }) : null;
  const more = hidden > 0 ? t('summary.more', { count: hidden }) : null;
  // Said so that nobody wonders why a failing source went quiet in the summaries.
  const mutedAlerts = view.muted?.alerts ?? 0;
  const muted = mutedAlerts > 0 ? t('summary.muted', { count: mutedAlerts }) : null;
  const mutes = muted ? muteLines(view.muted?.mutes ?? [], t, fmt, window.start) : [];
  const seeMore = link(view.links.seeMore, t('summary.seeMore'));
  const timesIn = t('common.timesIn', { zone: fmt.zoneLabel(window.start) });
  return renderEmail(
    'summary',
    {
      language: recipient.language,
      subject: summarySubject(view, t, fmt, windowPeriod(window, fmt, oneDay, toSecond)),
      preheader: intro,
      accent: shown.some((group) => group.severity === 'Fatal') ? SEVERITY_COLOURS.Fatal : SEVERITY_COLOURS.Error,
      tenantDisplayName: tenant.displayName,
      heading: t('summary.heading'),
      greeting: greeting(t, recipient),
      why: why(t, recipient, tenant.displayName),
      preferences: link(view.links.preferences, t('common.preferences')),
      unsubscribe: link(view.links.unsubscribe, t('summary.unsubscribe')),
    },
    { intro, catchUp, timesIn, sources, more, muted, mutes, seeMore },
    [
      intro,
      ...(catchUp ? [catchUp] : []),
      timesIn,
      '',
      ...sources.flatMap((source) => [
        `== ${[source.title, ...(source.health ? [source.health] : []), source.count, source.time].join(' · ')}`,
        ...(source.link ? [linkText(source.link, fmt)] : []),
        '',
        ...source.lines.flatMap((line) => [...alertLineText(line, fmt), '']),
      ]),
      ...(more ? [more] : []),
      ...(muted ? [muted, ...mutes.map((line) => `  ${line}`), ''] : []),
      ...(seeMore ? [linkText(seeMore, fmt)] : []),
    ],
    {
      tenantName: tenant.name,
      unsubscribe: view.links.unsubscribe,
      thread: threadId(tenant.name, isoDay(window.start, tenant.timeZone)),
    },
    t,
    fmt,
  );
}
