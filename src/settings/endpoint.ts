import net from 'node:net';
import { domainToASCII } from 'node:url';
import type { Config } from '../config.js';
import { EndpointError, type SmtpEndpoint } from '../delivery/contract.js';
import { NOT_SENT_TEXT } from '../delivery/not-sent.js';
import { lookupTimedOut, outOfDescriptorsToSend } from '../delivery/smtp/classify.js';
import { fallbackStandsIn } from '../mail-health/store.js';
import { type Clock, systemClock } from '../shared/clock.js';
import { untilAborted } from '../shared/deadline.js';
import { LookupShortageError } from '../shared/out-of-descriptors.js';
import type { Db } from '../storage/database.js';
import { RefusedHostError, type Resolver, checkSmtpHost } from './host-guard.js';
import { type SendSettings, getSystemSmtp, readSendSettings } from './mail-settings.js';
import { type SecretBox, SecretDecryptError } from './secret-box.js';
import type { SmtpSecrets, StoredSmtp, UrlSmtp } from './smtp-settings.js';

/** UNREADABLE_SECRET explains a stored secret that no longer opens. */
export const UNREADABLE_SECRET = 'The stored SMTP password or token no longer decrypts (the secret key changed): save it again.';

/** EndpointContext is what resolving an endpoint needs besides the tenant's own settings. */
export interface EndpointContext {
  /** The system default SMTP URL in force, read once at start-up (`Tocsin.systemSmtp`). */
  readonly systemSmtp: UrlSmtp;
  /** TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS: when false, tenant hosts must resolve to public addresses. */
  readonly allowPrivateHosts: boolean;
  /** DNS, replaceable in tests. */
  readonly resolver?: Resolver;
  /** What "now" is for how long `fallbackToDefault` stands in (the process's clock; tests move it). */
  readonly clock?: Clock;
}

/** endpointContext is how this process resolves endpoints: its configuration and its system default read at start. */
export function endpointContext(config: Pick<Config, 'allowPrivateSmtpHosts'>, systemSmtp: UrlSmtp, clock: Clock = systemClock): EndpointContext {
  return { systemSmtp, allowPrivateHosts: config.allowPrivateSmtpHosts, clock };
}

/** SmtpSource says whose settings an endpoint uses. */
export type SmtpSource = 'custom' | 'system';

/** EndpointRefusal is why a tenant has no endpoint to send through. */
export type EndpointRefusal = 'alerts-email-disabled' | 'refused-host' | 'unreadable-secret';

/** ALERTS_EMAIL_DISABLED explains a tenant that switched its alert emails off. */
export const ALERTS_EMAIL_DISABLED = NOT_SENT_TEXT['alerts-email-disabled'];

/**
 * EndpointRefusedError is the resolve stage's StageError: a tenant has no endpoint to send
 * through, why, and whether that may pass (a DNS failure may; the rest need someone to act).
 */
export class EndpointRefusedError extends EndpointError {
  override readonly name = 'EndpointRefusedError';

  constructor(
    readonly reason: EndpointRefusal,
    message: string,
    readonly retryable: boolean,
    override readonly fallsBack = false,
  ) {
    super(message);
  }

  /** Only switching alerts email off is the tenant's choice; the other refusals stop its mail until someone acts. */
  get failsMail(): boolean {
    return this.reason !== 'alerts-email-disabled';
  }
}

/**
 * asciiHost is a host name as DNS and certificates write it: an internationalized one (kept as typed
 * in the settings) in punycode, which the resolver looks up and TLS verifies; an address as it is.
 */
function asciiHost(host: string): string {
  return net.isIP(host) ? host : domainToASCII(host) || host;
}

/** toEndpoint joins stored settings and their secrets into what the sender connects with. */
export function toEndpoint(smtp: StoredSmtp, secrets: SmtpSecrets): SmtpEndpoint {
  return {
    host: asciiHost(smtp.host),
    port: smtp.port,
    security: smtp.security,
    domain: smtp.domain ?? undefined,
    username: smtp.username ?? undefined,
    password: secrets.password ?? undefined,
    authMethod: smtp.authMethod,
    accessToken: secrets.accessToken ?? undefined,
    fromAddress: smtp.fromAddress,
    fromDisplayName: smtp.fromDisplayName ?? undefined,
    timeoutMs: smtp.timeoutMs,
    allowPlaintextAuth: smtp.allowPlaintextAuth,
  };
}

/**
 * effectiveSmtp is the SMTP settings a tenant sends with now, given its settings as just read:
 * its custom ones when it uses them, else the system default. Throws SecretDecryptError when a
 * stored secret does not open.
 */
export function effectiveSmtp(secretBox: SecretBox, read: SendSettings, systemSmtp: UrlSmtp): { smtp: StoredSmtp; secrets: SmtpSecrets; source: SmtpSource } {
  const { settings } = read;
  if (settings.useCustom && settings.custom) return { smtp: settings.custom, secrets: read.openCustomSecrets(secretBox), source: 'custom' };
  const system = read.systemSmtp(secretBox, systemSmtp);
  return { smtp: system.smtp, secrets: system.secrets, source: 'system' };
}

/**
 * guardEndpoint applies TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS=false to a tenant's own server: resolve
 * once, refuse non-public addresses and non-mail ports, and pin the connection to the checked
 * address. The host administrator's system settings are trusted (the catcher is on loopback).
 * Throws RefusedHostError. The lookup waits no longer than the connection would (the endpoint's
 * timeout), then fails as a server that never answers does, a retryable connect-stage
 * SmtpDeliveryError naming the host; and it ends at `stop` (the worker's, Tocsin's) with its reason.
 * The lookup itself cannot be cancelled: its late answer is ignored. A lookup this process had no
 * file descriptor for is a LocalSendError, as such a connection is.
 */
export async function guardEndpoint(endpoint: SmtpEndpoint, source: SmtpSource, context: EndpointContext, stop?: AbortSignal): Promise<SmtpEndpoint> {
  if (context.allowPrivateHosts || source === 'system') return endpoint;
  const deadline = AbortSignal.timeout(endpoint.timeoutMs);
  try {
    const connectAddress = await untilAborted(
      checkSmtpHost(endpoint.host, endpoint.port, context.resolver),
      stop ? AbortSignal.any([deadline, stop]) : deadline,
    );
    return { ...endpoint, connectAddress };
  } catch (err) {
    if (deadline.aborted && err === deadline.reason) throw lookupTimedOut(endpoint.host, endpoint.timeoutMs);
    // This process's limit, not the tenant's server: retried, and neither its breaker's nor its mail health's.
    if (err instanceof LookupShortageError) throw outOfDescriptorsToSend(err.code);
    throw err;
  }
}

/**
 * resolveEndpoint gives the outbox the endpoint to send a tenant's alert emails through, or throws
 * EndpointRefusedError: alerts email switched off, a refused host (retryable when DNS failed for a
 * while), or a secret that no longer decrypts (the key changed); or guardEndpoint's failures of a
 * lookup that got no answer in time or was stopped by `stop` (the worker's). `atCommit` is the
 * settings as the transaction that queued the email read them an instant ago (LeasedReads); without
 * it they are read.
 */
export async function resolveEndpoint(
  db: Db,
  secretBox: SecretBox,
  tenantId: string,
  context: EndpointContext,
  atCommit?: SendSettings,
  stop?: AbortSignal,
): Promise<SmtpEndpoint> {
  // Read for every email, never kept: a worker that kept them would send with a password another
  // process has just replaced, and a refused password (535) fails the email for good.
  const read = atCommit ?? (await readSendSettings(db, tenantId));
  const { settings } = read;
  if (!settings.alertsEmailEnabled) throw new EndpointRefusedError('alerts-email-disabled', ALERTS_EMAIL_DISABLED, false);
  // The mail health changes with every send's outcome: it is read each time, never kept. A while
  // after the own server last refused, an email tries it again (falling back at once if it still
  // refuses): a server fixed at the provider's end, with no settings saved, ends the incident.
  if (settings.useCustom && settings.fallbackToDefault && (await fallbackStandsIn(db, tenantId, (context.clock ?? systemClock).now()))) {
    const system = read.systemSmtp(secretBox, context.systemSmtp);
    return { ...toEndpoint(system.smtp, system.secrets), fallback: true };
  }
  try {
    const { smtp, secrets, source } = effectiveSmtp(secretBox, read, context.systemSmtp);
    const endpoint = await guardEndpoint(toEndpoint(smtp, secrets), source, context, stop);
    if (source !== 'custom') return endpoint;
    return settings.fallbackToDefault ? { ...endpoint, own: true, fallsBack: true } : { ...endpoint, own: true };
  } catch (err) {
    // The own server that can no longer be used is refused for good too: under fallbackToDefault the system default stands in.
    const fallsBack = settings.useCustom && settings.custom !== null && settings.fallbackToDefault;
    if (err instanceof RefusedHostError) throw new EndpointRefusedError('refused-host', err.message, err.retryable, fallsBack);
    if (err instanceof SecretDecryptError) throw new EndpointRefusedError('unreadable-secret', UNREADABLE_SECRET, false, fallsBack);
    throw err;
  }
}

/**
 * resolveSystemEndpoint is the system default SMTP, for what Tocsin sends through it whatever the
 * tenant's settings: the notices about the tenant's mail health, and `fallbackToDefault`.
 */
export async function resolveSystemEndpoint(db: Db, secretBox: SecretBox, context: EndpointContext): Promise<SmtpEndpoint> {
  const system = await getSystemSmtp(db, secretBox, context.systemSmtp);
  return toEndpoint(system.smtp, system.secrets);
}
