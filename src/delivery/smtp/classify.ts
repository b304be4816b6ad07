import { SmtpDeliveryError, type SmtpStage } from '../contract.js';

/** What nodemailer puts on its errors; every field is optional because anything may be thrown. */
interface NodemailerErrorLike {
  message?: string;
  code?: string;
  originalCode?: string;
  command?: string;
  response?: string;
  responseCode?: number;
  timeoutType?: string;
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
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
]);

// DNS answers that mean "try again later" rather than "no such host".
const TEMPORARY_DNS_ERRORS = new Set(['EAI_AGAIN', 'ETIMEOUT', 'ESERVFAIL', 'ECONNREFUSED', 'ETIMEDOUT']);

// Configuration mistakes found before or without talking to the server.
const CONFIG_ERRORS = new Set(['ECONFIG', 'ENOAUTH', 'EFILEACCESS', 'EURLACCESS', 'EOAUTH2']);

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
  if (err.code === 'ETLS' || err.code === 'EREQUIRETLS' || CERTIFICATE_ERRORS.has(err.originalCode ?? err.code ?? '')) return 'tls';
  if (err.code === 'EAUTH' || err.code === 'ENOAUTH' || err.code === 'EOAUTH2') return 'auth';
  if (err.code === 'EDNS') return 'connect';
  if (err.timeoutType === 'CONNECTION_TIMEOUT' || err.timeoutType === 'GREETING_TIMEOUT') return 'connect';
  return stageOfCommand(err.command) ?? stageOfCommand(lastCommand) ?? 'connect';
}

function isRetryable(err: NodemailerErrorLike, stage: SmtpStage): boolean {
  const code = err.responseCode;
  if (typeof code === 'number' && code >= 400 && code < 600) return code < 500;
  if (stage === 'tls' && CERTIFICATE_ERRORS.has(err.originalCode ?? err.code ?? '')) return false;
  if (err.code === 'ETLS' || err.code === 'EREQUIRETLS') return false;
  if (err.code === 'EAUTH' || CONFIG_ERRORS.has(err.code ?? '')) return false;
  if (err.code === 'EDNS') return TEMPORARY_DNS_ERRORS.has(err.originalCode ?? '');
  if (err.code === 'EENVELOPE' || err.code === 'EMESSAGE') return false;
  // Dropped connections, timeouts, refused connections and anything unknown: trying later may help,
  // and a wrongly retried email costs less than a lost one.
  return true;
}

function describe(err: NodemailerErrorLike, stage: SmtpStage): string {
  if (err.timeoutType || err.code === 'ETIMEDOUT') return `timed out during ${stage}`;
  if (err.code === 'EDNS') return `could not resolve the SMTP host (${err.originalCode ?? 'DNS error'})`;
  if (stage === 'tls' && CERTIFICATE_ERRORS.has(err.originalCode ?? err.code ?? '')) {
    return `the server's certificate did not verify (${err.originalCode ?? err.code}): ${err.message ?? ''}`.trim();
  }
  if (err.code === 'ETLS' && err.command === 'STARTTLS') return 'the server did not upgrade to TLS (STARTTLS is required)';
  return err.message || 'SMTP error';
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
  return new SmtpDeliveryError(describe(err, stage), stage, isRetryable(err, stage), code, response);
}
