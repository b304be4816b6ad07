import type { HttpError } from '../http/problem.js';
import { emailTranslator } from '../i18n/email-i18n.js';
import { localeFormat } from '../i18n/format.js';
import type { Language } from '../i18n/languages.js';
import type { MatchPart } from '../mutes/model.js';
import { matchText } from '../reports/templates/daily-email.js';
import { escapeHtml, smallPage } from '../reports/unsubscribe/page.js';
import type { ActionKind } from './token.js';

/**
 * DURATIONS are the choices of how long a mute or snooze lasts, as luxon adds them on the reader's
 * clock; `until` takes a chosen time. "7 days" are days of the calendar: from 09:00 on a Friday, 09:00
 * the next Friday, 167 or 169 hours across a daylight-saving change, as its reader counts a week;
 * "24 hours" and "1 hour" are hours however the clock moves.
 */
export const DURATIONS = { '1h': { hours: 1 }, '24h': { hours: 24 }, '7d': { days: 7 } } as const;

/** Duration is one of the form's choices. */
export type Duration = keyof typeof DURATIONS | 'until';

const DURATION_LABEL: Record<Duration, string> = { '1h': 'actions.hour', '24h': 'actions.day', '7d': 'actions.week', until: 'actions.until' };

/** WhatOption is one way to read "this source" that the form offers, e.g. `robot` R7. */
export interface WhatOption {
  readonly key: 'robot' | 'process' | 'queue' | 'event';
  readonly parts: readonly MatchPart[];
}

/** PageContext is who the page speaks to, in which language and zone, and what it is about. */
export interface PageContext {
  readonly language: Language;
  readonly timeZone: string;
  readonly tenantName: string;
  readonly action: ActionKind;
  /** The alert's event and message, for the acknowledge page. */
  readonly alertTitle: string;
  readonly options: readonly WhatOption[];
  /** Who took the alert on, and when, once someone has (the acknowledge page). */
  readonly acknowledged?: { readonly name: string; readonly at: number } | undefined;
}

const TITLE: Record<ActionKind, string> = { mute: 'actions.muteTitle', snooze: 'actions.snoozeTitle', acknowledge: 'actions.acknowledgeTitle' };

/** whatText writes an option for people: `Robot: R7`, `Event: Robot went offline`. */
function whatText(parts: readonly MatchPart[], language: Language): string {
  return matchText(parts, emailTranslator(language), localeFormat(language, 'UTC'));
}

/**
 * confirmationPage is what GET shows: the question and a form that posts back to the same URL
 * (a mail scanner following the link changes nothing). Mute and snooze offer what to match and
 * for how long; acknowledge only confirms.
 */
export function confirmationPage(c: PageContext, now: number): string {
  const t = emailTranslator(c.language);
  const title = t(TITLE[c.action]);
  if (c.action === 'acknowledge' && c.acknowledged) {
    // The first one stands (acknowledgeFlood): a button would change nothing, so the page says who is on it.
    const { name, at } = c.acknowledged;
    const taken = t('actions.acknowledged', { name, time: localeFormat(c.language, c.timeZone).dateTime(at) });
    return smallPage(c.language, title, `<p>${escapeHtml(c.alertTitle)}</p><p>${escapeHtml(taken)}</p><p>${escapeHtml(timesIn(c, at))}</p>`);
  }
  if (c.action === 'acknowledge') {
    const intro = escapeHtml(t('actions.acknowledgeIntro', { tenant: c.tenantName, alert: c.alertTitle }));
    return smallPage(c.language, title, `<p>${intro}</p><form method="post"><button type="submit">${escapeHtml(t('actions.acknowledge'))}</button></form>`);
  }
  const intro = escapeHtml(t(c.action === 'mute' ? 'actions.muteIntro' : 'actions.snoozeIntro', { tenant: c.tenantName }));
  const radio = (name: string, value: string, label: string, checked: boolean) =>
    `<label><input type="radio" name="${name}" value="${value}"${checked ? ' checked' : ''}> ${escapeHtml(label)}</label>`;
  const which = c.options.map((o, i) => radio('what', o.key, whatText(o.parts, c.language), i === 0)).join('');
  const durations = (Object.keys(DURATION_LABEL) as Duration[])
    .map((d) =>
      d === 'until'
        ? `${radio('for', d, t(DURATION_LABEL[d]), false)}<input type="datetime-local" name="until" aria-label="${escapeHtml(t('actions.until'))}">`
        : radio('for', d, t(DURATION_LABEL[d]), d === '1h'),
    )
    .join('');
  return smallPage(
    c.language,
    title,
    `<p>${intro}</p><form method="post"><fieldset><legend>${escapeHtml(t('actions.which'))}</legend>${which}</fieldset>` +
      `<fieldset><legend>${escapeHtml(t('actions.duration'))}</legend>${durations}<p>${escapeHtml(timesIn(c, now))}</p></fieldset>` +
      `<button type="submit">${escapeHtml(t('actions.confirm'))}</button></form>`,
  );
}

/** donePage is what POST answers once the action is applied. */
export function donePage(c: PageContext, done: { what?: readonly MatchPart[]; until?: number; name?: string; at?: number }): string {
  const t = emailTranslator(c.language);
  const fmt = localeFormat(c.language, c.timeZone);
  const sentence =
    c.action === 'acknowledge'
      ? t('actions.done', { alert: c.alertTitle, name: done.name ?? '', time: fmt.dateTime(done.at ?? 0) })
      : t(c.action === 'mute' ? 'actions.muted' : 'actions.snoozed', {
          tenant: c.tenantName,
          what: whatText(done.what ?? [], c.language),
          until: fmt.dateTime(done.until ?? 0),
        });
  const at = c.action === 'acknowledge' ? done.at : done.until;
  return smallPage(c.language, t(TITLE[c.action]), `<p>${escapeHtml(sentence)}</p><p>${escapeHtml(timesIn(c, at ?? 0))}</p>`);
}

/**
 * timesIn says in which zone the page reads the chosen end and writes its times: the reader's own,
 * or the tenant's for a reader who set none, which need not be where the reader sits.
 */
function timesIn(c: PageContext, at: number): string {
  return emailTranslator(c.language)('common.timesIn', { zone: localeFormat(c.language, c.timeZone).zoneLabel(at) });
}

/**
 * refusalPage is what a person who clicked a link gets for a refusal, in `language` (the recipient's
 * once the link is known to be theirs, else the browser's):
 * a link tampered with or expired (404), a permission its recipient no longer holds (403), an
 * end time that is missing or past (400 on `until`), or a mute or snooze past the most in force
 * (409, whose problem names the API). Anything else stays a problem document.
 */
export function refusalPage(refusal: HttpError, language: Language): string | undefined {
  const t = emailTranslator(language);
  const page = (title: string, sentence: string) => smallPage(language, t(title), `<p>${escapeHtml(t(sentence))}</p>`);
  if (refusal.status === 404) return page('actions.invalidTitle', 'actions.invalid');
  if (refusal.status === 403) return page('actions.invalidTitle', 'actions.forbidden');
  if (refusal.status === 400 && refusal.errors?.[0]?.path === 'until') return page('actions.checkTitle', 'actions.badChoice');
  if (refusal.status === 409) return page('actions.fullTitle', 'actions.full');
  return undefined;
}
