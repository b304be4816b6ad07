import type { Actor } from '../alerts/action-audit.js';
import { componentDisplayName, eventDisplayName } from '../alerts/catalogue.js';

/** MATCH_FIELDS are what a mute can match: the alert's component and event, and parts of its source. */
export const MATCH_FIELDS = ['component', 'event', 'process', 'robot', 'queue'] as const;

/** MuteMatch names the alerts a mute covers: those having every value given (at least one). */
export type MuteMatch = { readonly [K in (typeof MATCH_FIELDS)[number]]?: string };

/** MuteScope: `tenant` stops the emails of everyone of the tenant, `user` (a snooze) only its owner's. */
export type MuteScope = 'tenant' | 'user';

/** Mute is one active or past mute of a tenant. */
export interface Mute {
  readonly id: string;
  readonly scope: MuteScope;
  /** The snoozing user of a `user` mute; null for a tenant mute. */
  readonly ownerId: string | null;
  readonly match: MuteMatch;
  readonly until: number;
  readonly createdBy: Actor;
  readonly createdAt: number;
}

/** MutableAlert is what a mute looks at: an alert (or a line or count standing for alike alerts). */
export interface MutableAlert {
  readonly component: string;
  readonly event: string;
  readonly source?: Readonly<Record<string, string | undefined>> | null | undefined;
  /**
   * When set, every alert this stands for was stored before this instant (epoch ms): a mute that
   * ended at or after it, before the instant judged at, still covers them (see isMutedFor).
   */
  readonly storedBefore?: number | undefined;
}

/** MailboxRef is who an email is for: a user (whose snoozes count) or a group mailbox. */
export interface MailboxRef {
  readonly type: 'user' | 'group';
  readonly id: string;
}

/**
 * matchesMute tells whether an alert has every value the match gives, spaces around either left
 * out: an alert keeps its source as sent ("  R7 "), while POST /mutes trims the value it is given.
 */
export function matchesMute(match: MuteMatch, alert: MutableAlert): boolean {
  return MATCH_FIELDS.every((field) => {
    const wanted = match[field];
    if (wanted === undefined) return true;
    const value = field === 'component' ? alert.component : field === 'event' ? alert.event : alert.source?.[field];
    return value === wanted || (typeof value === 'string' && value.trim() === wanted.trim());
  });
}

/** appliesTo tells whether a mute, active at `now`, covers a mailbox: every one for a tenant mute, its owner for a snooze. */
export function appliesTo(mute: Mute, mailbox: MailboxRef, now: number): boolean {
  if (mute.until <= now) return false;
  return mute.scope === 'tenant' || (mailbox.type === 'user' && mailbox.id === mute.ownerId);
}

/**
 * windowMuteInstant is the instant the email of a window (a summary's, a daily report's) judges
 * its mutes at: when it is decided or written, or the window's last instant when that is earlier.
 * A mute ending exactly when the window ends was in force for all of the window it reaches: the
 * window's email, decided an instant after that end, still leaves its alerts out.
 */
export function windowMuteInstant(window: { readonly end: number }, now: number): number {
  return Math.min(now, window.end - 1);
}

/** WindowMute is a mute as a window's email reads it (windowMutesOf): `until` is its end, lifted or not. */
export interface WindowMute extends Mute {
  /** When it was lifted before its `until`, else null. */
  readonly liftedAt: number | null;
}

/**
 * windowMutes keeps the mutes a window's email is judged by at `judgedAt` (windowMuteInstant):
 * those in force then, as always (one made since, before a late email is written, counts too), and
 * those that ended inside the window, for the alerts stored before their end. A mute lifted after
 * the window is judged counts only if it was made by then: made after the window and lifted again,
 * it was never in force for any of its alerts.
 */
export function windowMutes<T extends WindowMute>(mutes: readonly T[], window: { readonly start: number }, judgedAt: number): T[] {
  return mutes.filter((m) => m.until > window.start && (m.liftedAt === null || m.createdAt <= judgedAt));
}

/**
 * isMutedFor decides whether a mailbox gets no email about an alert: some mute covering that
 * mailbox matches it, active at `now`, or, for alerts known to be stored before some instant
 * (storedBefore), one that ended by `now` but was in force when they were stored: made before that
 * instant (the alerts are split at such a mute's making as at its end, endedMuteBounds, so made
 * before the bound means made before all of them) and ended at it or later. A mute that ended
 * inside a window keeps out the alerts stored while it was in force, not those stored before
 * anyone made it (one made by mistake and lifted at once hid nothing). Muted alerts are still
 * stored, listed and counted; only mail stops.
 */
export function isMutedFor(mutes: readonly Mute[], alert: MutableAlert, mailbox: MailboxRef, now: number): boolean {
  const before = alert.storedBefore;
  const at = before === undefined ? now : Math.min(now, before - 1);
  return mutes.some(
    (mute) => appliesTo(mute, mailbox, at) && (mute.until > now || (before !== undefined && mute.createdAt < before)) && matchesMute(mute.match, alert),
  );
}

/**
 * endedMuteBounds lists, in order and once each, the instants where a window's alerts are split
 * for the mutes that ended by `now`, the instant the window is judged at (mutes ended before the
 * window's start left aside by their reader): the ends of those mutes and when they were made,
 * since such a mute covers the alerts stored between the two only. Usually none.
 */
export function endedMuteBounds(mutes: readonly Mute[], now: number): number[] {
  return [...new Set(mutes.flatMap((m) => (m.until <= now ? [m.createdAt, m.until] : [])))].sort((a, b) => a - b);
}

/**
 * sourceMatchOf is what "mute this source" from an email means for an alert: the part of its
 * source chosen (robot, process or queue) when it carries that part, else its component and event.
 */
export function sourceMatchOf(alert: MutableAlert, part: 'robot' | 'process' | 'queue' | 'event'): MuteMatch | undefined {
  if (part === 'event') return { component: alert.component, event: alert.event };
  const value = alert.source?.[part];
  return value ? { [part]: value } : undefined;
}

/** unmutedFor keeps the alerts (lines, counts) that no active mute covering the mailbox matches. */
export function unmutedFor<T extends MutableAlert>(alerts: readonly T[], mutes: readonly Mute[], mailbox: MailboxRef, now: number): T[] {
  return mutes.length === 0 ? [...alerts] : alerts.filter((a) => !isMutedFor(mutes, a, mailbox, now));
}

/** MatchPart is one value of a match, for people: component and event by their display names. */
export interface MatchPart {
  readonly field: (typeof MATCH_FIELDS)[number];
  readonly value: string;
}

/** matchParts lists what a match names, in a language (catalogue display names for component and event). */
export function matchParts(match: MuteMatch, language: string): MatchPart[] {
  return MATCH_FIELDS.flatMap((field) => {
    const value = match[field];
    if (value === undefined) return [];
    const shown = field === 'component' ? componentDisplayName(value, language) : field === 'event' ? eventDisplayName(value, language) : value;
    return [{ field, value: shown }];
  });
}
