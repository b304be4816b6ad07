import type { EmailKind } from '../../delivery/contract.js';
import { MESSAGE_ID_DOMAIN } from '../../delivery/message-id.js';
import { httpUrl } from './links.js';
import { withoutBidiControls } from '../../shared/bidi.js';
import { clip, field } from './text.js';

/** SUBJECT_MAX_LENGTH bounds a subject, in characters, well inside one 998-octet header line. */
export const SUBJECT_MAX_LENGTH = 180;

// The most of a tenant's display name a subject shows, in characters: a name as long as the API
// takes (200) would fill SUBJECT_MAX_LENGTH and cut off what the email is about.
const SUBJECT_TENANT_MAX = 60;

// Letters of the scripts written right to left (those of Unicode's bidirectional classes R and AL).
const RIGHT_TO_LEFT =
  /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}]/u;

// U+200E LEFT-TO-RIGHT MARK: an invisible letter written left to right.
const LEFT_TO_RIGHT_MARK = '\u200e';

/**
 * subjectTenant is a tenant's display name as a subject names it: on one line, cut to
 * SUBJECT_TENANT_MAX characters. A name in Arabic or Hebrew ends with a left-to-right mark: every
 * subject goes on after the name with ": " and, in a summary's, the count ("مجموعة النور: 14 new
 * error alerts"), which the bidirectional algorithm otherwise takes into the name's right-to-left
 * run, so that an inbox showed "14 :مجموعة النور new error alerts". The mark is a letter, not one of
 * the controls headerText drops, and leaves the subject of any other name as it was.
 */
export function subjectTenant(displayName: string): string {
  const name = field(displayName, SUBJECT_TENANT_MAX);
  return RIGHT_TO_LEFT.test(name) ? `${name}${LEFT_TO_RIGHT_MARK}` : name;
}

/**
 * subjectForPeriod adds to a report's subject the period it covers, so that two reports saying the
 * same count ("1 new error alert", every quiet day's "all quiet") differ in an inbox list, where
 * the subject is what a reader scans. It goes last: what the email says comes first, and a subject
 * cut short loses the period first.
 */
export function subjectForPeriod(subject: string, period: string): string {
  return `${subject} (${period})`;
}

// Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: any of them in a
// header either ends the line (header injection) or shows as garbage.
const UNSAFE_IN_HEADER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/**
 * headerText makes any text safe as a header value such as a subject: line breaks and other
 * control characters become a space, bidirectional controls go (withoutBidiControls), runs of
 * spaces collapse, and it is cut to `max` characters (never inside a surrogate pair) with an ellipsis.
 */
export function headerText(value: string, max = SUBJECT_MAX_LENGTH): string {
  // Only ASCII spaces collapse: French subjects keep their no-break space before ":".
  return clip(withoutBidiControls(value).replace(UNSAFE_IN_HEADER, ' ').replace(/ {2,}/g, ' ').trim(), max);
}

/** msgIdPart keeps the characters a Message-ID's dot-atom allows without quoting. */
function msgIdPart(value: string): string {
  return value.replace(/[^A-Za-z0-9-]+/g, '-').slice(0, 63) || 'tenant';
}

/** threadId is the stable per-tenant, per-day id that the day's summaries and Fatal alerts reply to (under the From domain once sent, see bindMessageIds). */
export function threadId(tenantName: string, isoDay: string): string {
  return `<alerts-${isoDay}.${msgIdPart(tenantName)}@${MESSAGE_ID_DOMAIN}>`;
}

/** HeaderInput is what decides an email's extra headers. */
export interface HeaderInput {
  readonly kind: EmailKind;
  /** The tenant the email is for; none only for a test of the host's system default, which is no tenant's. */
  readonly tenantName: string | undefined;
  /** The one-click unsubscribe URL; test emails have none. */
  readonly unsubscribe?: string | undefined;
  /** The thread to join (`threadId`), for the emails that come many a day. */
  readonly thread?: string | undefined;
}

/**
 * emailHeaders are the headers Tocsin adds besides From, To and Message-ID: the kind and tenant
 * for mail filters, RFC 8058 one-click unsubscribe (only with an http(s) URL), threading, and
 * RFC 3834 / Exchange markers so that out-of-office replies do not answer robots.
 */
export function emailHeaders(input: HeaderInput): Record<string, string> {
  const headers: Record<string, string> = {
    'X-Tocsin-Kind': input.kind,
    ...(input.tenantName === undefined ? {} : { 'X-Tocsin-Tenant': headerText(input.tenantName, 100) }),
    'Auto-Submitted': 'auto-generated',
    'X-Auto-Response-Suppress': 'OOF, AutoReply',
  };
  const unsubscribe = httpUrl(input.unsubscribe);
  if (unsubscribe) {
    headers['List-Unsubscribe'] = `<${unsubscribe}>`;
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  if (input.thread) {
    headers['In-Reply-To'] = input.thread;
    headers.References = input.thread;
  }
  return headers;
}
