/**
 * The message of the Mail.DeliveryFailing alert that a mail incident stores (notices.ts). It is
 * stored in the tenant's language, as any alert's message is kept and shown by the console and the
 * API; but the sentence is Tocsin's own, not a robot's, so the emails that list the alert write it
 * in their reader's language (PRODUCT.md: every email in the language of its recipient).
 */
import { type Language, LANGUAGES } from '../i18n/languages.js';
import { unreachedLabel, unreachedOfData, unreachedText } from './unreached-words.js';

/** The component and event of the alert raised when a tenant's mail fails (API.md). */
export const MAIL_HEALTH_ALERT = { severity: 'Error', component: 'Tocsin', event: 'Mail.DeliveryFailing' } as const;

// French puts a narrow no-break space (U+202F) before « : ».
const NNBSP = '\u202f';

/** FAILING_ALERT_MESSAGE words the alert in each language; the server's reply comes last in every one. */
const FAILING_ALERT_MESSAGE: Record<Language, (reply: string) => string> = {
  en: (reply) => `Alert emails are failing. The mail server's last reply: ${reply}`,
  fr: (reply) => `Les e-mails d’alerte échouent. Dernière réponse du serveur de messagerie${NNBSP}: ${reply}`,
  de: (reply) => `Alarm-E-Mails schlagen fehl. Letzte Antwort des Mailservers: ${reply}`,
  es: (reply) => `Los correos de alerta están fallando. Última respuesta del servidor de correo: ${reply}`,
  ja: (reply) => `アラート メールの送信に失敗しています。メール サーバーの最後の応答: ${reply}`,
};

/**
 * FAILING_UNREACHED words the alert for a reader when no server answered (unreached-words.ts): the
 * last error, explained in the reader's language, in place of a reply there was not.
 */
const FAILING_UNREACHED: Record<Language, (label: string, text: string) => string> = {
  en: (label, text) => `Alert emails are failing. ${label}: ${text}`,
  fr: (label, text) => `Les e-mails d’alerte échouent. ${label}${NNBSP}: ${text}`,
  de: (label, text) => `Alarm-E-Mails schlagen fehl. ${label}: ${text}`,
  es: (label, text) => `Los correos de alerta están fallando. ${label}: ${text}`,
  ja: (label, text) => `アラート メールの送信に失敗しています。${label}: ${text}`,
};

/** The most characters of the message stored. */
const STORED_MAX = 2_000;

/** failingAlertMessage is the message stored with the alert, in the tenant's language. */
export function failingAlertMessage(language: Language, reply: string): string {
  return FAILING_ALERT_MESSAGE[language](reply).slice(0, STORED_MAX);
}

// What each language's message says before the reply: how a stored message tells its language.
const PREFIXES = LANGUAGES.map((language) => [language, FAILING_ALERT_MESSAGE[language]('')] as const);

/**
 * alertMessageIn is an alert's message as an email to a reader of `language` shows it: Tocsin's own
 * Mail.DeliveryFailing alert re-worded in that language around the server's reply it holds; any
 * other alert's message (a robot's, a person's) as it was raised. Two comparisons for every other
 * alert, as the immediate email of a Fatal alert reads it too.
 */
export function alertMessageIn(
  alert: { readonly component: string; readonly event: string; readonly message: string; readonly data?: unknown; readonly tocsinData?: string | null },
  language: Language,
): string {
  if (alert.event !== MAIL_HEALTH_ALERT.event || alert.component !== MAIL_HEALTH_ALERT.component) return alert.message;
  for (const [stored, prefix] of PREFIXES) {
    if (!alert.message.startsWith(prefix)) continue;
    // No server answered: the stored reply is Tocsin's English sentence, which the data's cause words in the reader's language.
    const unreached = unreachedOfData(alert.tocsinData ?? alert.data);
    if (unreached) return FAILING_UNREACHED[language](unreachedLabel(language), unreachedText(unreached, language));
    return stored === language ? alert.message : FAILING_ALERT_MESSAGE[language](alert.message.slice(prefix.length));
  }
  // Not worded by Tocsin (an alert raised through the API under that event): shown as it was.
  return alert.message;
}
