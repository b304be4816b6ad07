import type { Translate } from '../../i18n/email-i18n.js';
import type { LocaleFormat } from '../../i18n/format.js';
import type { AlertActionUrls } from '../../actions/links.js';
import { type Link, link, linkText } from './frame.js';
import { SEVERITY_COLOURS } from './severity-style.js';
import { clip, field, oneLine } from './text.js';
import type { SourceKey } from '../source-groups.js';
import type { AlertGroupView, AlertSourceView } from './view-models.js';

/** AlertLine is one alert (or one dedup key's repeats) as the templates show it. */
export interface AlertLine {
  readonly colour: string;
  readonly severity: string;
  readonly event: string;
  /** The event links to this http(s) URL (the alert list filtered to it), when there is one. */
  readonly href: string | null;
  /** That link as the text part writes it ("Show these alerts: URL"), or null. */
  readonly alertsLink: Link | null;
  /** `×N` when the line stands for several alerts, else null. */
  readonly repeats: string | null;
  readonly message: string;
  /** The message's lines, which the HTML part breaks as the text part does (one, folded, in a summary). */
  readonly messageLines: readonly string[];
  readonly time: string;
  /** Where it came from, each as `label: value`. */
  readonly meta: readonly string[];
  /** "Acknowledged by NAME at TIME", or null. */
  readonly acknowledged: string | null;
  /** The recipient's action links (mute for everyone, snooze for me, I'm on it); empty for none. */
  readonly actions: readonly Link[];
}

// CR LF, CR, LF, and Unicode's other line breaks: NEL and the line and paragraph separators.
const LINE_BREAK = /\r\n|[\r\n\u0085\u2028\u2029]/;

const ACTION_ORDER = ['acknowledge', 'snooze', 'mute'] as const;

/**
 * actionLinks are a line's action links with their texts, in the order the email shows them; named
 * for a screen reader by what they act on (`about`) where an email lists several lines.
 */
export function actionLinks(urls: AlertActionUrls | undefined, t: Translate, about?: Parameters<typeof link>[2]): Link[] {
  if (!urls) return [];
  return ACTION_ORDER.flatMap((action) => {
    const made = link(urls[action], t(`actions.${action}`), about);
    return made ? [made] : [];
  });
}

/** AlertLineOptions say how much of an alert a kind of email shows. */
export interface AlertLineOptions {
  /** Longest message shown, in characters. */
  readonly messageMax: number;
  /** Fold the message onto one line (summaries), or keep its line breaks (one alert in full). */
  readonly foldMessage: boolean;
  /**
   * The day (any instant of it) that the email is about, e.g. a one-day summary window's: times on
   * that day are written to the second only, any other with its day; left out, every time has its day.
   */
  readonly day?: number | undefined;
  /** Name the action links by the line's event and time, for an email that lists several lines (not the immediate email's one). */
  readonly nameActions?: boolean;
}

const SOURCE_PARTS: readonly (keyof AlertSourceView)[] = ['process', 'robot', 'machine', 'queue', 'job'];

/**
 * alertLine presents one alert group: severity label and colour, event, the count of repeats,
 * message, its first–last time and where it came from. Every value is plain text; the HTML
 * template escapes it and the text part prints it.
 */
export function alertLine(group: AlertGroupView, t: Translate, fmt: LocaleFormat, options: AlertLineOptions): AlertLine {
  const message = clip(options.foldMessage ? oneLine(group.message) : group.message.trim(), options.messageMax);
  const alertsLink = link(group.url, t('common.showAlerts'));
  const meta = [
    { label: t('field.component'), value: group.componentDisplayName },
    ...SOURCE_PARTS.flatMap((part) => {
      const value = group.source?.[part];
      return value ? [{ label: t(`field.${part}`), value }] : [];
    }),
    ...(group.folder ? [{ label: t('field.folder'), value: group.folder }] : []),
  ].map(({ label, value }) => fmt.labelled(label, field(value)));
  const event = field(group.eventDisplayName);
  const time = timeRange(group.firstAt, group.lastAt, fmt, options.day);
  return {
    colour: SEVERITY_COLOURS[group.severity],
    severity: t(`severity.${group.severity}`),
    event,
    href: alertsLink?.href ?? null,
    alertsLink,
    repeats: group.count > 1 ? `×${fmt.number(group.count)}` : null,
    message,
    messageLines: message.split(LINE_BREAK),
    time,
    meta,
    acknowledged: acknowledgedText(group.acknowledged, t, fmt),
    actions: actionLinks(group.actions, t, options.nameActions ? { what: `${event} · ${time}`, fmt } : undefined),
  };
}

/** acknowledgedText is "Acknowledged by NAME on TIME" for a flood someone acknowledged, else null: a summary's line and a daily report's source still failing say it alike. */
export function acknowledgedText(acknowledged: AlertGroupView['acknowledged'], t: Translate, fmt: LocaleFormat): string | null {
  return acknowledged ? t('actions.acknowledged', { name: field(acknowledged.name, 100), time: fmt.dateTime(acknowledged.at) }) : null;
}

/**
 * timeRange writes `first – last` (just `first` when they read the same), to the second only when
 * both fall on `day`: an alert that occurred on another day (an import of yesterday's alerts, a
 * robot that reports late) shows its day, rather than a time of day that reads as the window's.
 */
export function timeRange(firstAt: number, lastAt: number, fmt: LocaleFormat, day: number | undefined): string {
  const timeOnly = day !== undefined && fmt.sameDay(firstAt, day) && fmt.sameDay(lastAt, day);
  const at = (ms: number) => (timeOnly ? fmt.time(ms) : fmt.dateTime(ms));
  const [first, last] = [at(firstAt), at(lastAt)];
  return first === last ? first : `${first} – ${last}`;
}

/** sourceTitle names a group of what failed for people: `Robot: R7`, `Component: Queues`. */
export function sourceTitle(key: SourceKey, label: string | undefined, t: Translate, fmt: LocaleFormat): string {
  return fmt.labelled(t(`field.${key.field}`), field(label ?? key.value));
}

/** alertLineText is an alert line in the text part: a heading line, the message, then the details. */
export function alertLineText(line: AlertLine, fmt: LocaleFormat): string[] {
  const details = [line.time, ...line.meta].join(' · ');
  return [
    `[${line.severity}] ${line.event}${line.repeats ? ` ${line.repeats}` : ''}`,
    ...line.messageLines.map((text) => `  ${text}`),
    `  ${details}`,
    ...(line.acknowledged ? [`  ${line.acknowledged}`] : []),
    ...(line.alertsLink ? [`  ${linkText(line.alertsLink, fmt)}`] : []),
    ...line.actions.map((action) => `  ${linkText(action, fmt)}`),
  ];
}
