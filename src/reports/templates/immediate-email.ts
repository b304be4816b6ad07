import { CUSTOM_EVENT } from '../../alerts/catalogue.js';
import type { RenderedEmail } from '../../delivery/contract.js';
import { emailTranslator } from '../../i18n/email-i18n.js';
import { isoDay, localeFormat, offsetsBeside } from '../../i18n/format.js';
import { alertLine, alertLineText } from './alert-line.js';
import { greeting, link, linkText, renderEmail, why } from './frame.js';
import { SUBJECT_MAX_LENGTH, subjectTenant, threadId } from './headers.js';
import { SEVERITY_COLOURS } from './severity-style.js';
import { field, oneLine, shownTenant } from './text.js';
import type { ImmediateEmailView } from './view-models.js';

/** IMMEDIATE_DATA_MAX_FIELDS is how many fields of an alert's JSON data the email lists. */
const IMMEDIATE_DATA_MAX_FIELDS = 20;

// The most of a custom alert's message its subject shows, in characters (inboxes show about 70).
const SUBJECT_MESSAGE_MAX = 100;
// The least of it kept to make room for the alert's source within SUBJECT_MAX_LENGTH.
const SUBJECT_MESSAGE_MIN = 30;
// The parts of an alert's source its subject names, the first two present, each cut to SUBJECT_SOURCE_MAX characters.
const SUBJECT_SOURCES = ['robot', 'process', 'queue'] as const;
const SUBJECT_SOURCE_MAX = 40;

/**
 * renderImmediateEmail renders one Fatal alert in full for those who opted in: the whole message
 * with its line breaks, where it came from, the first fields of its data and a link to it.
 */
export function renderImmediateEmail(view: ImmediateEmailView): RenderedEmail {
  const { recipient, alert } = view;
  const tenant = shownTenant(view.tenant);
  const t = emailTranslator(recipient.language);
  // Times are said to be in the offset of the alert's first occurrence: a flood that went on across a
  // daylight-saving change writes its last time with that one's own.
  const fmt = offsetsBeside(localeFormat(recipient.language, recipient.timeZone), alert.firstAt);
  const line = alertLine(alert, t, fmt, { messageMax: 4096, foldMessage: false });
  const entries = Object.entries(alert.data ?? {});
  const data = entries.slice(0, IMMEDIATE_DATA_MAX_FIELDS).map(([key, value]) => ({
    key: field(key, 100),
    // One line per field: a value's line breaks would start lines that read as fields of their own.
    value: field(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)), 300),
  }));
  const hiddenFields = entries.length - data.length;
  const moreData = hiddenFields > 0 ? t('common.moreData', { count: hiddenFields }) : null;
  const intro = t('immediate.intro', { tenant: tenant.displayName, time: fmt.dateTime(alert.firstAt) });
  const timesIn = t('common.timesIn', { zone: fmt.zoneLabel(alert.firstAt) });
  const open = link(view.links.alert, t('immediate.open'));
  // A custom alert's event ("Custom alert") says nothing: what the robot raised is its message, so
  // the subject names that, and one custom Fatal alert's email is told from another's in the inbox
  // (a message of blanks names nothing: then the event does).
  const message = alert.event === CUSTOM_EVENT ? field(alert.message, SUBJECT_MESSAGE_MAX) : '';
  // Where it came from, so that the same event of two robots (or processes, queues) reads apart in the inbox.
  const source = SUBJECT_SOURCES.flatMap((part) => {
    const value = field(alert.source?.[part] ?? '', SUBJECT_SOURCE_MAX);
    return value ? [fmt.labelled(t(`field.${part}`), value)] : [];
  })
    .slice(0, 2)
    .join(', ');
  const subjectOf = (event: string) => {
    const named = subjectTenant(tenant.displayName);
    return source ? t('immediate.subjectFrom', { tenant: named, event, source }) : t('immediate.subject', { tenant: named, event });
  };
  // A subject longer than a header takes is cut at its end, where the source is: the message gives
  // way instead (down to SUBJECT_MESSAGE_MIN), so that a long message still names its robot.
  const over = message ? Array.from(subjectOf(message)).length - SUBJECT_MAX_LENGTH : 0;
  const what = (over > 0 ? field(alert.message, Math.max(SUBJECT_MESSAGE_MIN, Array.from(message).length - over)) : message) || line.event;
  return renderEmail(
    'immediate',
    {
      language: recipient.language,
      subject: subjectOf(what),
      preheader: fmt.labelled(line.event, oneLine(alert.message)),
      accent: SEVERITY_COLOURS[alert.severity],
      tenantDisplayName: tenant.displayName,
      heading: t('immediate.heading'),
      greeting: greeting(t, recipient),
      why: why(t, recipient, tenant.displayName),
      preferences: link(view.links.preferences, t('common.preferences')),
      unsubscribe: link(view.links.unsubscribe, t('immediate.unsubscribe')),
    },
    { intro, timesIn, line, data: data.length > 0 ? data : null, dataLabel: t('field.data'), moreData, open },
    [
      intro,
      timesIn,
      '',
      ...alertLineText(line, fmt),
      ...(data.length > 0 ? ['', fmt.labelled(t('field.data'), '').trimEnd(), ...data.map(({ key, value }) => `  ${fmt.labelled(key, value)}`)] : []),
      ...(moreData ? [`  ${moreData}`] : []),
      ...(open ? ['', linkText(open, fmt)] : []),
    ],
    {
      tenantName: tenant.name,
      unsubscribe: view.links.unsubscribe,
      thread: threadId(tenant.name, isoDay(alert.firstAt, tenant.timeZone)),
    },
    t,
    fmt,
  );
}
