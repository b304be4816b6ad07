/**
 * Mail health, the notices of an incident (issue 13): an Error alert in the tenant's inbox when its
 * mail starts failing, and an email to its administrators when it starts and when it ends, sent
 * through the system default SMTP (the tenant's own server is the one failing). Each is written in
 * the transaction that records the transition, behind a key of its own, so it happens once per
 * incident whatever the number of workers and restarts.
 */
import type { Permission } from '../access/permissions.js';
import { NOT_SENT_TEXT } from '../delivery/not-sent.js';
import { writeAlerts } from '../alerts/store.js';
import { alertTimeFloor } from '../alerts/time-floor.js';
import type { RenderedEmail } from '../delivery/contract.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { readdressDelivery } from '../delivery/outbox/readdress.js';
import type { Clock } from '../shared/clock.js';
import { ComposeError, type EmailComposer } from '../delivery/outbox/render.js';
import { localeFormat } from '../i18n/format.js';
import type { Language } from '../i18n/languages.js';
import { loadAccessFacts } from '../recipients/query.js';
import { languageOf } from '../recipients/eligibility.js';
import { emailHeaders, headerText, subjectTenant } from '../reports/templates/headers.js';
import { mailSettingsUrl } from '../reports/templates/links.js';
import { type UnsubscribeLinks, loadUnsubscribeKey, unsubscribeUrl } from '../reports/unsubscribe/links.js';
import { USER_OPT_OUT_KINDS, addressOptOuts, optedOut } from '../reports/unsubscribe/apply.js';
import type { TenantRow } from '../http/context.js';
import { emailTranslator } from '../i18n/email-i18n.js';
import type { Logger } from 'pino';
import type { CountStored } from '../alerts/ingest.js';
import type { Db } from '../storage/database.js';
import type { MailHealthTransition } from './model.js';
import type { Unreached } from '../delivery/contract.js';
import { unreachedLabel, unreachedText } from './unreached-words.js';
import { MAIL_HEALTH_ALERT, failingAlertMessage } from './alert-message.js';
import type { MailHealthChange } from './store.js';
import { firstKnownZone, sameMailbox } from '../shared/validation.js';
import { withoutBidiControlsOrTheirGap } from '../shared/bidi.js';
import { tenantShownName } from '../reports/templates/text.js';
import { printable } from '../shared/printable.js';

/** The one alert a failing transition stores, as tocsin_alerts_stored_total counts it (NoticeContext.countStored). */
const MAIL_HEALTH_ALERT_STORED: readonly { readonly severity: string }[] = Object.freeze([MAIL_HEALTH_ALERT]);

/** The permission that makes a user an administrator of the tenant's mail (the Administrator role has it). */
const ADMIN_PERMISSION: Permission = 'Settings.Edit';

interface Texts {
  subject: (tenant: string) => string;
  /** `label` is that of the failing notice's last line when no server answered (unreached-words.ts), else the server's last reply's. */
  body: (p: { tenant: string; since: string; reply: string; label?: string | undefined; link: string }) => string[];
}

// French puts a narrow no-break space (U+202F) before « : » and inside guillemets.
const NNBSP = '\u202f';

/** MailHealthNoticeKind is what a notice tells: an incident began or ended, or an XOAUTH2 access token is about to expire. */
export type MailHealthNoticeKind = MailHealthTransition | 'token-expiring';

/** TEXTS are the notices in every supported language; `since` is the expiry for `token-expiring`. */
const TEXTS: Record<Language, Record<MailHealthNoticeKind, Texts>> = {
  en: {
    failing: {
      subject: (tenant) => `Alert emails of ${tenant} are failing`,
      body: (p) => [
        `Tocsin cannot deliver the alert emails of ${p.tenant} through its mail server since ${p.since}.`,
        `${p.label ?? "The server's last reply"}: ${p.reply}`,
        `Check the settings (for example a password changed elsewhere) in Settings > Mail: ${p.link}`,
        'You will get one more email when mail works again.',
      ],
    },
    recovered: {
      subject: (tenant) => `Alert emails of ${tenant} work again`,
      body: (p) => [`The mail server of ${p.tenant} delivers alert emails again since ${p.since}.`, `Settings > Mail: ${p.link}`],
    },
    'token-expiring': {
      subject: (tenant) => `The mail server access token of ${tenant} expires soon`,
      body: (p) => [
        `The XOAUTH2 access token that Tocsin signs in to the mail server of ${p.tenant} with expires on ${p.since}.`,
        'Tocsin cannot renew it: save a new access token before then, or alert emails will start failing.',
        `Settings > Mail: ${p.link}`,
      ],
    },
  },
  // The page is named as the French console names it (Paramètres > Courrier), and the tenant « du
  // locataire X » as the alert emails name it, which avoids « de » before a vowel (« de Acme »).
  fr: {
    failing: {
      subject: (tenant) => `Les e-mails d’alerte du locataire ${tenant} échouent`,
      body: (p) => [
        `Tocsin ne parvient plus à envoyer les e-mails d’alerte du locataire ${p.tenant} par son serveur de messagerie depuis le ${p.since}.`,
        `${p.label ?? 'Dernière réponse du serveur'}${NNBSP}: ${p.reply}`,
        `Vérifiez les paramètres (par exemple un mot de passe changé ailleurs) dans Paramètres > Courrier${NNBSP}: ${p.link}`,
        'Vous recevrez un autre e-mail quand la messagerie fonctionnera de nouveau.',
      ],
    },
    recovered: {
      subject: (tenant) => `Les e-mails d’alerte du locataire ${tenant} fonctionnent de nouveau`,
      body: (p) => [
        `Le serveur de messagerie du locataire ${p.tenant} envoie de nouveau les e-mails d’alerte depuis le ${p.since}.`,
        `Paramètres > Courrier${NNBSP}: ${p.link}`,
      ],
    },
    'token-expiring': {
      subject: (tenant) => `Le jeton d’accès au serveur de messagerie du locataire ${tenant} expire bientôt`,
      body: (p) => [
        `Le jeton d’accès XOAUTH2 avec lequel Tocsin se connecte au serveur de messagerie du locataire ${p.tenant} expire le ${p.since}.`,
        `Tocsin ne peut pas le renouveler${NNBSP}: enregistrez un nouveau jeton d’accès avant cette date, sinon les e-mails d’alerte échoueront.`,
        `Paramètres > Courrier${NNBSP}: ${p.link}`,
      ],
    },
  },
  de: {
    failing: {
      subject: (tenant) => `Alarm-E-Mails von ${tenant} schlagen fehl`,
      body: (p) => [
        `Tocsin kann die Alarm-E-Mails von ${p.tenant} seit dem ${p.since} nicht über den Mailserver zustellen.`,
        `${p.label ?? 'Letzte Antwort des Servers'}: ${p.reply}`,
        `Prüfen Sie die Einstellungen (z. B. ein anderswo geändertes Passwort) unter Einstellungen > E-Mail: ${p.link}`,
        'Sie erhalten eine weitere E-Mail, sobald die Zustellung wieder funktioniert.',
      ],
    },
    recovered: {
      subject: (tenant) => `Alarm-E-Mails von ${tenant} funktionieren wieder`,
      body: (p) => [`Der Mailserver von ${p.tenant} stellt seit dem ${p.since} wieder Alarm-E-Mails zu.`, `Einstellungen > E-Mail: ${p.link}`],
    },
    'token-expiring': {
      subject: (tenant) => `Das Zugriffstoken für den Mailserver von ${tenant} läuft bald ab`,
      body: (p) => [
        `Das XOAUTH2-Zugriffstoken, mit dem sich Tocsin beim Mailserver von ${p.tenant} anmeldet, läuft am ${p.since} ab.`,
        'Tocsin kann es nicht erneuern: Speichern Sie vorher ein neues Zugriffstoken, sonst schlagen die Alarm-E-Mails fehl.',
        `Einstellungen > E-Mail: ${p.link}`,
      ],
    },
  },
  es: {
    failing: {
      subject: (tenant) => `Los correos de alerta de ${tenant} están fallando`,
      body: (p) => [
        `Tocsin no puede entregar los correos de alerta de ${p.tenant} a través de su servidor de correo desde el ${p.since}.`,
        `${p.label ?? 'Última respuesta del servidor'}: ${p.reply}`,
        `Revise la configuración (por ejemplo, una contraseña cambiada en otro lugar) en Configuración > Correo: ${p.link}`,
        'Recibirá otro correo cuando el correo vuelva a funcionar.',
      ],
    },
    recovered: {
      subject: (tenant) => `Los correos de alerta de ${tenant} vuelven a funcionar`,
      body: (p) => [`El servidor de correo de ${p.tenant} vuelve a entregar los correos de alerta desde el ${p.since}.`, `Configuración > Correo: ${p.link}`],
    },
    'token-expiring': {
      subject: (tenant) => `El token de acceso al servidor de correo de ${tenant} caduca pronto`,
      body: (p) => [
        `El token de acceso XOAUTH2 con el que Tocsin inicia sesión en el servidor de correo de ${p.tenant} caduca el ${p.since}.`,
        'Tocsin no puede renovarlo: guarde un nuevo token de acceso antes de esa fecha o los correos de alerta empezarán a fallar.',
        `Configuración > Correo: ${p.link}`,
      ],
    },
  },
  ja: {
    failing: {
      subject: (tenant) => `${tenant} のアラート メールの送信に失敗しています`,
      body: (p) => [
        `${p.since} 以降、Tocsin は ${p.tenant} のアラート メールをメール サーバー経由で配信できていません。`,
        `${p.label ?? 'サーバーの最後の応答'}: ${p.reply}`,
        `[設定] > [メール] で設定 (別の場所で変更されたパスワードなど) を確認してください: ${p.link}`,
        'メールが再び送信できるようになったら、もう一度お知らせします。',
      ],
    },
    recovered: {
      subject: (tenant) => `${tenant} のアラート メールが再び送信されています`,
      body: (p) => [`${p.since} 以降、${p.tenant} のメール サーバーは再びアラート メールを配信しています。`, `[設定] > [メール]: ${p.link}`],
    },
    'token-expiring': {
      subject: (tenant) => `${tenant} のメール サーバーのアクセス トークンがまもなく期限切れになります`,
      body: (p) => [
        `Tocsin が ${p.tenant} のメール サーバーへのサインインに使う XOAUTH2 アクセス トークンは ${p.since} に期限切れになります。`,
        'Tocsin はトークンを更新できません。それまでに新しいアクセス トークンを保存してください。保存しないとアラート メールの送信に失敗します。',
        `[設定] > [メール]: ${p.link}`,
      ],
    },
  },
};

/** MailHealthNoticeInput is what one notice says, to one administrator. */
export interface MailHealthNoticeInput {
  readonly transition: MailHealthNoticeKind;
  readonly language: Language;
  readonly timeZone: string;
  readonly tenantName: string;
  readonly tenantDisplayName: string;
  /** When the incident began, or when it ended; when the token expires. */
  readonly at: number;
  readonly lastError: string | null;
  /** Why no server answered, when none did: the line says "the last error" and why, in the reader's language, not a reply there was not. */
  readonly unreached?: Unreached | undefined;
  readonly settingsUrl: string;
  /** The one-click link that stops these notices to this administrator (API.md: every email but a test has one). */
  readonly unsubscribeUrl?: string | undefined;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Inline, as mail clients keep it: a long tenant name, server reply or link wraps on a phone instead of widening the page.
const P = ' style="overflow-wrap:anywhere;word-break:break-word"';
// Stands in for the server's reply in the lines of the HTML part until it is put in its own element: no text holds it.
const REPLY_MARK = '\u0000reply\u0000';

/** renderMailHealthNotice writes one notice in its reader's language, text and HTML. */
export function renderMailHealthNotice(input: MailHealthNoticeInput): RenderedEmail {
  const texts = TEXTS[input.language][input.transition];
  const fmt = localeFormat(input.language, input.timeZone);
  const since = fmt.dateTime(input.at);
  const t = emailTranslator(input.language);
  // The server's reply without the bidirectional controls that would turn the rest of its line backwards, as the tenant's name.
  // No server answered: Tocsin's own English sentence (lastError) gives way to why, in the reader's language, with Node's words.
  const failure = input.unreached ? unreachedText(input.unreached, input.language) : input.lastError;
  const reply = failure === null ? '—' : printable(withoutBidiControlsOrTheirGap(failure));
  const label = input.unreached ? unreachedLabel(input.language) : undefined;
  const tenant = printable(tenantShownName(input.tenantName, input.tenantDisplayName));
  // The first line gives the time: name its zone, as every other email does (the tenant's, for an administrator who set none).
  const linesWith = (shownReply: string) => {
    const [first, ...rest] = texts.body({ tenant, since, reply: shownReply, label, link: input.settingsUrl });
    return [first!, t('common.timesIn', { zone: fmt.zoneLabel(input.at) }), ...rest];
  };
  const lines = linesWith(reply);
  // The server's reply is in English (servers write theirs so) within the reader's language: marked so in the HTML, as the
  // console's banner marks it, for a screen reader to read it as English. Why no server answered is in the reader's words.
  const serverSaid = failure !== null && !input.unreached;
  const html = linesWith(serverSaid ? REPLY_MARK : reply).map(
    (line) =>
      `<p${P}>${escapeHtml(line)
        .replace(escapeHtml(input.settingsUrl), `<a href="${escapeHtml(input.settingsUrl)}">${escapeHtml(input.settingsUrl)}</a>`)
        .replace(REPLY_MARK, () => `<span lang="en">${escapeHtml(reply)}</span>`)}</p>`,
  );
  const unsubscribe = input.unsubscribeUrl;
  const subject = headerText(texts.subject(subjectTenant(tenant)));
  const unsubscribeText = t('mail-health.unsubscribe');
  return {
    subject,
    text: `${lines.join('\n\n')}\n${unsubscribe ? `\n-- \n${fmt.labelled(unsubscribeText, unsubscribe)}\n` : ''}`,
    // dir and the subject as <title>, as the templated emails have: what a client's tab and a screen reader announce.
    html: `<!doctype html><html lang="${input.language}" dir="ltr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(subject)}</title></head><body>${html.join('')}${
      unsubscribe ? `<p${P}><small><a href="${escapeHtml(unsubscribe)}">${escapeHtml(unsubscribeText)}</a></small></p>` : ''
    }</body></html>`,
    headers: emailHeaders({ kind: 'mail-health', tenantName: input.tenantName, unsubscribe }),
  };
}

/** MailHealthAdmin is one administrator to write to. */
interface MailHealthAdmin {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly language: string | null;
  readonly timeZone: string | null;
}

/**
 * mailAdmins are the tenant's active users who may change its mail settings (Settings.Edit, through
 * their own roles or a group's; the Administrator role has it).
 */
async function mailAdmins(db: Db, tenantId: string): Promise<MailHealthAdmin[]> {
  const facts = await loadAccessFacts(db, tenantId);
  const roles = [...facts.rolePermissions].filter(([, permissions]) => permissions.has(ADMIN_PERMISSION)).map(([id]) => id);
  if (roles.length === 0) return [];
  const groups = [...facts.groups.values()].filter((g) => g.roleIds.some((r) => roles.includes(r))).map((g) => g.id);
  return db
    .selectFrom('users')
    .select(['id', 'email', 'name', 'language', 'time_zone as timeZone'])
    .where('tenant_id', '=', tenantId)
    .where('active', '=', 1)
    .where((eb) =>
      eb.or([
        eb('id', 'in', eb.selectFrom('user_roles').select('user_id').where('role_id', 'in', roles)),
        ...(groups.length > 0 ? [eb('id', 'in', eb.selectFrom('group_members').select('user_id').where('group_id', 'in', groups))] : []),
      ]),
    )
    .orderBy('id')
    .execute();
}

/** NOT_A_MAIL_ADMIN is why a notice is not sent (the delivery log's error). */
export const NOT_A_MAIL_ADMIN = NOT_SENT_TEXT['not-a-mail-admin'];

/**
 * mailHealthComposer sends a notice only to an administrator who still is one (mailAdmins) and has
 * not unsubscribed from them since, written again for the tenant's name and that administrator's
 * language and time zone then: a notice waits for the system server as long as any email (hours,
 * when it is down too), and someone who left meanwhile should not get the tenant's SMTP errors, nor
 * one who renamed the tenant (mail filters read X-Tocsin-Tenant) or chose another language find the
 * old ones. An administrator whose address changed meanwhile gets it at the new one (the former
 * mailbox is no longer theirs, and "mail never fails silently"): its row is moved there
 * (readdressDelivery: its key is the administrator's, whatever the address) so that the log shows
 * where it went, with a one-click link for that address. A notice queued before its facts were
 * stored is sent as written, to the address it was written for only.
 */
export function mailHealthComposer(db: Db, links: Pick<UnsubscribeLinks, 'url'>, clock: Clock): EmailComposer {
  return async (delivery) => {
    const payload = delivery.payload;
    if (!('rendered' in payload)) throw new ComposeError('a mail-health notice is stored written');
    const { userId, address } = delivery.recipient;
    if (userId === undefined) return payload.rendered;
    const admin = (await mailAdmins(db, delivery.tenantId)).find((a) => a.id === userId);
    const moved = admin !== undefined && !sameMailbox(admin.email, address);
    if (admin === undefined || (moved && payload.data === undefined)) throw new ComposeError(NOT_A_MAIL_ADMIN);
    // Moved before the opt-out is read, so that the delivery log names the mailbox that turned these notices off.
    if (moved) {
      const readdressed = await readdressDelivery(db, delivery, admin.email, delivery.idempotencyKey, async () => true, clock.now());
      if (readdressed !== 'moved') throw new Error(`notice ${delivery.id} is no longer this claim's: not moved to its administrator's new address`);
    }
    if (await optedOut(db, delivery.tenantId, admin.email, 'mail-health')) throw new ComposeError(NOT_SENT_TEXT['turned-off']);
    if (payload.data === undefined) return payload.rendered;
    const tenant = await noticeTenant(db, delivery.tenantId);
    if (!tenant) throw new ComposeError('the tenant of this notice was deleted');
    const facts = payload.data as NoticeFacts;
    if (!moved) return writeNotice(facts, admin, tenant);
    const recipient = { type: 'user' as const, id: admin.id, address: admin.email };
    const unsubscribe = await links.url({ tenantId: delivery.tenantId, kind: 'mail-health', recipient });
    return { ...writeNotice({ ...facts, unsubscribeUrl: unsubscribe }, admin, tenant), to: { address: admin.email, name: admin.name } };
  };
}

/** NoticeContext is what the notices need besides the transition: where the console is, and where to log it. */
export interface NoticeContext {
  readonly publicUrl: string;
  /**
   * The process's log: an incident's start and end are logged once each (reportTransitions), after the
   * commit that claims its notice, so that an operator reads when a tenant's mail failed and came
   * back, not only the failed emails (one line each, hundreds while a server refuses everything).
   */
  readonly log?: Pick<Logger, 'warn' | 'info'>;
  /**
   * The process's tocsin_alerts_stored_total (storedAlertsCounter): the Mail.DeliveryFailing alert
   * of an incident is counted with every other alert stored, once its commit is done (reportTransitions).
   */
  readonly countStored?: CountStored;
}

/** ClaimedTransition is a transition whose notice this transaction claimed, to be logged once it commits. */
export interface ClaimedTransition {
  readonly change: MailHealthChange;
  readonly tenantName: string;
}

/**
 * sendMailHealthNotices acts on transitions in the transaction that recorded them: for each, a
 * notice row keyed (tenant, incident, kind) is claimed first, and only its first writer raises the
 * alert and queues the administrators' emails (whose idempotency keys repeat the guard). Returns
 * the transitions it claimed, for the caller to log once the transaction has committed: logged
 * inside it, a commit retried (SQLite busy, a dropped connection) would log one twice, and one
 * that failed for good an incident never recorded.
 */
export async function sendMailHealthNotices(tx: Db, changes: readonly MailHealthChange[], context: NoticeContext): Promise<ClaimedTransition[]> {
  const claimedTransitions: ClaimedTransition[] = [];
  for (const change of changes) {
    const claimed = await tx
      .insertInto('mail_health_notices')
      .values({ tenant_id: change.tenantId, incident: change.health.incident, kind: change.transition, created_at: change.at })
      .onConflict((oc) => oc.columns(['tenant_id', 'incident', 'kind']).doNothing())
      .returning('incident')
      .executeTakeFirst();
    if (!claimed) continue;
    // A tenant deleted meanwhile gets nothing (its alert could not be stored).
    const tenant = await tx.selectFrom('tenants').select(['name', 'language']).where('id', '=', change.tenantId).executeTakeFirst();
    if (!tenant) continue;
    claimedTransitions.push({ change, tenantName: tenant.name });
    if (change.transition === 'failing') {
      await writeAlerts(
        tx,
        change.tenantId,
        [
          {
            severity: MAIL_HEALTH_ALERT.severity,
            component: MAIL_HEALTH_ALERT.component,
            event: MAIL_HEALTH_ALERT.event,
            message: failingAlertMessage(languageOf(tenant.language), change.health.lastError ?? '—'),
            // With why no server answered, when none did: the emails that list the alert word it in their reader's language (alert-message.ts).
            data: JSON.stringify({
              lastCode: change.health.lastCode,
              lastError: change.health.lastError,
              ...(change.unreached ? { cause: change.unreached.cause, detail: change.unreached.detail } : {}),
            }),
            source: null,
            folder: null,
            dedupKey: null,
            occurredAt: change.health.since ?? change.at,
          },
        ],
        // Stamped no earlier than the report windows already judged (alerts/time-floor.ts).
        Math.max(change.at, await alertTimeFloor(tx)),
      );
    }
    await queueAdminNotices(tx, change.tenantId, {
      kind: change.transition,
      key: `${change.health.incident}:${change.transition}`,
      at: change.transition === 'failing' ? (change.health.since ?? change.at) : change.at,
      lastError: change.health.lastError,
      unreached: change.unreached,
      now: change.at,
      context,
    });
  }
  return claimedTransitions;
}

/**
 * reportTransitions logs each claimed transition, a tenant's mail incident starting (a warning, with
 * the reply that started it) or ending, and counts the alert an incident's start stored: called
 * only once the transaction that claimed them has committed.
 */
export function reportTransitions(context: NoticeContext, claimed: readonly ClaimedTransition[]): void {
  for (const { change, tenantName } of claimed) {
    const who = { tenant: change.tenantId, tenantName, incident: change.health.incident };
    if (change.transition === 'failing') {
      context.countStored?.(MAIL_HEALTH_ALERT_STORED);
      const since = new Date(change.health.since ?? change.at).toISOString();
      context.log?.warn(
        { ...who, since, code: change.health.lastCode, error: change.health.lastError },
        "a tenant's mail is failing; its administrators are told",
      );
    } else context.log?.info(who, "a tenant's mail works again");
  }
}

/** AdminNotice is one notice to every mail administrator of a tenant. */
export interface AdminNotice {
  readonly kind: MailHealthNoticeKind;
  /** Unique per notice of the tenant: the administrators' idempotency keys are built on it. */
  readonly key: string;
  /** The time the notice tells (the incident's start or end, the token's expiry). */
  readonly at: number;
  readonly lastError: string | null;
  /** Why no server answered, when none did: worded in each administrator's language in place of lastError. */
  readonly unreached?: Unreached | undefined;
  readonly now: number;
  readonly context: NoticeContext;
}

/**
 * NoticeFacts are what a queued notice tells, stored beside it as it was written: the composer writes
 * it again when it is sent, for its tenant's name and its administrator's language and time zone then.
 */
interface NoticeFacts {
  readonly transition: MailHealthNoticeKind;
  readonly at: number;
  readonly lastError: string | null;
  readonly unreached?: Unreached | undefined;
  readonly settingsUrl: string;
  readonly unsubscribeUrl: string;
}

/** NoticeTenant is what a notice shows of its tenant, and its fallbacks for language and time zone. */
type NoticeTenant = Pick<TenantRow, 'name' | 'display_name' | 'language' | 'time_zone'>;

/** readingAs is the language and time zone an administrator reads a notice in: its own, else its tenant's. */
function readingAs(admin: MailHealthAdmin, tenant: NoticeTenant): { language: Language; timeZone: string } {
  return { language: languageOf(admin.language, tenant.language), timeZone: firstKnownZone(admin.timeZone, tenant.time_zone) };
}

/** writeNotice writes a notice to one administrator of a tenant, in that administrator's language and time zone. */
function writeNotice(facts: NoticeFacts, admin: MailHealthAdmin, tenant: NoticeTenant): RenderedEmail {
  return renderMailHealthNotice({ ...facts, ...readingAs(admin, tenant), tenantName: tenant.name, tenantDisplayName: tenant.display_name });
}

/**
 * queueAdminNotices queues one notice to each mail administrator of a tenant who did not unsubscribe
 * from them, in their language and time zone, with their one-click unsubscribe link, in the caller's
 * transaction; the `mail-health` kind goes through the system default SMTP.
 */
export async function queueAdminNotices(tx: Db, tenantId: string, notice: AdminNotice): Promise<void> {
  const tenant = await noticeTenant(tx, tenantId);
  if (!tenant) return;
  const all = await mailAdmins(tx, tenantId);
  const optOuts = await addressOptOuts(
    tx,
    tenantId,
    all.map((admin) => admin.email),
    USER_OPT_OUT_KINDS,
  );
  const admins = all.filter((admin) => optOuts(admin.email).length === 0);
  if (admins.length === 0) return;
  const linkKey = await loadUnsubscribeKey(tx, { now: () => notice.now });
  await enqueueDeliveries(
    tx,
    admins.map((admin) => {
      const facts: NoticeFacts = {
        transition: notice.kind,
        at: notice.at,
        lastError: notice.lastError,
        unreached: notice.unreached,
        settingsUrl: mailSettingsUrl(notice.context.publicUrl, tenantId),
        unsubscribeUrl: unsubscribeUrl(
          notice.context.publicUrl,
          linkKey,
          { tenantId, kind: 'mail-health', recipient: { type: 'user', id: admin.id, address: admin.email } },
          notice.now,
        ),
      };
      return {
        tenantId,
        kind: 'mail-health' as const,
        idempotencyKey: `mail-health:${notice.key}:${admin.id}`,
        recipient: { address: admin.email, name: admin.name, ...readingAs(admin, tenant), userId: admin.id },
        rendered: writeNotice(facts, admin, tenant),
        data: facts,
      };
    }),
    { now: () => notice.now },
  );
}

/** noticeTenant reads what a notice shows of its tenant (undefined once it is deleted). */
function noticeTenant(db: Db, tenantId: string): Promise<NoticeTenant | undefined> {
  return db.selectFrom('tenants').select(['name', 'display_name', 'language', 'time_zone']).where('id', '=', tenantId).executeTakeFirst();
}
