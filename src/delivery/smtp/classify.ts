import { domainToUnicode } from 'node:url';
import { RAISE_THE_LIMIT, lookupShortage, outOfDescriptors } from '../../shared/out-of-descriptors.js';
import { LocalSendError, SmtpDeliveryError, type SmtpStage, type Unreached, type UnreachedCause } from '../contract.js';
import { refusedAsTooLarge } from './too-large.js';

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
  /** The system call that failed, on Node's system errors ("connect", "read", "getaddrinfo"). */
  syscall?: string;
  /** The host name a DNS lookup failed for (Node's getaddrinfo errors carry it). */
  hostname?: string;
  /** Whether the message went out whole, its final "." with it (session.ts): the server may have taken it. */
  messageWhole?: boolean;
  /** Whether the message was still going out, after DATA's 354 and before its final "." (session.ts). */
  messagePartial?: boolean;
  /** The server's last 334 challenge in the session (session.ts), Base64. */
  challenge?: string;
  /** The AUTH mechanisms the server's EHLO offered (session.ts), upper case. */
  offeredAuth?: readonly string[];
  /** Whether the settings had credentials that were not sent, as the server offered no AUTH (session.ts). */
  signInSkipped?: boolean;
  /**
   * Whether the server offered STARTTLS on a connection these settings keep plain (security none,
   * session.ts): one that announces AUTH only over TLS (Postfix's smtpd_tls_auth_only) offered none before it.
   */
  tlsDeclined?: boolean;
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

/** TlsFailure is a kind of TLS failure that retrying cannot fix; its name is mail health's key for it (tlsFailed). */
type TlsFailure = Extract<UnreachedCause, 'certificate' | 'plain-server' | 'old-tls'>;

/** tlsFailureOf names the kind of TLS failure an OpenSSL or Node code means, if it is one. */
function tlsFailureOf(err: NodemailerErrorLike): TlsFailure | undefined {
  const code = err.originalCode ?? err.code ?? '';
  if (CERTIFICATE_ERRORS.has(code)) return 'certificate';
  if (PLAIN_SERVER_ERRORS.has(code)) return 'plain-server';
  if (OLD_TLS_ERRORS.has(code)) return 'old-tls';
  return undefined;
}

// DNS answers that mean "try again later" rather than "no such host".
const TEMPORARY_DNS_ERRORS = new Set(['EAI_AGAIN', 'ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED', 'ETIMEDOUT']);

// What a connection that never opened means, by Node's code (nodemailer's ESOCKET): Node's own
// words ("connect ECONNREFUSED 127.0.0.1:587") name the address and no cure. A Map, not an object,
// so that no code reads a prototype's member as a cause. `connectOnly`: the code means so only
// from the connect call, as the same code from a read on an open connection does not.
const NO_ROUTE = {
  cause: 'no-route',
  why: "Tocsin's machine has no route to this address: check the host, and this machine's network (an IPv6 address from a machine without IPv6, or a firewall)",
} as const;
const UNREACHED = new Map<string, { readonly cause: UnreachedCause; readonly why: string; readonly connectOnly?: boolean }>([
  [
    'ECONNREFUSED',
    {
      cause: 'refused',
      why: 'the server refused the connection, so nothing takes connections on this host and port: check the host and the port (usually 587 with STARTTLS, 465 with implicit TLS), and that no firewall refuses them',
    },
  ],
  ['EHOSTUNREACH', NO_ROUTE],
  ['ENETUNREACH', NO_ROUTE],
  // The system's own wait for a host that drops the connection (some 2 min on Linux) ends first
  // under a timeoutMs set longer: nodemailer's CONNECT_TIMEOUT, but for the wait's length.
  [
    'ETIMEDOUT',
    { cause: 'connect-timeout', why: 'nothing answered the TCP connection (the host or the port may be wrong, or a firewall drops it)', connectOnly: true },
  ],
]);

/** unopened is what a connection that never opened means (UNREACHED), if the error is one. */
function unopened(err: NodemailerErrorLike): { readonly cause: UnreachedCause; readonly why: string } | undefined {
  const meaning = err.code === 'ESOCKET' ? UNREACHED.get(err.originalCode ?? '') : undefined;
  return meaning?.connectOnly && err.syscall !== 'connect' ? undefined : meaning;
}

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

/**
 * refusedUnsigned is whether the server refused the mail for want of the sign-in this session skipped
 * (credentials set, no AUTH offered): a 530, or a refusal to relay at RCPT TO.
 */
function refusedUnsigned(err: NodemailerErrorLike): boolean {
  if (!err.signInSkipped || !err.response) return false;
  return err.responseCode === 530 || (stageOfCommand(err.command) === 'recipient' && /relay/i.test(err.response));
}

function stageOf(err: NodemailerErrorLike, lastCommand: string | undefined): SmtpStage {
  if (err.code === 'ETLS' || err.code === 'EREQUIRETLS' || tlsFailureOf(err) || HUNG_UP_IN_HANDSHAKE.test(err.message ?? '') || knowsNoEhlo(err)) return 'tls';
  // The sign-in was not offered for want of TLS, which the settings declined: the security setting is what to change.
  if (err.tlsDeclined && refusedUnsigned(err)) return 'tls';
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
  // A refusal of the message's size is of the message, also when it answers the SIZE= declared at
  // MAIL FROM (session.ts): the sender is not what to change, nor the server's health (an outage's stages).
  if (refusedAsTooLarge(err.responseCode, err.response)) return 'data';
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
 * Cause is why a send failed, told apart once (causeOf) for both of its readers: `sentence` is the
 * API's English for it (the error's message), and `unreached`, when no server answered or one
 * stopped answering without a word, the key by which mail health words it in each reader's
 * language, with Node's or OpenSSL's own words for it as its detail. When a server said something,
 * there is no key: its reply is the failure. Both are written in the same branch, so that a new
 * cause is told apart in one place and its two wordings cannot drift apart.
 */
interface Cause {
  readonly sentence: string;
  readonly unreached?: Unreached;
}

function seconds(ms: number): number {
  return Number((ms / 1000).toFixed(1));
}

/** lasted is how long the wait was, as mail health's detail gives it after Node's code: " (30 s)", or nothing when it is unknown. */
function lasted(err: NodemailerErrorLike): string {
  return err.timeoutMs ? ` (${seconds(err.timeoutMs)} s)` : '';
}

/**
 * unresolved says which host name did not resolve, with the DNS code, and whether that is likely
 * for good (a misspelt or deleted name) or for now (a resolver that failed or timed out).
 */
function unresolved(err: NodemailerErrorLike): Cause {
  // An internationalized name was looked up as punycode (endpoint.ts): it is named as the settings write it.
  const host = err.hostname ? domainToUnicode(err.hostname) || err.hostname : undefined;
  const code = err.originalCode ?? 'DNS error';
  const said = code === 'ETIMEOUT' && err.timeoutMs ? `no answer within ${seconds(err.timeoutMs)} s` : code;
  const temporary = TEMPORARY_DNS_ERRORS.has(code);
  const why = temporary
    ? 'the DNS lookup failed for now, likely transient: trying again later may work'
    : 'DNS knows no such name, likely permanent: check its spelling';
  return {
    sentence: `could not resolve the SMTP host${host ? ` "${host}"` : ''} (${said}): ${why}`,
    unreached: { cause: temporary ? 'dns-temporary' : 'dns-unknown', detail: err.message ?? `${code}${host ? ` ${host}` : ''}${lasted(err)}` },
  };
}

/**
 * outOfDescriptorsToSend is the LocalSendError of a send this process had no file descriptor for
 * (`code`): to connect, or to look up the server's name (endpoint.ts's guardEndpoint).
 */
export function outOfDescriptorsToSend(code: 'EMFILE' | 'ENFILE'): LocalSendError {
  return new LocalSendError(
    `this process has no file descriptor left to connect to the SMTP server (${code}), a limit of this machine, not the server's: ${RAISE_THE_LIMIT}; the email is retried`,
  );
}

/**
 * lookupTimedOut is the failure of a lookup of the SMTP host that got no answer within the
 * endpoint's timeout (endpoint.ts's guardEndpoint, when private hosts are refused): a connect
 * failure that may pass, as a server that never answers is, written as any DNS failure is.
 */
export function lookupTimedOut(host: string, timeoutMs: number): SmtpDeliveryError {
  return classifySmtpError({ code: 'EDNS', originalCode: 'ETIMEOUT', hostname: host, timeoutMs });
}

/**
 * timedOut says how long the wait was and what for: the TCP connection, the greeting, a TLS
 * handshake, or the answer to a named command. The timeout types are nodemailer's (10.x), and the
 * session's HANDSHAKE_TIMEOUT: an implicit TLS connection whose TCP connection was answered.
 * Mail health's detail is the timeout type, after the command waited on for an answer.
 */
function timedOut(err: NodemailerErrorLike, stage: SmtpStage, lastCommand: string | undefined): Cause {
  const after = err.timeoutMs ? ` after ${seconds(err.timeoutMs)} s` : '';
  const unreached = (cause: UnreachedCause, detail: string): Unreached => ({ cause, detail: `${detail}${lasted(err)}` });
  // Connected but never greeted: the host and port answer, but not as an SMTP server does.
  if (err.timeoutType === 'GREETING_TIMEOUT') {
    return {
      sentence: `timed out${after} waiting for the SMTP greeting: the port accepted the connection but no SMTP server answered on it`,
      unreached: unreached('greeting-timeout', err.timeoutType),
    };
  }
  if (err.timeoutType === 'HANDSHAKE_TIMEOUT') {
    return {
      sentence: `timed out${after} waiting for the TLS handshake: the port accepted the connection but did not complete a TLS handshake (is it an implicit TLS port, such as 465?)`,
      unreached: unreached('handshake-timeout', err.timeoutType),
    };
  }
  // The server answered STARTTLS: what never came is the handshake, not an answer to the command.
  if (err.timeoutType === 'UPGRADE_TIMEOUT') {
    return {
      sentence: `timed out${after} waiting for the TLS handshake: the server agreed to STARTTLS, then did not complete a handshake`,
      unreached: unreached('upgrade-timeout', err.timeoutType),
    };
  }
  if (err.timeoutType === 'CONNECT_TIMEOUT') {
    return {
      sentence: `timed out during ${stage}${after}: nothing answered the TCP connection (the host or the port may be wrong, or a firewall drops it)`,
      unreached: unreached('connect-timeout', err.timeoutType),
    };
  }
  const command = lastCommand?.trim().toUpperCase();
  if (!command) return { sentence: `timed out during ${stage}${after}` };
  // Past the message's final ".", DATA had its 354 long before: what went unanswered is the message,
  // which a server slow to check it may have taken ("DATA" named the wrong step).
  if (err.messageWhole && command.startsWith('DATA')) {
    return {
      sentence: `timed out during ${stage}${after}, waiting for the server's answer to the message's final ".": the whole message was sent, so the server may have taken it and the email may still arrive`,
      unreached: unreached('message-unanswered', `end of message: ${err.timeoutType ?? err.code}`),
    };
  }
  // Before the final ".", the wait under DATA was for the server to read the message, which it had stopped doing.
  if (err.messagePartial && command.startsWith('DATA')) {
    return {
      sentence: `timed out during ${stage}${after}, waiting for the server to read the message: it stopped reading before the message's end`,
      unreached: unreached('message-unread', `message: ${err.timeoutType ?? err.code}`),
    };
  }
  return {
    sentence: `timed out during ${stage}${after}, waiting for the server's answer to ${command}`,
    unreached: unreached('reply-timeout', `${command}: ${err.timeoutType ?? err.code}`),
  };
}

/**
 * tlsFailed says what a TLS code that retrying cannot fix means (tlsFailureOf): a certificate that
 * did not verify, a server that does not speak TLS, or one whose TLS is too old. Mail health's
 * detail is the OpenSSL or Node code, and a certificate's reason.
 */
function tlsFailed(err: NodemailerErrorLike, failure: TlsFailure, lastCommand: string | undefined): Cause {
  // The code tlsFailureOf matched: one of the two is set.
  const tlsCode = err.originalCode ?? err.code ?? '';
  if (failure === 'certificate') {
    return {
      sentence: `the server's certificate did not verify (${tlsCode}): ${err.message ?? ''}`.trim(),
      unreached: { cause: failure, detail: err.message ? `${tlsCode}: ${err.message}` : tlsCode },
    };
  }
  if (failure === 'old-tls') {
    return {
      sentence: `the server offers no TLS version Tocsin accepts (${tlsCode}): Tocsin requires TLS 1.2 or later`,
      unreached: { cause: failure, detail: tlsCode },
    };
  }
  // The same OpenSSL codes after an accepted STARTTLS: the server said go ahead, then did not speak TLS.
  if (stageOfCommand(lastCommand) === 'tls') {
    // Neither the OpenSSL code nor the command's name: the console would read them as a wrong port or mode.
    return {
      sentence: 'the TLS handshake failed: the server agreed to start TLS, then did not speak TLS',
      unreached: { cause: 'starttls-not-tls', detail: tlsCode },
    };
  }
  // A wrong security mode is the usual mistake on this form: say which one the port wants.
  return {
    sentence: `the server does not speak TLS from the first byte on this port (${tlsCode}): it expects STARTTLS or no TLS, not implicit TLS (usually port 587 with STARTTLS, port 465 with implicit TLS)`,
    unreached: { cause: failure, detail: tlsCode },
  };
}

/**
 * hungUp says under which command the server hung up (a close, or a reset: TCP RST, Node's "read
 * ECONNRESET", "write EPIPE", not a refusal of the command), as nodemailer's "Connection closed
 * unexpectedly" did not; undefined when the error is no hang-up. Mail health's key is there only
 * when the server said nothing: Node's words, after the command it never answered.
 */
function hungUp(err: NodemailerErrorLike, lastCommand: string | undefined): Cause | undefined {
  const reset = err.code === 'ESOCKET' ? /\b(ECONNRESET|EPIPE)\b/.exec(err.message ?? '')?.[1] : undefined;
  if (!reset && !(err.code === 'ECONNECTION' && /^Connection closed/i.test(err.message ?? ''))) return undefined;
  const interrupted = lastCommand?.trim().toUpperCase();
  const closed = `the server closed the connection${reset ? ` abruptly (${reset})` : ''}`;
  // A reply whose line the server never ended before hanging up (nodemailer keeps it as the
  // response): its code and words are the answer, not a silent hang-up.
  const said = err.response?.trim();
  if (said) {
    if (!interrupted) return { sentence: `the server refused the connection and closed it: ${said}` };
    return { sentence: `${closed} ${interrupted.startsWith('DATA') ? 'during DATA' : `under ${interrupted}`}, replying: ${said}` };
  }
  const words = err.message ?? '';
  // Under no command at all: the client sends EHLO as soon as the server greets.
  if (!interrupted) return { sentence: `${closed} before its SMTP greeting, without a word`, unreached: { cause: 'closed-before-greeting', detail: words } };
  const unreached = (cause: UnreachedCause): Unreached => ({ cause, detail: `${interrupted}: ${words}` });
  // After an accepted STARTTLS, the server said go ahead: a hang-up there is its own cause. Not the
  // word STARTTLS: the console would read it as a server that does not offer it.
  if (stageOfCommand(interrupted) === 'tls') return { sentence: `${closed} while starting TLS`, unreached: unreached('starttls-hang-up') };
  if (interrupted.startsWith('DATA')) {
    // After the ".", a server that queues before it answers may have taken the message: "not accepted" would have it sent again.
    const sentence = err.messageWhole
      ? `${closed} after the whole message was sent, without answering it: it may have taken the message, so the email may still arrive`
      : `${closed} during DATA, without accepting the message`;
    return { sentence, unreached: unreached('closed-unanswered') };
  }
  return { sentence: `${closed} without answering ${interrupted}`, unreached: unreached('closed-unanswered') };
}

/**
 * refusedSignIn says why a server refused a sign-in, when nodemailer's words would send one to
 * the wrong cure: a method it never offered (its refusal, a 504 as a rule, says nothing of the
 * token or the password, and nodemailer's "Invalid login sequence while waiting for …" names
 * neither the method nor the cure), or a refused XOAUTH2 token ("Invalid login: 535 … Username and
 * Password not accepted" sends one to check a password that was never sent). Undefined otherwise.
 */
function refusedSignIn(err: NodemailerErrorLike, stage: SmtpStage, reply: string): string | undefined {
  if (stage !== 'auth') return undefined;
  const method = /^AUTH\s+([\w-]+)/i.exec(err.command ?? '')?.[1]?.toUpperCase();
  const offered = err.offeredAuth ?? [];
  if (method && offered.length > 0) {
    // Only methods Tocsin cannot speak (an Exchange connector's NTLM or GSSAPI alone): `auto` fell back
    // to PLAIN under the offered name, and no choice of method helps.
    if (!offered.some((offer) => SPOKEN_AUTH.includes(offer))) {
      return `the server offers only AUTH ${offered.join(', ')}, none of which Tocsin can sign in with (it speaks ${SPOKEN_AUTH.join(', ')}): allow one of those on the server: ${reply}`;
    }
    // A token alone is offered, and a password was sent (any method but XOAUTH2): `auto` cannot help, as it may be what was chosen.
    if (method !== 'XOAUTH2' && !offered.some((offer) => offer !== 'XOAUTH2' && SPOKEN_AUTH.includes(offer))) {
      // Beside methods Tocsin does not speak (an Exchange's NTLM), named: the transcript shows them.
      const offers = offered.length === 1 ? 'only AUTH XOAUTH2' : `AUTH ${offered.join(', ')}, of which Tocsin speaks only XOAUTH2`;
      return `the server offers ${offers}, which signs in with an access token, not a password: choose the sign-in method xoauth2 and give an access token: ${reply}`;
    }
    // XOAUTH2 not offered: the access token cannot sign in here whatever the method (`auto` signs in
    // with a token given alone), so the cure is a password, not the method.
    if (method === 'XOAUTH2' && !offered.includes(method)) {
      return `the server does not offer AUTH XOAUTH2 (it offers ${offered.join(', ')}), so the access token cannot sign in: give a password instead, with the sign-in method auto or one it offers: ${reply}`;
    }
    if (!offered.includes(method)) {
      return `the server does not offer AUTH ${method} (it offers ${offered.join(', ')}): choose the sign-in method auto, or one it offers: ${reply}`;
    }
  }
  if (/^AUTH XOAUTH2/i.test(err.command ?? '')) {
    const why = tokenRefusal(err.challenge);
    return `the server refused the access token (XOAUTH2)${why ? `, ${why}` : ''}: it may have expired, or not allow sending mail: ${reply}`;
  }
  // A reply that refuses the sign-in midway (535 to a CRAM-MD5 answer or a LOGIN user name): nodemailer's
  // "Invalid login sequence while waiting for …" reads as a protocol fault, not as refused credentials.
  if (/^Invalid login sequence while waiting for /.test(err.message ?? '')) return `Invalid login: ${reply}`;
  return undefined;
}

/**
 * refusal says what a server's reply refused and what to change, where nodemailer's words would
 * mislead: EHLO, STARTTLS, mail or a sign-in without TLS, mail without the sign-in that was
 * skipped, a sign-in (refusedSignIn). Undefined when nodemailer's own words say it.
 */
function refusal(err: NodemailerErrorLike, stage: SmtpStage): string | undefined {
  const reply = err.response?.trim() ?? '';
  // The words say STARTTLS whatever the refusal: only a server that does not know EHLO lacks it.
  if (EHLO_REFUSED_UNDER_STARTTLS.test(err.message ?? '') && err.response) {
    return knowsNoEhlo(err)
      ? `the server does not know EHLO (an SMTP server without extensions), so it cannot offer STARTTLS, which these settings require: ${reply}`
      : `the server refused EHLO: ${reply}`;
  }
  // Refused, or failed without a reply ("Error initiating TLS - …").
  if (err.code === 'ETLS' && err.command === 'STARTTLS') return `the server did not upgrade to TLS (STARTTLS is required)${reply ? `: ${reply}` : ''}`;
  if (!err.response) return undefined;
  // Credentials set, no AUTH offered as it comes only with STARTTLS, which these settings do not use, and the
  // mail refused for want of a sign-in: the host and port are the right ones, the security setting is not.
  if (err.tlsDeclined && refusedUnsigned(err)) {
    return `the server offers a sign-in (AUTH) only over TLS: it offered STARTTLS, which these settings do not use (security none), so the user name and password were not sent, and it refused the mail without one: choose security "starttls" (the Enable SSL box): ${reply}`;
  }
  // A server that takes mail or a sign-in only over TLS (stageOf): nodemailer's "Mail command failed" or
  // "Invalid login" sent one to the sender or the password, and the console to a server without STARTTLS.
  if (stage === 'tls' && (err.responseCode === 530 || err.responseCode === 538)) {
    return `the server asks for encryption first, and these settings send without TLS: choose security "starttls" (the Enable SSL box), usually with port 587, or "tls" with port 465: ${reply}`;
  }
  // Credentials set, no AUTH offered (a company's MX host given for its submission server), and the mail refused
  // for want of a sign-in: its 530 alone sent one to fill in a user name and password already there.
  if (refusedUnsigned(err)) {
    return `the server offered no sign-in (AUTH) on this connection, so the user name and password were not sent, and it refused the mail without one: give the host and port of the mail submission service (usually port 587 with STARTTLS), which offers AUTH: ${reply}`;
  }
  return refusedSignIn(err, stage, reply);
}

/**
 * causeOf tells why a send failed, once, in the order that settles an error matching two causes:
 * a wait that timed out, a host that did not resolve, a connection that never opened, a TLS failure
 * or a hang-up in a TLS handshake, a reply that refused (refusal), a hang-up (hungUp); else
 * nodemailer's own words.
 */
function causeOf(err: NodemailerErrorLike, stage: SmtpStage, lastCommand: string | undefined): Cause {
  if (err.timeoutType || err.code === 'ETIMEDOUT') return timedOut(err, stage, lastCommand);
  if (err.code === 'EDNS') return unresolved(err);
  const unreached = unopened(err);
  if (unreached) {
    const words = err.message ?? err.originalCode ?? '';
    return { sentence: `${words}: ${unreached.why}`, unreached: { cause: unreached.cause, detail: words } };
  }
  const tlsFailure = tlsFailureOf(err);
  if (tlsFailure) return tlsFailed(err, tlsFailure, lastCommand);
  if (HUNG_UP_IN_HANDSHAKE.test(err.message ?? '')) {
    const detail = err.message ?? '';
    // Not the word STARTTLS: the console would read it as a server that does not offer it.
    if (stageOfCommand(lastCommand) === 'tls') {
      return { sentence: 'the server closed the connection during the TLS handshake it had agreed to start', unreached: { cause: 'starttls-hang-up', detail } };
    }
    return {
      sentence:
        'the server closed the connection during the TLS handshake: it may not speak TLS from the first byte on this port, or refuse TLS 1.2 and later, which Tocsin requires',
      unreached: { cause: 'tls-hang-up', detail },
    };
  }
  const refused = refusal(err, stage);
  if (refused) return { sentence: refused };
  const hangUp = hungUp(err, lastCommand);
  if (hangUp) return hangUp;
  // nodemailer writes some refusals as "Invalid greeting. response=<reply>: <reply>": the reply once is enough.
  return { sentence: (err.message ?? '').replace(/\. response=([\s\S]+): \1$/, ': $1') || 'SMTP error' };
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
  // Node's words ("connect EMFILE 127.0.0.1:587 - Local") read as the server's failure, and a host
  // name's lookup then fails as one that does not exist (ENOTFOUND): an email failed for good.
  const nodeCode = err.originalCode ?? err.code;
  const local = outOfDescriptors(nodeCode) ? nodeCode : err.code === 'EDNS' ? lookupShortage(nodeCode) : undefined;
  if (local) return outOfDescriptorsToSend(local);
  const stage = stageOf(err, lastCommand);
  const response = typeof err.response === 'string' ? err.response.trim() : undefined;
  const code = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  const cause = causeOf(err, stage, lastCommand);
  return new SmtpDeliveryError(cause.sentence, stage, isRetryable(err, stage), code, response, cause.unreached);
}
