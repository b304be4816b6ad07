import { emailTranslator } from '../../i18n/email-i18n.js';
import type { Language } from '../../i18n/languages.js';
import { printable } from '../../shared/printable.js';
import type { UnsubscribeTarget } from './token.js';

type PageText = {
  readonly confirm: string;
  readonly done: string;
  readonly confirmNotices: string;
  readonly doneNotices: string;
  /** For a group mailbox, which has no preferences to turn them on again in (its page's button does). */
  readonly confirmGroup: string;
  readonly doneGroup: string;
  readonly invalidTitle: string;
  readonly invalid: string;
  readonly again: string;
  readonly resubscribed: string;
};

/** The page's own sentences; its heading and button reuse the emails' "Unsubscribe from …" link text. */
const TEXT: Readonly<Record<Language, PageText>> = Object.freeze({
  en: {
    confirm: 'This stops these emails to {address}. You can turn them back on in your alert preferences.',
    done: 'Done: {address} will no longer receive these emails. You can turn them back on in your alert preferences.',
    confirmNotices: "This stops the notices about the tenant's mail server to {address}; its alert and the console's banner still tell when mail fails.",
    doneNotices:
      "Done: {address} will no longer receive notices about the tenant's mail server; its alert and the console's banner still tell when mail fails.",
    confirmGroup: 'This stops these emails to {address}.',
    doneGroup: 'Done: {address} will no longer receive these emails.',
    invalidTitle: 'Link not valid',
    invalid: 'This unsubscribe link is not valid or has expired. You can still turn these emails off in your alert preferences.',

    again: 'Subscribe again',
    resubscribed: 'Done: {address} will receive these emails again.',
  },
  fr: {
    confirm: 'Cela arrête ces e-mails pour {address}. Vous pourrez les réactiver dans vos préférences d’alerte.',
    done: 'C’est fait\u00a0: {address} ne recevra plus ces e-mails. Vous pourrez les réactiver dans vos préférences d’alerte.',
    confirmNotices:
      'Cela arrête les avis sur le serveur de messagerie du locataire pour {address}\u00a0; son alerte et le bandeau de la console signalent toujours les échecs.',
    doneNotices:
      'C’est fait\u00a0: {address} ne recevra plus d’avis sur le serveur de messagerie du locataire\u00a0; son alerte et le bandeau de la console signalent toujours les échecs.',
    confirmGroup: 'Cela arrête ces e-mails pour {address}.',
    doneGroup: 'C’est fait\u00a0: {address} ne recevra plus ces e-mails.',
    invalidTitle: 'Lien non valide',
    invalid: 'Ce lien de désabonnement n’est pas valide ou a expiré. Vous pouvez toujours désactiver ces e-mails dans vos préférences d’alerte.',

    again: 'Me réabonner',
    resubscribed: 'C’est fait\u00a0: {address} recevra de nouveau ces e-mails.',
  },
  de: {
    confirm: 'Danach erhält {address} diese E-Mails nicht mehr. Sie können sie in Ihren Alarmeinstellungen wieder aktivieren.',
    done: 'Erledigt: {address} erhält diese E-Mails nicht mehr. Sie können sie in Ihren Alarmeinstellungen wieder aktivieren.',
    confirmNotices: 'Danach erhält {address} keine Hinweise zum Mailserver des Mandanten mehr; sein Alarm und das Banner der Konsole melden Fehler weiterhin.',
    doneNotices: 'Erledigt: {address} erhält keine Hinweise zum Mailserver des Mandanten mehr; sein Alarm und das Banner der Konsole melden Fehler weiterhin.',
    confirmGroup: 'Danach erhält {address} diese E-Mails nicht mehr.',
    doneGroup: 'Erledigt: {address} erhält diese E-Mails nicht mehr.',
    invalidTitle: 'Link ungültig',
    invalid: 'Dieser Abmeldelink ist ungültig oder abgelaufen. Sie können diese E-Mails weiterhin in Ihren Alarmeinstellungen abbestellen.',

    again: 'Wieder abonnieren',
    resubscribed: 'Erledigt: {address} erhält diese E-Mails wieder.',
  },
  es: {
    confirm: 'Esto detiene estos correos a {address}. Puede volver a activarlos en sus preferencias de alertas.',
    done: 'Hecho: {address} ya no recibirá estos correos. Puede volver a activarlos en sus preferencias de alertas.',
    confirmNotices:
      'Esto detiene los avisos sobre el servidor de correo del inquilino a {address}; su alerta y el aviso de la consola siguen indicando los fallos.',
    doneNotices:
      'Hecho: {address} ya no recibirá avisos sobre el servidor de correo del inquilino; su alerta y el aviso de la consola siguen indicando los fallos.',
    confirmGroup: 'Esto detiene estos correos a {address}.',
    doneGroup: 'Hecho: {address} ya no recibirá estos correos.',
    invalidTitle: 'Enlace no válido',
    invalid: 'Este enlace para darse de baja no es válido o ha caducado. Puede desactivar estos correos en sus preferencias de alertas.',

    again: 'Volver a suscribirme',
    resubscribed: 'Hecho: {address} volverá a recibir estos correos.',
  },
  ja: {
    confirm: '{address} へのこれらのメールの送信を停止します。アラートの設定でいつでも再開できます。',
    done: '完了しました。{address} にはこれらのメールが送信されなくなります。アラートの設定でいつでも再開できます。',
    confirmNotices:
      '{address} へのテナントのメール サーバーに関するお知らせを停止します。送信に失敗したときは、引き続きアラートとコンソールのバナーでお知らせします。',
    doneNotices:
      '完了しました。{address} にはテナントのメール サーバーに関するお知らせが送信されなくなります。送信に失敗したときは、引き続きアラートとコンソールのバナーでお知らせします。',
    confirmGroup: '{address} へのこれらのメールの送信を停止します。',
    doneGroup: '完了しました。{address} にはこれらのメールが送信されなくなります。',
    invalidTitle: '無効なリンク',
    invalid: 'この配信停止リンクは無効か、有効期限が切れています。アラートの設定からこれらのメールを停止できます。',

    again: '再度購読する',
    resubscribed: '完了しました。{address} に再びこれらのメールが送信されます。',
  },
});

/** escapeHtml makes text safe anywhere in HTML, attribute values included. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** UnsubscribeState is what a link's page shows: the question, or the answer after turning off or on again. */
export type UnsubscribeState = 'ask' | 'unsubscribed' | 'resubscribed';

/**
 * unsubscribePage is the small HTML page of a one-click link with `token`, in the recipient's
 * language: the question with a button that posts back to the link; after unsubscribing, the
 * confirmation with a button that subscribes again (a click in the wrong place is undone where it
 * was made: a group mailbox and the mail-health notices have no preferences to go to); after
 * that, the confirmation with the unsubscribe button again. Forms post to URLs relative to the page,
 * so that they work behind a proxy that serves Tocsin under a path of its own.
 */
export function unsubscribePage(target: UnsubscribeTarget, language: Language, state: UnsubscribeState, token: string): string {
  const text = TEXT[language];
  const title = emailTranslator(language)(`${target.kind}.unsubscribe`);
  // No preference holds the mail-health notices, so their page does not send the reader there.
  const notices = target.kind === 'mail-health';
  // Nor does any preference hold a group mailbox's reports: the button of this page turns them on again.
  const group = target.recipient.type === 'group';
  const [ask, done] = notices
    ? (['confirmNotices', 'doneNotices'] as const)
    : group
      ? (['confirmGroup', 'doneGroup'] as const)
      : (['confirm', 'done'] as const);
  const key = state === 'resubscribed' ? 'resubscribed' : state === 'ask' ? ask : done;
  const sentence = escapeHtml(text[key]).replace('{address}', `<strong>${escapeHtml(target.recipient.address)}</strong>`);
  const link = escapeHtml(encodeURIComponent(token));
  // The question is at /unsubscribe/TOKEN and posts to itself; the answers are at …/TOKEN (after a POST) and …/TOKEN/resubscribe.
  const form =
    state === 'unsubscribed'
      ? `<form method="post" action="${link}/resubscribe"><button type="submit">${escapeHtml(text.again)}</button></form>`
      : `<form method="post"${state === 'resubscribed' ? ` action="../${link}"` : ''}><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">${escapeHtml(title)}</button></form>`;
  return smallPage(language, title, `<p>${sentence}</p>${form}`);
}

/** invalidLinkPage is the page a browser gets, in its reader's language, for a link that is tampered, expired or of someone removed. */
export function invalidLinkPage(language: Language): string {
  return smallPage(language, TEXT[language].invalidTitle, `<p>${escapeHtml(TEXT[language].invalid)}</p>`);
}

/**
 * smallPage is the shell of the pages that links in emails open (no login, no script): a heading
 * and some HTML already escaped by the caller, in a main landmark (a screen reader's way to the content).
 * As in the emails, any control character of a name or message shows as a visible symbol (printable).
 */
export function smallPage(language: Language, title: string, bodyHtml: string): string {
  return printable(`<!doctype html><html lang="${language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2937;overflow-wrap:anywhere}
fieldset{border:1px solid #e5e7eb;border-radius:.375rem;margin:0 0 1rem}label{display:block;margin:.25rem 0}
button{font:inherit;padding:.5rem 1rem;border-radius:.375rem;border:1px solid #b91c1c;background:#dc2626;color:#fff;cursor:pointer}</style>
</head><body><main><h1>${escapeHtml(title)}</h1>${bodyHtml}</main></body></html>`);
}
