/**
 * The reasons Tocsin itself gives for not sending an email that was decided: the world changed
 * before it went (its reader removed, the emails turned off, its alerts gone or muted). The
 * delivery log's `lastError` holds the English sentence after its stage ("render: …", "mail
 * settings: …"), and `notSent` the reason's code, which the console words in its reader's language.
 */
export const NOT_SENT_TEXT = {
  'not-a-reader':
    'not sent: since this email was decided, the recipient was deleted, deactivated, lost the Alerts.View permission or no longer gets alert emails at this address',
  'turned-off': 'not sent: the recipient turned these emails off after this one was decided',
  'nothing-left': 'nothing left to report: since this email was decided, every alert in it was deleted, muted or unsubscribed from',
  'alerts-email-disabled': 'Alerts email is switched off for this tenant.',
  'not-a-mail-admin':
    'not sent: since this notice was queued, the administrator was deleted, deactivated or lost the Settings.Edit permission (or, for a notice queued before an upgrade, changed address)',
} as const;

/** NotSentReason is the code of one of Tocsin's reasons for not sending an email. */
export type NotSentReason = keyof typeof NOT_SENT_TEXT;

/** NOT_SENT_REASONS are the codes, as the API's schema lists them. */
export const NOT_SENT_REASONS = Object.keys(NOT_SENT_TEXT) as [NotSentReason, ...NotSentReason[]];

/**
 * FORMER_TEXT are the wordings earlier versions recorded for a reason, still read as it: the delivery log keeps its
 * rows for the tenant's retention. A notice whose administrator changed address was refused until notices kept what
 * they tell (9d0fbca2); one queued since follows the administrator, so the reason no longer says so of every notice.
 */
const FORMER_TEXT: readonly (readonly [string, NotSentReason])[] = [
  [
    'not sent: since this notice was queued, the administrator was deleted, deactivated, lost the Settings.Edit permission or changed address',
    'not-a-mail-admin',
  ],
];

const BY_TEXT: ReadonlyMap<string, NotSentReason> = new Map([
  ...Object.entries(NOT_SENT_TEXT).map(([reason, text]) => [text, reason as NotSentReason] as const),
  ...FORMER_TEXT,
]);

/** notSentReasonOf reads the reason of a failed email's recorded error ("stage: text"), or null when it is none of Tocsin's own. */
export function notSentReasonOf(lastError: string | null): NotSentReason | null {
  if (lastError === null) return null;
  const colon = lastError.indexOf(': ');
  return (colon < 0 ? undefined : BY_TEXT.get(lastError.slice(colon + 2))) ?? null;
}
