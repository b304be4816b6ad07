import { StageError } from '../shared/stage-error.js';
import type { PreparedMime } from './smtp/mime.js';

/**
 * The contract between the parts of the delivery path, fixed first so that the mail settings,
 * the SMTP sender, the outbox and the reports can be built side by side.
 *
 *   settings/  resolves a tenant's effective SMTP settings   → SmtpEndpoint
 *   reports/   renders an email for one recipient            → RenderedEmail
 *   delivery/outbox  queues one row per email, claims it, calls the sender, records the attempt
 *   delivery/smtp    sends one RenderedEmail through one SmtpEndpoint → SendReceipt | SmtpDeliveryError
 */

/** SmtpSecurity: `none` (plain), `starttls` (required upgrade, never opportunistic), `tls` (implicit TLS). */
export type SmtpSecurity = 'none' | 'starttls' | 'tls';

/** SmtpAuthMethod: `auto` lets the server's EHLO choose among PLAIN and LOGIN when a user is set, or XOAUTH2 with an access token given alone (signsInWithToken). */
export type SmtpAuthMethod = 'auto' | 'none' | 'plain' | 'login' | 'xoauth2';

/**
 * signsInWithToken tells whether a sign-in under `authMethod` uses the access token (XOAUTH2): when
 * chosen, or under `auto` when the token is the only secret given (a password-less PLAIN would fail).
 */
export function signsInWithToken(
  authMethod: SmtpAuthMethod,
  secrets: { readonly password?: string | null | undefined; readonly accessToken?: string | null | undefined },
): boolean {
  return authMethod === 'xoauth2' || (authMethod === 'auto' && !secrets.password && Boolean(secrets.accessToken));
}

/** SmtpEndpoint is a fully resolved SMTP configuration, secrets decrypted, ready to connect. */
export interface SmtpEndpoint {
  readonly host: string;
  readonly port: number;
  readonly security: SmtpSecurity;
  /** When set, the login name is `DOMAIN\username` (NTLM-style servers). */
  readonly domain?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly authMethod: SmtpAuthMethod;
  readonly accessToken?: string | undefined;
  readonly fromAddress: string;
  readonly fromDisplayName?: string | undefined;
  readonly timeoutMs: number;
  /** Whether AUTH may be sent over a connection without TLS (`security: none`); never unless set. */
  readonly allowPlaintextAuth?: boolean | undefined;
  /** Connect to this already-checked IP instead of resolving `host` again (SSRF guard); TLS still verifies `host`. */
  readonly connectAddress?: string | undefined;
  /** Extra CA certificates to trust (tests use a private CA); never a way to skip verification. */
  readonly ca?: string | undefined;
  /** The system default standing in for a tenant's server that refuses for good (`fallbackToDefault`). */
  readonly fallback?: boolean | undefined;
  /** A tenant's own server under `fallbackToDefault`: an email it refuses for good goes again through the system default. */
  readonly fallsBack?: boolean | undefined;
  /** A tenant's own server (its custom settings), not the system default: whose XOAUTH2 token its administrators renew. */
  readonly own?: boolean | undefined;
}

/** EmailKind is what an email is; it is also the `X-Tocsin-Kind` header. */
export type EmailKind = 'summary' | 'daily' | 'immediate' | 'test' | 'mail-health';

/** Mailbox is an address with an optional display name, never a pre-formatted header string. */
export interface Mailbox {
  readonly address: string;
  readonly name?: string | undefined;
}

/**
 * RenderedEmail is one email ready to send: subject and both bodies in the recipient's language,
 * and the extra headers (`X-Tocsin-Kind`, `X-Tocsin-Tenant`, `List-Unsubscribe`, threading…).
 * The sender adds From (from the endpoint), To, Message-ID and Date, and writes the MIME (smtp/mime.ts).
 */
export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The same email already encoded as MIME, shared with the other recipients of what it is about,
   * and this recipient's values for its slots (smtp/mime.ts); the sender writes it as it is. Only
   * set at send time by a composer, never stored.
   */
  readonly prepared?: PreparedMime | undefined;
  /**
   * The mailbox a composer wrote it for when that is no longer the one its row was queued for (its
   * reader's address changed since, and the row was moved to the new one); else the row's. Only set
   * at send time, never stored.
   */
  readonly to?: Mailbox | undefined;
}

/** OutgoingEmail is a rendered email addressed to one recipient, with its stable Message-ID. */
export interface OutgoingEmail extends RenderedEmail {
  readonly to: Mailbox;
  /** Stable per delivery row and reused on every attempt, e.g. `<uuid@tocsin>`, which the sender writes under the From address's domain (bindMessageIds). */
  readonly messageId: string;
}

/**
 * PendingEmail is an email still being rendered whose recipient is already known. The sender
 * starts its SMTP transaction at once (MAIL FROM, RCPT TO and DATA, one round trip to the server)
 * and writes the message when the render resolves, so the render runs while the server answers.
 * A render that fails ends the connection before the message's final ".": nothing is delivered,
 * and the send fails with the render's own error.
 */
export interface PendingEmail {
  readonly to: Mailbox;
  readonly rendering: Promise<OutgoingEmail>;
}

/** SMTP_STAGES are where a send can fail, as Test Mail Settings reports it. */
export const SMTP_STAGES = ['connect', 'tls', 'auth', 'sender', 'recipient', 'data'] as const;
/** SmtpStage is one of SMTP_STAGES. */
export type SmtpStage = (typeof SMTP_STAGES)[number];

/**
 * SmtpDeliveryError is the one error type of a failed send (the send stage's StageError). It keeps
 * the server's code and text and says whether trying again later can help: 4xx, dropped
 * connections and timeouts are retryable; 5xx and configuration problems are not.
 */
export class SmtpDeliveryError extends StageError {
  // A string, not the literal: LocalSendError names itself.
  override readonly name: string = 'SmtpDeliveryError';

  constructor(
    message: string,
    readonly stage: SmtpStage,
    readonly retryable: boolean,
    /** The server's reply code (e.g. 550), when the server answered. */
    readonly code?: number,
    /** The server's reply text, when the server answered. */
    readonly response?: string,
    /** Why no server answered at all, when none did (classify.ts): what mail health words in each reader's language. */
    readonly unreached?: Unreached,
  ) {
    super(message);
  }
}

/**
 * LocalSendError is a send that failed in Tocsin's own process before it reached any server: no file
 * descriptor left for the connection's socket (EMFILE, ENFILE). Retried, as one frees when
 * connections end; it says nothing of the server, so neither its breaker nor the tenant's mail
 * health counts it (a fine server was paused 30 s and more for it).
 */
export class LocalSendError extends SmtpDeliveryError {
  override readonly name = 'LocalSendError';

  constructor(message: string) {
    super(message, 'connect', true);
  }
}

/**
 * UNREACHED_CAUSES are the kinds of failure in which no SMTP server answered (classify.ts names
 * them): a connection refused or never opened, a host name that did not resolve, a TLS handshake
 * that failed before any greeting, a connection closed before it, a port that greets only after a
 * TLS handshake (tls-probe.ts); and those in which a server that greeted then stopped answering
 * without a word (a timeout or a hang-up under a command, a STARTTLS handshake that failed). Mail
 * health tells them by this key, not by Tocsin's English sentence, so that its emails explain them
 * in their reader's language; a failure in which the server said something is its reply instead.
 */
export const UNREACHED_CAUSES = [
  'refused',
  'no-route',
  'dns-unknown',
  'dns-temporary',
  'connect-timeout',
  'greeting-timeout',
  'handshake-timeout',
  'certificate',
  'plain-server',
  'old-tls',
  'tls-hang-up',
  'closed-before-greeting',
  'implicit-tls',
  'reply-timeout',
  'message-unanswered',
  'message-unread',
  'closed-unanswered',
  'upgrade-timeout',
  'starttls-hang-up',
  'starttls-not-tls',
] as const;
/** UnreachedCause is one of UNREACHED_CAUSES. */
export type UnreachedCause = (typeof UNREACHED_CAUSES)[number];

/** Unreached is why no server answered (or one stopped answering), and the technical detail in Node's or OpenSSL's own words (`connect ECONNREFUSED 10.0.0.5:587`), shown as is. */
export interface Unreached {
  readonly cause: UnreachedCause;
  readonly detail: string;
}

/**
 * ServerFailure is what one failed attempt learned of a server, as mail health shows it: the
 * server's reply (or what failed, for a refused upgrade), its SMTP code, and why no server answered
 * when none did. A paused server's held-out tenants are told the failure that paused it.
 */
export interface ServerFailure {
  readonly error: string;
  readonly code?: number | undefined;
  readonly unreached?: Unreached | undefined;
}

/**
 * EndpointError is the resolve stage's refusal of a tenant's endpoint. `failsMail` says whether it
 * is a failure of the tenant's mail, which mail health reports (settings that can no longer be
 * used: a stored password that no longer decrypts, a host now refused), rather than the tenant's
 * own choice (alerts email switched off).
 */
export abstract class EndpointError extends StageError {
  abstract readonly failsMail: boolean;
  /** Whether the refused endpoint is the tenant's own server under `fallbackToDefault`, which the system default then stands in for. */
  readonly fallsBack: boolean = false;
}

/** SendReceipt is the server's acceptance of a message after DATA. */
export interface SendReceipt {
  readonly messageId: string;
  /** The server's reply to the final ".", e.g. `250 2.0.0 Ok: queued as 4F1`. */
  readonly response: string;
  /** The SMTP dialogue, secrets masked, when asked for (Test Mail Settings). */
  readonly transcript?: readonly string[];
}

/**
 * SendCalledOffError: a send whose `signal` aborted while it waited for a connection. Nothing of it
 * reached the server, so its row can go back to the queue without counting an attempt.
 */
export class SendCalledOffError extends Error {
  override readonly name = 'SendCalledOffError';

  constructor() {
    super('called off before a connection took it: nothing was sent');
  }
}

/** SendOptions: `transcript` asks for the SMTP dialogue (Test Mail Settings); `signal` calls off a send still waiting for a connection. */
export interface SendOptions {
  readonly transcript?: boolean;
  /** Aborted, a send not yet taken by a connection fails with SendCalledOffError; one under way goes on. */
  readonly signal?: AbortSignal | undefined;
  /** Asked when a connection takes the send: false fails it with SendCalledOffError, nothing sent (a lease run out while it waited). */
  readonly mayStart?: (() => boolean) | undefined;
  /**
   * Asked when the server asks for the message (354) and before its final ".": false ends the
   * connection there, unsent, and fails the send with SendCalledOffError (a worker frozen past its lease).
   */
  readonly mayFinish?: (() => boolean) | undefined;
  /** Waits for a connection ahead of its tenant's sends that are not urgent (a Fatal alert's email before a backlog of reports); tenants take turns first (tenantId). */
  readonly urgent?: boolean | undefined;
  /**
   * Whose email it is: the sends of several tenants waiting for one server's connections (the system
   * default's) take turns, so that one tenant's backlog or flood does not hold up another's email.
   */
  readonly tenantId?: string | undefined;
}

/** MailSender sends one email through one endpoint; transports are pooled per endpoint inside. */
export interface MailSender {
  send(endpoint: SmtpEndpoint, email: OutgoingEmail | PendingEmail, options?: SendOptions): Promise<SendReceipt>;
  /** warm opens a connection to the endpoint ahead of its first email, where the sender keeps connections warm. */
  warm(endpoint: SmtpEndpoint): void;
  close(): Promise<void>;
}
