import { domainToUnicode } from 'node:url';
import { SmtpDeliveryError, type SmtpStage, type Unreached } from '../contract.js';

/** What nodemailer puts on its errors; every field is optional because anything may be thrown. */
interface NodemailerErrorLike {
  message?: string;
  code?: string;
  originalCode?: string;
  command?: string;
  response?: string;
  responseCode?: number;
  timeoutType?: string;
  /** How long the timeout that ended the wait was (session.ts adds the endpoint's). */
  timeoutMs?: number;
  /** The host name a DNS lookup failed for (Node's getaddrinfo errors carry it). */
  hostname?: string;
  /** The server's last 334 challenge in the session (session.ts), Base64. */
  challenge?: string;
  /** The AUTH mechanisms the server's EHLO offered (session.ts), upper case. */
  offeredAuth?: readonly string[];
  /** Whether the settings had credentials that were not sent, as the server offered no AUTH (session.ts). */
  signInSkipped?: boolean;
}

/**
 * tokenRefusal reads why a server refused an XOAUTH2 token from its 334 challenge, Base64 JSON such
 * as Gmail's {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}: "status 401,
 * scope …", or undefined when it says nothing readable.
 */
function tokenRefusal(challenge: string | undefined): string | undefined {
  if (!challenge) return undefined;
  try {
    const said = JSON.parse(Buffer.from(challenge, 'base64').toString('utf8')) as { status?: unknown; scope?: unknown };
    const parts = [
      ...(typeof said.status === 'string' || typeof said.status === 'number' ? [`status ${said.status}`] : []),
      ...(typeof said.scope === 'string' && said.scope ? [`scope ${said.scope}`] : []),
    ];
    return parts.length > 0 ? parts.join(', ') : undefined;
  } catch {
    return undefined;
  }
}

// Node's codes for a certificate that does not verify: retrying cannot fix them.
const CERTIFICATE_ERRORS = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

// OpenSSL's codes for a server that answers implicit TLS in plain SMTP: the port expects STARTTLS or no TLS.
const PLAIN_SERVER_ERRORS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST']);

// OpenSSL's codes for a server whose TLS versions are all older than the TLS 1.2 Tocsin requires.
const OLD_TLS_ERRORS = new Set(['ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION']);

// Node's words for a connection that ended in the TLS handshake (code ECONNRESET, nodemailer's ESOCKET).
const HUNG_UP_IN_HANDSHAKE = /before secure TLS connection was established/i;

// nodemailer's words for an EHLO refused when STARTTLS is required, whatever the refusal: a server that
// does not know the command (500, 502: SMTP without extensions, so no STARTTLS) or one refusing the name.
const EHLO_REFUSED_UNDER_STARTTLS = /^EHLO failed but HELO does not support required STARTTLS/;

/** knowsNoEhlo is whether STARTTLS was required of a server that does not know EHLO, so cannot offer it. */
function knowsNoEhlo(err: NodemailerErrorLike): boolean {
  return EHLO_REFUSED_UNDER_STARTTLS.test(err.message ?? '') && (err.responseCode === 500 || err.responseCode === 502);
}

/** tlsFailureOf names the kind of TLS failure an OpenSSL or Node code means, if it is one; retrying cannot fix any. */
function tlsFailureOf(err: NodemailerErrorLike): 'certificate' | 'plain-server' | 'old-tls' | undefined {
  const code = err.originalCode ?? err.code ?? '';
  if (CERTIFICATE_ERRORS.has(code)) return 'certificate';
  if (PLAIN_SERVER_ERRORS.has(code)) return 'plain-server';
  if (OLD_TLS_ERRORS.has(code)) return 'old-tls';
  return undefined;
}

// DNS answers that mean "try again later" rather than "no such host".
const TEMPORARY_DNS_ERRORS = new Set(['EAI_AGAIN', 'ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED', 'ETIMEDOUT']);

// What a connection that never opened means, by Node's code (nodemailer's ESOCKET): Node's own
// words ("connect ECONNREFUSED 127.0.0.1:587") name the address and no cure.
const NO_ROUTE =
  "Tocsin's machine has no route to this address: check the host, and this machine's network (an IPv6 address from a machine without IPv6, or a firewall)";
const UNREACHED: Readonly<Record<string, string>> = {
  ECONNREFUSED:
    'the server refused the connection, so nothing takes connections on this host and port: check the host and the port (usually 587 with STARTTLS, 465 with implicit TLS), and that no firewall refuses them',
  EHOSTUNREACH: NO_ROUTE,
  ENETUNREACH: NO_ROUTE,
};

// Configuration mistakes found before or without talking to the server.
const CONFIG_ERRORS = new Set(['ECONFIG', 'ENOAUTH', 'EFILEACCESS', 'EURLACCESS', 'EOAUTH2']);

// The AUTH mechanisms Tocsin signs in with: those of its settings, and CRAM-MD5 when `auto` meets it alone.
const SPOKEN_AUTH: readonly string[] = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'];

/**
 * stageOfCommand maps the SMTP command in progress to the stage Test Mail Settings reports;
 * undefined when the command says nothing about the stage (a drop or timeout reported as CONN).
 */
export function stageOfCommand(command: string | undefined): SmtpStage | undefined {
  const verb = (command ?? '').trim().toUpperCase();
  if (verb.startsWith('MAIL')) return 'sender';
  if (verb.startsWith('RCPT')) return 'recipient';
  if (verb.startsWith('DATA') || verb === 'BDAT') return 'data';
  if (verb.startsWith('AUTH')) return 'auth';
  if (verb.startsWith('STARTTLS')) return 'tls';
  if (/^(EHLO|HELO|LHLO|RSET)\b/.test(verb)) return 'connect';
  return undefined;
}

function stageOf(err: NodemailerErrorLike, lastCommand: string | undefined): SmtpStage {
  if (err.code === 'ETLS' || err.code === 'EREQUIRETLS' || tlsFailureOf(err) || HUNG_UP_IN_HANDSHAKE.test(err.message ?? '') || knowsNoEhlo(err)) return 'tls';
  // 530 answers MAIL, RCPT or DATA when the server wants something first (RFC 4954): a sign-in, or
  // encryption ("530 5.7.0 Must issue a STARTTLS command first", Gmail's on a plain port 587). The
  // stage names what to fix, not the command that was refused.
  if (err.responseCode === 530) return /STARTTLS/i.test(err.response ?? '') ? 'tls' : 'auth';
  // 538 refuses a sign-in over a connection without TLS (RFC 4954): the credentials were never judged.
  if (err.responseCode === 538) return 'tls';
  if (err.code === 'EAUTH' || err.code === 'ENOAUTH' || err.code === 'EOAUTH2') return 'auth';
  if (err.code === 'EDNS') return 'connect';
  if (err.timeoutType === 'HANDSHAKE_TIMEOUT' || err.timeoutType === 'UPGRADE_TIMEOUT') return 'tls';
  if (err.timeoutType === 'CONNECT_TIMEOUT' || err.timeoutType === 'GREETING_TIMEOUT') return 'connect';
  return stageOfCommand(err.command) ?? stageOfCommand(lastCommand) ?? 'connect';
}

function isRetryable(err: NodemailerErrorLike, stage: SmtpStage): boolean {
  const code = err.responseCode;
  if (typeof code === 'number' && code >= 400 && code < 600) return code < 500;
  if (stage === 'tls' && tlsFailureOf(err)) return false;
  if (err.code === 'ETLS' || err.code === 'EREQUIRETLS') return false;
  if (err.code === 'EAUTH' || CONFIG_ERRORS.has(err.code ?? '')) return false;
  if (err.code === 'EDNS') return TEMPORARY_DNS_ERRORS.has(err.originalCode ?? '');
  if (err.code === 'EENVELOPE' || err.code === 'EMESSAGE') return false;
  // Dropped connections, timeouts, refused connections and anything unknown: trying later may help,
  // and a wrongly retried email costs less than a lost one.
  return true;
}

/**
 * unresolved says which host name did not resolve, with the DNS code, and whether that is likely
 * for good (a misspelt or deleted name) or for now (a resolver that failed or timed out).
 */
function unresolved(err: NodemailerErrorLike): string {
  // An internationalized name was looked up as punycode (endpoint.ts): it is named as the settings write it.
  const host = err.hostname ? ` "${domainToUnicode(err.hostname) || err.hostname}"` : '';
  const code = err.originalCode ?? 'DNS error';
  const said = code === 'ETIMEOUT' && err.timeoutMs ? `no answer within ${seconds(err.timeoutMs)} s` : code;
  const why = TEMPORARY_DNS_ERRORS.has(code)
    ? 'the DNS lookup failed for now, likely transient: trying again later may work'
    : 'DNS knows no such name, likely permanent: check its spelling';
  return `could not resolve the SMTP host${host} (${said}): ${why}`;
}

/**
 * lookupTimedOut is the failure of a lookup of the SMTP host that got no answer within the
 * endpoint's timeout (endpoint.ts's guardEndpoint, when private hosts are refused): a connect
 * failure that may pass, as a server that never answers is, written as any DNS failure is.
 */
export function lookupTimedOut(host: string, timeoutMs: number): SmtpDeliveryError {
  return classifySmtpError({ code: 'EDNS', originalCode: 'ETIMEOUT', hostname: host, timeoutMs });
}

function seconds(ms: number): number {
  return Number((ms / 1000).toFixed(1));
}

/**
 * timedOut says how long the wait was and what for: the TCP connection, the greeting, a TLS
 * handshake, or the answer to a named command. The timeout types are nodemailer's (10.x), and the
 * session's HANDSHAKE_TIMEOUT: an implicit TLS connection whose TCP connection was answered.
 */
function timedOut(err: NodemailerErrorLike, stage: SmtpStage, lastCommand: string | undefined): string {
  const after = err.timeoutMs ? ` after ${seconds(err.timeoutMs)} s` : '';
  // Connected but never greeted: the host and port answer, but not as an SMTP server does.
  if (err.timeoutType === 'GREETING_TIMEOUT')
    return `timed out${after} waiting for the SMTP greeting: the port accepted the connection but no SMTP server answered on it`;
  if (err.timeoutType === 'HANDSHAKE_TIMEOUT')
    return `timed out${after} waiting for the TLS handshake: the port accepted the connection but did not complete a TLS handshake (is it an implicit TLS port, such as 465?)`;
  // The server answered STARTTLS: what never came is the handshake, not an answer to the command.
  if (err.timeoutType === 'UPGRADE_TIMEOUT')
    return `timed out${after} waiting for the TLS handshake: the server agreed to STARTTLS, then did not complete a handshake`;
  if (err.timeoutType === 'CONNECT_TIMEOUT')
    return `timed out during ${stage}${after}: nothing answered the TCP connection (the host or the port may be wrong, or a firewall drops it)`;
  const command = lastCommand?.trim().toUpperCase();
  return `timed out during ${stage}${after}${command ? `, waiting for the server's answer to ${command}` : ''}`;
}

function describe(err: NodemailerErrorLike, stage: SmtpStage, lastCommand: string | undefined): string {
  if (err.timeoutType || err.code === 'ETIMEDOUT') return timedOut(err, stage, lastCommand);
  if (err.code === 'EDNS') return unresolved(err);
  const unreached = err.code === 'ESOCKET' ? UNREACHED[err.originalCode ?? ''] : undefined;
  if (unreached) return `${err.message ?? err.originalCode}: ${unreached}`;
  const tlsFailure = stage === 'tls' ? tlsFailureOf(err) : undefined;
  const tlsCode = err.originalCode ?? err.code;
  if (tlsFailure === 'certificate') return `the server's certificate did not verify (${tlsCode}): ${err.message ?? ''}`.trim();
  // A wrong security mode is the usual mistake on this form: say which one the port wants.
  // The same OpenSSL codes after an accepted STARTTLS: the server said go ahead, then did not speak TLS.
  if (tlsFailure === 'plain-server' && stageOfCommand(lastCommand) === 'tls') {
    // Neither the OpenSSL code nor the command's name: the console would read them as a wrong port or mode.
    return 'the TLS handshake failed: the server agreed to start TLS, then did not speak TLS';
  }
  if (tlsFailure === 'plain-server') {
    return `the server does not speak TLS from the first byte on this port (${tlsCode}): it expects STARTTLS or no TLS, not implicit TLS (usually port 587 with STARTTLS, port 465 with implicit TLS)`;
  }
  if (tlsFailure === 'old-tls') return `the server offers no TLS version Tocsin accepts (${tlsCode}): Tocsin requires TLS 1.2 or later`;
  // Not the word STARTTLS: the console would read it as a server that does not offer it.
  if (HUNG_UP_IN_HANDSHAKE.test(err.message ?? '')) {
    return stageOfCommand(lastCommand) === 'tls'
      ? 'the server closed the connection during the TLS handshake it had agreed to start'
      : 'the server closed the connection during the TLS handshake: it may not speak TLS from the first byte on this port, or refuse TLS 1.2 and later, which Tocsin requires';
  }
  // The words say STARTTLS whatever the refusal: only a server that does not know EHLO lacks it.
  if (EHLO_REFUSED_UNDER_STARTTLS.test(err.message ?? '') && err.response) {
    return knowsNoEhlo(err)
      ? `the server does not know EHLO (an SMTP server without extensions), so it cannot offer STARTTLS, which these settings require: ${err.response.trim()}`
      : `the server refused EHLO: ${err.response.trim()}`;
  }
  if (err.code === 'ETLS' && err.command === 'STARTTLS') {
    const reply = err.response?.trim();
    return `the server did not upgrade to TLS (STARTTLS is required)${reply ? `: ${reply}` : ''}`;
  }
  // A server that takes mail or a sign-in only over TLS (stageOf): nodemailer's "Mail command failed" or
  // "Invalid login" sent one to the sender or the password, and the console to a server without STARTTLS.
  if (stage === 'tls' && (err.responseCode === 530 || err.responseCode === 538) && err.response) {
    return `the server asks for encryption first, and these settings send without TLS: choose security "starttls" (the Enable SSL box), usually with port 587, or "tls" with port 465: ${err.response.trim()}`;
  }
  // Credentials set, no AUTH offered (a company's MX host given for its submission server), and the mail refused
  // for want of a sign-in: its 530 alone sent one to fill in a user name and password already there.
  if (err.signInSkipped && err.response && (err.responseCode === 530 || (stage === 'recipient' && /relay/i.test(err.response)))) {
    return `the server offered no sign-in (AUTH) on this connection, so the user name and password were not sent, and it refused the mail without one: give the host and port of the mail submission service (usually port 587 with STARTTLS), which offers AUTH: ${err.response.trim()}`;
  }
  // A method the server never offered (XOAUTH2 or LOGIN chosen, PLAIN offered): its refusal, a 504 as a
  // rule, says nothing of the token or the password, and nodemailer's words ("Invalid login sequence
  // while waiting for …") name neither the method nor the cure.
  const method = stage === 'auth' ? /^AUTH\s+([\w-]+)/i.exec(err.command ?? '')?.[1]?.toUpperCase() : undefined;
  const offered = err.offeredAuth ?? [];
  if (method && err.response && offered.length > 0) {
    // Only methods Tocsin cannot speak (an Exchange connector's NTLM or GSSAPI alone): `auto` fell back
    // to PLAIN under the offered name, and no choice of method helps.
    if (!offered.some((offer) => SPOKEN_AUTH.includes(offer))) {
      return `the server offers only AUTH ${offered.join(', ')}, none of which Tocsin can sign in with (it speaks ${SPOKEN_AUTH.join(', ')}): allow one of those on the server: ${err.response.trim()}`;
    }
    // A token alone is offered, and a password was sent (any method but XOAUTH2): `auto` cannot help, as it may be what was chosen.
    if (method !== 'XOAUTH2' && !offered.some((offer) => offer !== 'XOAUTH2' && SPOKEN_AUTH.includes(offer))) {
      return `the server offers only AUTH XOAUTH2, which signs in with an access token, not a password: choose the sign-in method xoauth2 and give an access token: ${err.response.trim()}`;
    }
    // XOAUTH2 not offered: the access token cannot sign in here whatever the method (`auto` signs in
    // with a token given alone), so the cure is a password, not the method.
    if (method === 'XOAUTH2' && !offered.includes(method)) {
      return `the server does not offer AUTH XOAUTH2 (it offers ${offered.join(', ')}), so the access token cannot sign in: give a password instead, with the sign-in method auto or one it offers: ${err.response.trim()}`;
    }
    if (!offered.includes(method)) {
      return `the server does not offer AUTH ${method} (it offers ${offered.join(', ')}): choose the sign-in method auto, or one it offers: ${err.response.trim()}`;
    }
  }
  // "Invalid login: 535 … Username and Password not accepted" sends one to check a password that was never sent.
  if (stage === 'auth' && /^AUTH XOAUTH2/i.test(err.command ?? '') && err.response) {
    const why = tokenRefusal(err.challenge);
    return `the server refused the access token (XOAUTH2)${why ? `, ${why}` : ''}: it may have expired, or not allow sending mail: ${err.response.trim()}`;
  }
  // A reply that refuses the sign-in midway (535 to a CRAM-MD5 answer or a LOGIN user name): nodemailer's
  // "Invalid login sequence while waiting for …" reads as a protocol fault, not as refused credentials.
  if (stage === 'auth' && err.response && /^Invalid login sequence while waiting for /.test(err.message ?? '')) return `Invalid login: ${err.response.trim()}`;
  // The server hung up under a command: say which one, as nodemailer's "Connection closed unexpectedly" did not.
  // A reset (TCP RST: Node's "read ECONNRESET", "write EPIPE") is a hang-up too, not a refusal of the command.
  const interrupted = lastCommand?.trim().toUpperCase();
  const reset = err.code === 'ESOCKET' ? /\b(ECONNRESET|EPIPE)\b/.exec(err.message ?? '')?.[1] : undefined;
  if ((err.code === 'ECONNECTION' && /^Connection closed/i.test(err.message ?? '')) || reset) {
    const closed = `the server closed the connection${reset ? ` abruptly (${reset})` : ''}`;
    // A reply whose line the server never ended before hanging up (nodemailer keeps it as the
    // response): its code and words are the answer, not a silent hang-up.
    const said = err.response?.trim();
    if (said) {
      if (!interrupted) return `the server refused the connection and closed it: ${said}`;
      return `${closed} ${interrupted.startsWith('DATA') ? 'during DATA' : `under ${interrupted}`}, replying: ${said}`;
    }
    // Under no command at all: the client sends EHLO as soon as the server greets.
    if (!interrupted) return `${closed} before its SMTP greeting, without a word`;
    // Not the word STARTTLS: the console would read it as a server that does not offer it.
    if (stageOfCommand(interrupted) === 'tls') return `${closed} while starting TLS`;
    return interrupted.startsWith('DATA') ? `${closed} during DATA, without accepting the message` : `${closed} without answering ${interrupted}`;
  }
  // nodemailer writes some refusals as "Invalid greeting. response=<reply>: <reply>": the reply once is enough.
  return (err.message ?? '').replace(/\. response=([\s\S]+): \1$/, ': $1') || 'SMTP error';
}

/**
 * unreachedOf says why no SMTP server answered at all, when none did, or why one that greeted
 * stopped answering without a word, as describe() words it in English: its cause by key, and
 * Node's or OpenSSL's own words for it, after the command waited on (mail health explains the
 * cause in each reader's language, then gives those words). Undefined when a server said
 * something: its reply is the failure.
 */
function unreachedOf(err: NodemailerErrorLike, stage: SmtpStage, lastCommand: string | undefined): Unreached | undefined {
  const after = err.timeoutMs ? ` (${seconds(err.timeoutMs)} s)` : '';
  const command = lastCommand?.trim().toUpperCase();
  if (err.timeoutType === 'CONNECT_TIMEOUT') return { cause: 'connect-timeout', detail: `CONNECT_TIMEOUT${after}` };
  if (err.timeoutType === 'GREETING_TIMEOUT') return { cause: 'greeting-timeout', detail: `GREETING_TIMEOUT${after}` };
  if (err.timeoutType === 'HANDSHAKE_TIMEOUT') return { cause: 'handshake-timeout', detail: `HANDSHAKE_TIMEOUT${after}` };
  if (err.timeoutType === 'UPGRADE_TIMEOUT') return { cause: 'upgrade-timeout', detail: `UPGRADE_TIMEOUT${after}` };
  if (err.timeoutType || err.code === 'ETIMEDOUT') {
    return command ? { cause: 'reply-timeout', detail: `${command}: ${err.timeoutType ?? err.code}${after}` } : undefined;
  }
  if (err.code === 'EDNS') {
    const code = err.originalCode ?? 'DNS error';
    const host = err.hostname ? domainToUnicode(err.hostname) || err.hostname : undefined;
    return { cause: TEMPORARY_DNS_ERRORS.has(code) ? 'dns-temporary' : 'dns-unknown', detail: err.message ?? `${code}${host ? ` ${host}` : ''}${after}` };
  }
  if (err.code === 'ESOCKET' && UNREACHED[err.originalCode ?? '']) {
    return { cause: err.originalCode === 'ECONNREFUSED' ? 'refused' : 'no-route', detail: err.message ?? err.originalCode! };
  }
  // After an accepted STARTTLS, the server said go ahead: a plain answer or a hang-up there is its own cause.
  const starting = stageOfCommand(lastCommand) === 'tls';
  const tlsFailure = stage === 'tls' ? tlsFailureOf(err) : undefined;
  const tlsCode = err.originalCode ?? err.code ?? '';
  if (tlsFailure) {
    const cause = starting && tlsFailure === 'plain-server' ? 'starttls-not-tls' : tlsFailure;
    return { cause, detail: tlsFailure === 'certificate' && err.message ? `${tlsCode}: ${err.message}` : tlsCode };
  }
  if (HUNG_UP_IN_HANDSHAKE.test(err.message ?? '')) return { cause: starting ? 'starttls-hang-up' : 'tls-hang-up', detail: err.message! };
  // A hang-up (a close or a reset) without a reply: before the greeting under no command (the
  // client sends EHLO as soon as the server greets), else under the command it never answered.
  const reset = err.code === 'ESOCKET' ? /\b(ECONNRESET|EPIPE)\b/.test(err.message ?? '') : false;
  const closed = reset || (err.code === 'ECONNECTION' && /^Connection closed/i.test(err.message ?? ''));
  if (!closed || err.response?.trim()) return undefined;
  if (!command) return { cause: 'closed-before-greeting', detail: err.message ?? '' };
  return { cause: starting ? 'starttls-hang-up' : 'closed-unanswered', detail: `${command}: ${err.message ?? ''}` };
}

/**
 * classifySmtpError turns whatever a send threw into the one SmtpDeliveryError: the stage it failed
 * at, whether a later attempt may succeed (4xx, 421, drops, timeouts, temporary DNS failures) or
 * not (5xx, certificates, rejected credentials, configuration), and the server's code and text.
 * `lastCommand` is the last command the client sent, for errors that nodemailer reports only as
 * a connection event (a drop after DATA, a timeout waiting for a reply).
 */
export function classifySmtpError(error: unknown, lastCommand?: string): SmtpDeliveryError {
  if (error instanceof SmtpDeliveryError) return error;
  const err: NodemailerErrorLike = typeof error === 'object' && error !== null ? (error as NodemailerErrorLike) : { message: String(error) };
  const stage = stageOf(err, lastCommand);
  const response = typeof err.response === 'string' ? err.response.trim() : undefined;
  const code = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  return new SmtpDeliveryError(describe(err, stage, lastCommand), stage, isRetryable(err, stage), code, response, unreachedOf(err, stage, lastCommand));
}
