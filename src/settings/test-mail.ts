import type { FastifyRequest } from 'fastify';
import { findUser } from '../access/users.js';
import type { MailSender, OutgoingEmail, SmtpEndpoint, SmtpStage } from '../delivery/contract.js';
import { SmtpDeliveryError } from '../delivery/contract.js';
import { type DirectOutcome, recordDirectSend } from '../delivery/outbox/direct.js';
import { bindMessageIds, newMessageId } from '../delivery/message-id.js';
import { TranscribedSmtpError, testCalledOff } from '../delivery/smtp/sender.js';
import { endpointSecrets, poolKey } from '../delivery/smtp/transport-options.js';
import type { AppDeps, TenantRow } from '../http/context.js';
import { fieldError } from '../http/problem.js';
import { DEFAULT_LANGUAGE, LANGUAGES, type Language } from '../i18n/languages.js';
import { renderTestEmail } from '../reports/templates/test-email.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import { serverSaid } from '../shared/redact.js';
import type { Db } from '../storage/database.js';
import type { Dialect } from '../storage/dialect.js';
import { type ClaimedTransition, reportTransitions } from '../mail-health/notices.js';
import { observeAndNotify } from '../mail-health/store.js';
import type { NoticeContext } from '../mail-health/notices.js';
import { type EndpointContext, type SmtpSource, UNREADABLE_SECRET, effectiveSmtp, guardEndpoint, toEndpoint } from './endpoint.js';
import { RefusedHostError } from './host-guard.js';
import { getMailSettings, getSystemSmtp, keepSecretsWithTheirHost, mergeOrExplain, mergeOverCustom, readSendSettings } from './mail-settings.js';
import { type SecretBox, SecretDecryptError } from './secret-box.js';
import type { SmtpSettingsInput } from './smtp-settings.js';
import { firstKnownZone } from '../shared/validation.js';

/** TestMailDeps are the parts a test send needs. */
export interface TestMailDeps {
  readonly db: Db;
  readonly secretBox: SecretBox;
  readonly sender: MailSender;
  readonly clock: Clock;
  readonly context: EndpointContext;
  /** Where a test of the saved settings reports that they deliver (mail health), and its notices link to. */
  readonly health?: { readonly dialect: Dialect; readonly notices: NoticeContext } | undefined;
  /** Aborted when Tocsin stops: a test still looking its server's name up is answered at once, called off (as the sender's close answers one connecting). */
  readonly stopping?: AbortSignal | undefined;
}

/** TestMailRequest is one Test Mail Settings click. */
export interface TestMailRequest {
  readonly tenant: TenantRow;
  readonly sendTo: string;
  /** The caller's language and time zone: the email is written for them. */
  readonly language: Language;
  readonly timeZone: string;
  /**
   * Unsaved settings, merged over the saved custom ones (the saved password and access token only
   * while the host stays the saved one); absent means the saved, effective ones.
   */
  readonly settings?: SmtpSettingsInput | undefined;
  /**
   * Counts the test against the tenant's limit once its settings are valid, before anything is
   * resolved or connected to (it throws the 429): a request refused as invalid tested nothing.
   */
  readonly beforeConnect?: (() => Promise<void>) | undefined;
}

/** TestMailResult is the answer of `POST /settings/mail/test` (always 200). */
export type TestMailResult =
  | { ok: true; messageId: string; transcript: readonly string[] }
  | { ok: false; stage: SmtpStage; code?: number; message: string; transcript: readonly string[] };

async function savedEndpoint(deps: TestMailDeps, tenantId: string): Promise<{ endpoint: SmtpEndpoint; source: SmtpSource }> {
  const { smtp, secrets, source } = effectiveSmtp(deps.secretBox, await readSendSettings(deps.db, tenantId), deps.context.systemSmtp);
  return { endpoint: toEndpoint(smtp, secrets), source };
}

/**
 * endpointToTest is what a test connects with, and whether that is exactly what the tenant's
 * emails use (`testsSaved`): unsaved values equal to the saved ones, as the console sends its form
 * back, test the saved settings as much as no values do.
 */
async function endpointToTest(
  deps: TestMailDeps,
  tenantId: string,
  settings: SmtpSettingsInput | undefined,
): Promise<{ endpoint: SmtpEndpoint; source: SmtpSource; testsSaved: boolean }> {
  if (!settings) return { ...(await savedEndpoint(deps, tenantId)), testsSaved: true };
  const endpoint = await unsavedEndpoint(deps, tenantId, settings);
  const testsSaved = await savedEndpoint(deps, tenantId).then(
    (saved) => poolKey(saved.endpoint) === poolKey(endpoint),
    (err: unknown) => {
      if (err instanceof SecretDecryptError) return false;
      throw err;
    },
  );
  return { endpoint, source: 'custom', testsSaved };
}

async function unsavedEndpoint(deps: TestMailDeps, tenantId: string, settings: SmtpSettingsInput): Promise<SmtpEndpoint> {
  // Unsaved values go over the saved custom ones, so an unchanged password need not be typed again.
  const saved = await getMailSettings(deps.db, tenantId);
  const merged = await mergeOverCustom(deps.db, deps.secretBox, tenantId, 'settings.', saved.custom, settings);
  keepSecretsWithTheirHost('settings.', 'test', saved.custom ?? undefined, settings, merged);
  return toEndpoint(merged.smtp, merged.secrets);
}

/**
 * sendTest sends one test email and says how it went, for the answer (with the dialogue) and for
 * the delivery log. A server may repeat a credential in what it says: neither ever does.
 */
async function sendTest(sender: MailSender, endpoint: SmtpEndpoint, message: OutgoingEmail): Promise<{ result: TestMailResult; outcome: DirectOutcome }> {
  const secrets = endpointSecrets(endpoint);
  try {
    const receipt = await sender.send(endpoint, message, { transcript: true });
    return {
      result: { ok: true, messageId: receipt.messageId, transcript: receipt.transcript ?? [] },
      outcome: { status: 'sent', response: serverSaid(receipt.response, secrets) },
    };
  } catch (err) {
    if (!(err instanceof SmtpDeliveryError)) throw err;
    const text = serverSaid(err.message, secrets);
    return {
      result: {
        ok: false,
        stage: err.stage,
        ...(err.code !== undefined ? { code: err.code } : {}),
        message: text,
        transcript: err instanceof TranscribedSmtpError ? err.transcript : [],
      },
      outcome: { status: 'failed', error: text, code: err.code, response: err.response === undefined ? undefined : serverSaid(err.response, secrets) },
    };
  }
}

/** SystemTestRequest is a Test Mail Settings of the host's system default, by the host administrator. */
export interface SystemTestRequest {
  readonly sendTo: string;
  /** The language the email is written in (the host administrator has none of its own): the console's. */
  readonly language: Language;
  /** Unsaved settings, merged over the saved system default as a tenant's are over its custom ones. */
  readonly settings?: SmtpSettingsInput | undefined;
  /** Called once the settings are known to be valid, before any connection (the rate limit, as a tenant's beforeConnect). */
  readonly beforeConnect: () => Promise<void>;
}

/**
 * sendSystemTestMail sends a test email through the system default, saved or as given unsaved,
 * so that the host administrator knows the settings every tenant on "default" uses deliver. It
 * belongs to no tenant: no delivery log keeps it, and it carries no X-Tocsin-Tenant.
 */
export async function sendSystemTestMail(deps: TestMailDeps, request: SystemTestRequest): Promise<TestMailResult> {
  const current = await getSystemSmtp(deps.db, deps.secretBox, deps.context.systemSmtp);
  let endpoint = toEndpoint(current.smtp, current.secrets);
  if (request.settings) {
    const merged = mergeOrExplain('settings.', current.smtp, current.secrets, request.settings);
    keepSecretsWithTheirHost('settings.', 'test', current.smtp, request.settings, merged);
    endpoint = toEndpoint(merged.smtp, merged.secrets);
  }
  await request.beforeConnect();
  const rendered = renderTestEmail({
    language: request.language,
    sentAt: deps.clock.now(),
    timeZone: 'UTC',
    tested: { host: endpoint.host, port: endpoint.port, security: endpoint.security, fromAddress: endpoint.fromAddress },
  });
  const messageId = bindMessageIds(newMessageId(newId()), endpoint.fromAddress);
  return (await sendTest(deps.sender, endpoint, { ...rendered, to: { address: request.sendTo }, messageId })).result;
}

/**
 * sendTestMail sends a real, localized test email with the given or the saved settings and
 * reports how it went, with the masked dialogue. It saves nothing. Invalid unsaved settings
 * throw a 400 naming the field; a refused host answers with the one generic message.
 */
export async function sendTestMail(deps: TestMailDeps, request: TestMailRequest): Promise<TestMailResult> {
  let endpoint: SmtpEndpoint;
  let testsSaved: boolean;
  try {
    const { endpoint: unchecked, source, testsSaved: saved } = await endpointToTest(deps, request.tenant.id, request.settings);
    testsSaved = saved;
    await request.beforeConnect?.();
    endpoint = await guardEndpoint(unchecked, source, deps.context, deps.stopping);
  } catch (err) {
    if (err instanceof RefusedHostError) return { ok: false, stage: 'connect', message: err.message, transcript: [] };
    // The lookup of the host got no answer within the settings' timeout (a connect failure), or Tocsin stopped meanwhile.
    const failed = deps.stopping?.aborted && err === deps.stopping.reason ? testCalledOff() : err;
    if (failed instanceof SmtpDeliveryError) return { ok: false, stage: failed.stage, message: failed.message, transcript: [] };
    if (err instanceof SecretDecryptError) return { ok: false, stage: 'auth', message: UNREADABLE_SECRET, transcript: [] };
    throw err;
  }
  const rendered = renderTestEmail({
    language: request.language,
    tenant: { name: request.tenant.name, displayName: request.tenant.display_name },
    sentAt: deps.clock.now(),
    timeZone: request.timeZone,
    tested: { host: endpoint.host, port: endpoint.port, security: endpoint.security, fromAddress: endpoint.fromAddress },
  });
  const deliveryId = newId();
  // Under the domain it is sent from, in the answer and the delivery log as in the email, sent or not.
  const messageId = bindMessageIds(newMessageId(deliveryId), endpoint.fromAddress);
  const startedAt = deps.clock.now();
  const { result, outcome } = await sendTest(deps.sender, endpoint, { ...rendered, to: { address: request.sendTo }, messageId });
  // A test of the saved settings that gets through proves the tenant's mail works again: the
  // failing banner and the incident end now, not at the next alert email, maybe hours away.
  const health = deps.health;
  // What the commit claimed (the incident's end), logged once it has committed, not inside it.
  let claimed: readonly ClaimedTransition[] = [];
  const delivered =
    health && outcome.status === 'sent' && testsSaved
      ? async (tx: Db) => {
          claimed = await observeAndNotify(tx, health.dialect, health.notices, [
            { tenantId: request.tenant.id, at: deps.clock.now(), signal: { kind: 'delivered' } },
          ]);
        }
      : undefined;
  // The delivery log shows test emails too, so "did my test go out?" has one place to look.
  await recordDirectSend(
    deps.db,
    {
      id: deliveryId,
      tenantId: request.tenant.id,
      kind: 'test',
      recipient: { address: request.sendTo, language: request.language, timeZone: request.timeZone },
      rendered,
      messageId,
      startedAt,
      finishedAt: deps.clock.now(),
      outcome,
    },
    delivered,
  );
  if (health) reportTransitions(health.notices, claimed);
  return result;
}

function asLanguage(value: string | null | undefined): Language | undefined {
  return LANGUAGES.find((l) => l === value);
}

/**
 * testMailRecipient works out who a test email is for: `sendTo`, else the calling user's address,
 * written in the caller's language and time zone (the tenant's when the caller has none). A caller
 * who is no user of the tenant (the host administrator) may name its language: its console's.
 */
export async function testMailRecipient(
  deps: Pick<AppDeps, 'storage'>,
  request: FastifyRequest,
  tenant: TenantRow,
  sendTo: string | undefined,
  asked?: string,
): Promise<Omit<TestMailRequest, 'settings' | 'beforeConnect'>> {
  const principal = request.principal;
  const user = principal?.kind === 'user' ? await findUser(deps.storage.db, tenant.id, principal.userId) : undefined;
  const address = sendTo ?? user?.email;
  if (!address) throw fieldError('sendTo', 'is required when the caller has no email address');
  return {
    tenant,
    sendTo: address,
    language: asLanguage(user ? user.language : asked) ?? asLanguage(tenant.language) ?? DEFAULT_LANGUAGE,
    timeZone: firstKnownZone(user?.timeZone, tenant.time_zone),
  };
}
