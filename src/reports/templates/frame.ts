import type { RenderedEmail } from '../../delivery/contract.js';
import type { Translate } from '../../i18n/email-i18n.js';
import type { LocaleFormat } from '../../i18n/format.js';
import type { Language } from '../../i18n/languages.js';
import { HTML_TEMPLATES } from './compile.js';
import type { TemplateName } from './email-html.js';
import { type HeaderInput, emailHeaders, headerText } from './headers.js';
import { httpUrl } from './links.js';
import { printable } from '../../shared/printable.js';
import { columns, field } from './text.js';

/** Link is a vetted http(s) link and its text, as the templates show it. */
export interface Link {
  readonly href: string;
  readonly label: string;
  /**
   * The link's name for a screen reader (the HTML's aria-label), when its text alone is one of
   * several alike: "Snooze for me: Job faulted · 09:52", where a list of links read out of their
   * lines would say "Snooze for me" ten times. The text part writes each link under its line.
   */
  readonly name?: string;
}

/**
 * link pairs a URL with its text, or gives null when the URL is not http(s) (see httpUrl); with
 * `about` (what it acts on) and the reader's format, it is named "label: about" for a screen reader.
 */
export function link(url: string | undefined, label: string, about?: { readonly what: string; readonly fmt: LocaleFormat }): Link | null {
  const href = httpUrl(url);
  if (!href) return null;
  return about ? { href, label, name: about.fmt.labelled(label, about.what) } : { href, label };
}

/** linkText is a link in a text part: its text, then the URL. */
export function linkText(link: Link, fmt: LocaleFormat): string {
  return fmt.labelled(link.label, link.href);
}

/** Frame is what every email shows around its body: heading, greeting and footer. */
export interface Frame {
  readonly language: Language;
  readonly subject: string;
  /**
   * The first line an inbox shows after the subject, hidden in the email; null for an email without
   * an unsubscribe link (the test email), where spam filters score hidden text as a spammer's
   * (SpamAssassin's STY_INVIS_DIRECT): the inbox then shows its first lines.
   */
  readonly preheader: string | null;
  /** The colour of the band on top: the most severe alert's, for instance. */
  readonly accent: string;
  readonly tenantDisplayName: string;
  readonly heading: string;
  readonly greeting: string;
  /** Why the recipient gets this email; null for test emails. */
  readonly why: string | null;
  readonly preferences: Link | null;
  readonly unsubscribe: Link | null;
}

/** greetingName is a recipient's name as the greeting shows it; empty for none. */
export function greetingName(name: string | undefined): string {
  return name ? field(name, 100) : '';
}

/** greeting is the salutation of a recipient, with or without a name: a person, or a group's mailbox its members read. */
export function greeting(t: Translate, recipient: { readonly name?: string | undefined; readonly group?: boolean | undefined }): string {
  const clean = greetingName(recipient.name);
  return clean ? t(recipient.group ? 'common.greetingGroup' : 'common.greeting', { name: clean }) : t('common.greetingNoName');
}

/**
 * why says in the footer why the recipient gets an email: a user subscribed to the tenant's alerts;
 * a group mailbox subscribed to nothing, it is the group's address.
 */
export function why(t: Translate, recipient: { readonly name?: string | undefined; readonly group?: boolean | undefined }, tenant: string): string {
  return recipient.group ? t('common.whyGroup', { tenant, group: greetingName(recipient.name) }) : t('common.why', { tenant });
}

/**
 * renderEmail assembles one email: the HTML from the compiled template filled with the frame and
 * body context (Handlebars escapes every value), the text part from the same strings, and the
 * headers. The subject is made header-safe here, whatever the translations or tenant names hold.
 */
export function renderEmail(
  kind: TemplateName,
  frame: Frame,
  body: object,
  textBody: readonly string[],
  headers: Omit<HeaderInput, 'kind'>,
  t: Translate,
  fmt: LocaleFormat,
): RenderedEmail {
  const subject = headerText(frame.subject);
  // Whatever a field holds, no control character reaches either part (printable).
  const html = printable(
    HTML_TEMPLATES[kind]({
      ...body,
      lang: frame.language,
      subject,
      preheader: frame.preheader === null ? null : field(frame.preheader),
      accent: frame.accent,
      tenantDisplayName: frame.tenantDisplayName,
      heading: frame.heading,
      greeting: frame.greeting,
      why: frame.why,
      preferences: frame.preferences,
      unsubscribe: frame.unsubscribe,
      sentBy: t('common.sentBy'),
    }),
  );
  const footer = [
    frame.why,
    frame.preferences && linkText(frame.preferences, fmt),
    frame.unsubscribe && linkText(frame.unsubscribe, fmt),
    t('common.sentBy'),
  ].filter((line): line is string => Boolean(line));
  const text = printable(
    [
      frame.tenantDisplayName,
      frame.heading,
      '='.repeat(Math.min(60, columns(frame.heading))),
      '',
      frame.greeting,
      '',
      ...textBody,
      '',
      '-- ',
      ...footer,
      '',
    ].join('\n'),
  );
  return { subject, text, html, headers: emailHeaders({ kind, ...headers }) };
}
