// What a failed Test Mail Settings means, in words a tenant administrator can act on. The server's
// own reply is shown as well, verbatim; this only chooses the explanation above it.

/**
 * @typedef {object} FailedTest A failed test's answer (API.md, POST /settings/mail/test).
 * @property {string} stage connect | tls | auth | sender | recipient | data
 * @property {number | string} [code] the SMTP reply code, when the server gave one
 * @property {string} [message] Tocsin's description of the failure, the server's reply included
 */

/**
 * failureReasons names the explanations (`test.why.<reason>` strings) of a failed test: what went
 * wrong and what to change, chosen by its stage, SMTP code and the error's own words; a 4xx code
 * adds that the server calls the failure temporary.
 * @param {FailedTest} result
 * @returns {string[]}
 */
export function failureReasons(result) {
  const message = String(result.message ?? '');
  const code = Number(result.code) || 0;
  const reasons = [whatFailed(result.stage, code, message)];
  if (code >= 400 && code < 500) reasons.push('temporary');
  return reasons;
}

/**
 * failureFacts are the values the explanations name: the host that did not resolve (classify.ts
 * quotes it), so the explanation says which name to check, in the user's language.
 * @param {FailedTest} result
 * @returns {{ host?: string }}
 */
export function failureFacts(result) {
  const host = /could not resolve the SMTP host "([^"]+)"/.exec(String(result.message ?? ''))?.[1];
  return host ? { host } : {};
}

/**
 * @param {string} stage
 * @param {number} code
 * @param {string} message
 */
function whatFailed(stage, code, message) {
  // Tocsin's own words below come with no reply code: a server's reply that happens to say 'cannot be
  // used' or '421 4.4.2 Timeout' (it closed the session itself) is explained by its code further on.
  const replied = code > 0;
  // The API's one message for a host it may not use (host-guard.ts), whatever the reason.
  if (!replied && /cannot be used/i.test(message)) return 'refusedHost';
  // Before the timeouts: a DNS lookup that timed out (ETIMEOUT) is no server that did not answer.
  if (stage === 'connect' && /could not resolve/i.test(message) && /likely transient|EAI_AGAIN|ETIMEOUT|ESERVFAIL/.test(message)) return 'dnsTemporary';
  // Silent after the whole message (classify.ts names its final "."): it may have been taken, so "try again" may send it twice.
  if (!replied && /timed out .*waiting for the server's answer to the message's final "\."/.test(message)) return 'messageUnanswered';
  // Greeted, then silent under a command, or no longer reading the message, or in the handshake STARTTLS agreed to (classify.ts names it): the host and port are right.
  if (!replied && /timed out .*(waiting for the server's answer to|waiting for the server to read|agreed to STARTTLS)/i.test(message))
    return 'stoppedAnswering';
  if (!replied && /timed out|timeout|ETIMEDOUT/i.test(message)) return 'timeout';
  if (/WRONG_VERSION_NUMBER|wrong version number|packet length too long|expects implicit TLS/i.test(message)) return 'tlsMode';
  // A hang-up once the connection was set up refused nothing: it is no verdict on the sender, recipient or
  // message. One with a reply code said why as it hung up (classify.ts): that reply is explained below.
  if (!replied && (stage === 'sender' || stage === 'recipient' || stage === 'data') && /closed the connection/i.test(message)) return 'closedMidway';
  // An address whose user part is not ASCII, to a server without SMTPUTF8: Tocsin sent nothing (session.ts), the server refused nothing.
  if (!replied && /does not offer SMTPUTF8/.test(message)) return 'smtputf8';
  // Credentials set, but the server offered no AUTH and then wanted a sign-in (classify.ts words it so): no field is empty.
  if (/offered no sign-in \(AUTH\)/.test(message)) return 'authNotOffered';
  // Greylisting (postgrey, Exim, milter-greylist) defers a sender the server has not seen before, at
  // RCPT TO or after the message, until it comes again: no address, message or setting to check.
  if (code >= 400 && code < 500 && /grey-?list/i.test(message)) return 'greylisted';
  // Postfix answers RCPT TO with its verdicts on the sender, the client and its EHLO name too (smtpd_delay_reject,
  // on by default), and says which it judged: the recipient is then not what to check.
  if (replied && /Sender address rejected/i.test(message)) return 'sender';
  if (replied && /Client host rejected|Helo command rejected/i.test(message)) return 'clientRefused';
  // A 421 after the greeting closes the session for the server's own reasons (RFC 5321), and a 4xx to
  // MAIL FROM is the server's state (storage, load, a rate) unless its 4.1.x names the address: no
  // sender, recipient or message to change.
  if (stage !== 'connect' && code === 421) return 'serverBusy';
  if (stage === 'sender' && code >= 400 && code < 500 && !/\b4\.1\.\d+\b/.test(message)) return 'serverBusy';
  // So is a 4xx to RCPT TO or to the message whose enhanced code (RFC 3463) is of the mail system (4.3.x: a lookup
  // or a queue failing, storage, Microsoft 365's 432 4.3.2 past its connections of an account), the protocol's limits
  // (4.5.x: too many recipients) or policy (4.7.x: a rate): not the address (4.1.x), its mailbox (4.2.x) or the
  // message. Without an enhanced code it stays the recipient's or the message's.
  const deferredByServer = code >= 400 && code < 500 && /\b4\d\d[ -]4\.[357]\.\d{1,3}\b/.test(message);
  if ((stage === 'recipient' || stage === 'data') && deferredByServer) return 'serverBusy';
  switch (stage) {
    case 'connect':
      // A reply code at connect is the server's own refusal (421 busy, 554 blocked): the host and port are right.
      if (code >= 400) return 'greetingRefused';
      if (/ECONNREFUSED/.test(message)) return 'connectionRefused';
      if (/ENOTFOUND|EAI_AGAIN|could not resolve/i.test(message)) return 'hostNotFound';
      if (/ECONNRESET|closed|unexpected/i.test(message)) return 'connectionClosed';
      return 'connect';
    case 'tls':
      // Security none against a server that wants TLS first (classify.ts words a 530 or 538 so): the reverse of no STARTTLS.
      // The same cure for a sign-in offered only over TLS, with STARTTLS, which security none declined (classify.ts).
      if (/asks for encryption first|offers a sign-in \(AUTH\) only over TLS/.test(message)) return 'encryptionRequired';
      if (/STARTTLS/i.test(message)) return 'noStarttls';
      if (/certificate|CERT/.test(message)) {
        // Another host name helps only when the name is what does not match.
        if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/.test(message)) return 'certificateExpired';
        // Node's words for a certificate sent without the intermediate ones that lead to a trusted authority.
        if (/UNABLE_TO_VERIFY_LEAF_SIGNATURE/.test(message)) return 'certificateChain';
        if (/SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT|CERT_UNTRUSTED|CERT_REJECTED/.test(message)) return 'certificateUntrusted';
        return 'certificate';
      }
      return 'tls';
    case 'auth':
      // Microsoft 365 answers 535 5.7.139 when basic authentication (SMTP AUTH) is off for the
      // mailbox or the whole tenant: checking the password or making an app password cannot help.
      if (/5\.7\.139|basic authentication is disabled|SmtpClientAuthentication is disabled/i.test(message)) return 'basicAuthDisabled';
      // A refused OAuth token (classify.ts words it so): no password or app password is involved.
      if (/refused the access token/i.test(message)) return 'authToken';
      if (code === 535) return 'auth535';
      if (code === 534) return 'auth534';
      if (code === 530) return 'authRequired';
      return 'auth';
    case 'sender':
      if (code === 530) return 'authRequired';
      return 'sender';
    case 'recipient':
      if (/relay/i.test(message)) return 'relay';
      if (code === 530) return 'authRequired';
      return 'recipient';
    default:
      // Microsoft 365 takes the message, then refuses a From address the mailbox may not send as.
      if (/SendAsDenied|permissions to send as|not allowed to send as/i.test(message)) return 'sender';
      return 'data';
  }
}
