import { describe, expect, it } from 'vitest';
import { SmtpDeliveryError } from '../contract.js';
import { classifySmtpError, stageOfCommand } from './classify.js';

const nodemailerError = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? 'x')), fields);

describe('classifySmtpError', () => {
  it('retries a 4xx at any stage and keeps the code and text', () => {
    const e = classifySmtpError(nodemailerError({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 451, response: '451 4.3.0 try later' }));
    expect(e).toMatchObject({ stage: 'sender', retryable: true, code: 451, response: '451 4.3.0 try later' });
  });

  it('retries a 421 greeting as a connect failure', () => {
    const e = classifySmtpError(nodemailerError({ code: 'EPROTOCOL', command: 'CONN', responseCode: 421, response: '421 busy' }));
    expect(e).toMatchObject({ stage: 'connect', retryable: true, code: 421 });
  });

  it('does not retry a 5xx at RCPT or after DATA', () => {
    expect(classifySmtpError(nodemailerError({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550, response: '550 no such user' }))).toMatchObject({
      stage: 'recipient',
      retryable: false,
      code: 550,
    });
    expect(classifySmtpError(nodemailerError({ code: 'EMESSAGE', command: 'DATA', responseCode: 554, response: '554 spam' }))).toMatchObject({
      stage: 'data',
      retryable: false,
      code: 554,
    });
  });

  it("places a refusal of the message's size at the message, also when it answers MAIL FROM's SIZE=, not at the sender", () => {
    for (const response of ['552 5.3.4 Message size exceeds fixed limit', '552 Error: message exceeds fixed maximum message size 4000'])
      expect(classifySmtpError(nodemailerError({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 552, response })), response).toMatchObject({
        stage: 'data',
        retryable: false,
        code: 552,
        response,
      });
    // A full mailbox's 552 and a 452 for want of storage for now stay where they answered.
    expect(
      classifySmtpError(nodemailerError({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 452, response: '452 4.3.1 Insufficient system storage' })),
    ).toMatchObject({
      stage: 'sender',
    });
  });

  it('does not retry a 500, a server without the STARTTLS these settings require, nor an envelope or message refused before it was sent', () => {
    // 500 is the first permanent code: "command not recognized" will not be recognized later.
    expect(
      classifySmtpError(nodemailerError({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 500, response: '500 5.5.1 unrecognized' })),
    ).toMatchObject({
      retryable: false,
      code: 500,
    });
    const noStartTls = nodemailerError({
      code: 'ETLS',
      command: 'EHLO',
      responseCode: 250,
      response: '250 SIZE 1000',
      message: 'Secure connection required but STARTTLS not supported',
    });
    expect(classifySmtpError(noStartTls)).toMatchObject({ stage: 'tls', retryable: false });
    for (const code of ['EENVELOPE', 'EMESSAGE'])
      expect(classifySmtpError(nodemailerError({ code, message: 'No recipients defined' })), code).toMatchObject({ retryable: false });
  });

  it('does not retry rejected credentials', () => {
    expect(classifySmtpError(nodemailerError({ code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535, response: '535 bad' }))).toMatchObject({
      stage: 'auth',
      retryable: false,
      code: 535,
    });
    expect(classifySmtpError(nodemailerError({ code: 'EAUTH', command: 'API', message: 'Missing credentials' }))).toMatchObject({
      stage: 'auth',
      retryable: false,
    });
  });

  it('names what a 530 asks for: a sign-in, or STARTTLS first, whichever command it refused', () => {
    expect(
      classifySmtpError(nodemailerError({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 530, response: '530 5.7.0 Authentication required' })),
    ).toMatchObject({ stage: 'auth', retryable: false, code: 530, response: '530 5.7.0 Authentication required' });
    expect(
      classifySmtpError(
        nodemailerError({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 530, response: '530 5.7.0 Must issue a STARTTLS command first.' }),
      ),
    ).toMatchObject({ stage: 'tls', retryable: false, code: 530 });
  });

  it('says a server that wants encryption first (530 STARTTLS, 538) asks for TLS, not for another password or token', () => {
    const startTlsFirst = classifySmtpError(
      nodemailerError({
        code: 'EENVELOPE',
        command: 'MAIL FROM',
        message: 'Mail command failed: 530 5.7.0 Must issue a STARTTLS command first.',
        responseCode: 530,
        response: '530 5.7.0 Must issue a STARTTLS command first.',
      }),
    );
    expect(startTlsFirst).toMatchObject({ stage: 'tls', retryable: false, code: 530 });
    expect(startTlsFirst.message).toBe(
      'the server asks for encryption first, and these settings send without TLS: choose security "starttls" (the Enable SSL box), usually with port 587, or "tls" with port 465: 530 5.7.0 Must issue a STARTTLS command first.',
    );
    // RFC 4954's 538 refuses the mechanism over a connection without TLS: the token or password was never judged.
    for (const command of ['AUTH XOAUTH2', 'AUTH PLAIN']) {
      const encryptionRequired = classifySmtpError(
        nodemailerError({
          code: 'EAUTH',
          command,
          message: 'Invalid login: 538 5.7.11 Encryption required for requested authentication mechanism',
          responseCode: 538,
          response: '538 5.7.11 Encryption required for requested authentication mechanism',
          offeredAuth: ['PLAIN', 'XOAUTH2'],
        }),
      );
      expect(encryptionRequired, command).toMatchObject({ stage: 'tls', retryable: false, code: 538 });
      expect(encryptionRequired.message, command).toBe(
        'the server asks for encryption first, and these settings send without TLS: choose security "starttls" (the Enable SSL box), usually with port 587, or "tls" with port 465: 538 5.7.11 Encryption required for requested authentication mechanism',
      );
    }
  });

  it("words a refused CRAM-MD5 answer or LOGIN user name as the refused sign-in it is, not as nodemailer's 'login sequence'", () => {
    for (const [command, waiting] of [
      ['AUTH CRAM-MD5', '"235"'],
      ['AUTH LOGIN', '"334 UGFzc3dvcmQ6"'],
    ] as const) {
      const refused = classifySmtpError(
        nodemailerError({
          code: 'EAUTH',
          command,
          message: `Invalid login sequence while waiting for ${waiting}: 535 5.7.8 Authentication credentials invalid`,
          responseCode: 535,
          response: '535 5.7.8 Authentication credentials invalid',
        }),
      );
      expect(refused, command).toMatchObject({ stage: 'auth', retryable: false, code: 535 });
      expect(refused.message, command).toBe('Invalid login: 535 5.7.8 Authentication credentials invalid');
    }
  });

  it('does not retry a certificate that fails verification, and calls it a TLS failure', () => {
    const e = classifySmtpError(nodemailerError({ code: 'ESOCKET', command: 'CONN', originalCode: 'ERR_TLS_CERT_ALTNAME_INVALID', message: 'altnames' }));
    expect(e).toMatchObject({ stage: 'tls', retryable: false });
    expect(e.message).toContain('certificate');
  });

  it('calls a plain answer to implicit TLS a wrong security mode, and an old TLS version what it is, neither a certificate', () => {
    const plain = classifySmtpError(
      nodemailerError({ code: 'ESOCKET', command: 'CONN', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number' }),
    );
    expect(plain).toMatchObject({ stage: 'tls', retryable: false });
    expect(plain.message).toMatch(/expects STARTTLS or no TLS/);
    const old = classifySmtpError(
      nodemailerError({ code: 'ESOCKET', command: 'CONN', originalCode: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', message: 'protocol version' }),
    );
    expect(old).toMatchObject({ stage: 'tls', retryable: false });
    expect(old.message).toMatch(/TLS 1\.2/);
    for (const e of [plain, old]) expect(e.message).not.toMatch(/certificate/);
  });

  it('does not blame implicit TLS for a handshake that fails after STARTTLS was accepted', () => {
    const e = classifySmtpError(
      nodemailerError({ code: 'ESOCKET', command: 'CONN', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number' }),
      'STARTTLS',
    );
    expect(e).toMatchObject({ stage: 'tls', retryable: false });
    expect(e.message).toMatch(/agreed to start TLS/);
    expect(e.message).not.toMatch(/implicit TLS|from the first byte/);
  });

  it("gives a refused greeting's reply once, verbatim, not twice", () => {
    const reply = '554-mx.example.com\n554 5.7.1 Access denied: your IP is blocklisted';
    const e = classifySmtpError(
      nodemailerError({ code: 'EPROTOCOL', command: 'CONN', responseCode: 554, response: reply, message: `Invalid greeting. response=${reply}: ${reply}` }),
    );
    expect(e).toMatchObject({ stage: 'connect', retryable: false, code: 554, message: `Invalid greeting: ${reply}` });
  });

  it("quotes the server's refusal of STARTTLS in the message, as for every other refusal", () => {
    const e = classifySmtpError(nodemailerError({ code: 'ETLS', command: 'STARTTLS', responseCode: 500, response: '500 5.5.1 Error: command not recognized' }));
    expect(e.message).toBe('the server did not upgrade to TLS (STARTTLS is required): 500 5.5.1 Error: command not recognized');
  });

  it('does not retry a server that refuses STARTTLS', () => {
    const e = classifySmtpError(nodemailerError({ code: 'ETLS', command: 'STARTTLS', responseCode: 502, response: '502 not implemented' }));
    expect(e).toMatchObject({ stage: 'tls', retryable: false, code: 502 });
  });

  it('says how long it waited and for what: the TCP connection, the greeting, or the answer to a named command', () => {
    const timeout = (timeoutType: string, command?: string) =>
      classifySmtpError(nodemailerError({ code: 'ETIMEDOUT', command: 'CONN', timeoutType, timeoutMs: 4_000 }), command).message;
    // nodemailer 10's names; HANDSHAKE_TIMEOUT is the session's, for an implicit TLS port that took the connection.
    expect(timeout('CONNECT_TIMEOUT')).toBe(
      'timed out during connect after 4 s: nothing answered the TCP connection (the host or the port may be wrong, or a firewall drops it)',
    );
    expect(timeout('GREETING_TIMEOUT')).toBe(
      'timed out after 4 s waiting for the SMTP greeting: the port accepted the connection but no SMTP server answered on it',
    );
    const handshake = (timeoutType: string, command?: string) =>
      classifySmtpError(nodemailerError({ code: 'ETIMEDOUT', command: 'CONN', timeoutType, timeoutMs: 4_000 }), command);
    expect(handshake('HANDSHAKE_TIMEOUT')).toMatchObject({
      stage: 'tls',
      retryable: true,
      message:
        'timed out after 4 s waiting for the TLS handshake: the port accepted the connection but did not complete a TLS handshake (is it an implicit TLS port, such as 465?)',
    });
    expect(handshake('UPGRADE_TIMEOUT', 'STARTTLS')).toMatchObject({
      stage: 'tls',
      retryable: true,
      message: 'timed out after 4 s waiting for the TLS handshake: the server agreed to STARTTLS, then did not complete a handshake',
    });
    expect(timeout('REPLY_TIMEOUT', 'EHLO')).toBe("timed out during connect after 4 s, waiting for the server's answer to EHLO");
    expect(timeout('SOCKET_TIMEOUT', 'RCPT TO')).toBe("timed out during recipient after 4 s, waiting for the server's answer to RCPT TO");
    expect(timeout('REPLY_TIMEOUT', 'DATA')).toBe("timed out during data after 4 s, waiting for the server's answer to DATA");
    // Sent whole, the message is what went unanswered, not DATA (answered with its 354).
    expect(classifySmtpError(nodemailerError({ code: 'ETIMEDOUT', timeoutType: 'REPLY_TIMEOUT', timeoutMs: 4_000, messageWhole: true }), 'DATA')).toMatchObject(
      {
        stage: 'data',
        retryable: true,
        message:
          'timed out during data after 4 s, waiting for the server\'s answer to the message\'s final ".": the whole message was sent, so the server may have taken it and the email may still arrive',
        unreached: { cause: 'message-unanswered', detail: 'end of message: REPLY_TIMEOUT (4 s)' },
      },
    );
    // Before the final ".", the server stopped reading the message: DATA had its 354, the message was what waited.
    expect(
      classifySmtpError(nodemailerError({ code: 'ETIMEDOUT', timeoutType: 'REPLY_TIMEOUT', timeoutMs: 4_000, messagePartial: true }), 'DATA'),
    ).toMatchObject({
      stage: 'data',
      retryable: true,
      message: "timed out during data after 4 s, waiting for the server to read the message: it stopped reading before the message's end",
      unreached: { cause: 'message-unread', detail: 'message: REPLY_TIMEOUT (4 s)' },
    });
    expect(classifySmtpError(nodemailerError({ code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', timeoutMs: 1_500 }), 'MAIL FROM').message).toBe(
      "timed out during sender after 1.5 s, waiting for the server's answer to MAIL FROM",
    );
  });

  it('words a reset connection (TCP RST) as a hang-up under the command it interrupted, never naming STARTTLS', () => {
    const reset = (message: string, command?: string) => classifySmtpError(nodemailerError({ code: 'ESOCKET', command: 'CONN', message }), command);
    expect(reset('read ECONNRESET')).toMatchObject({
      stage: 'connect',
      retryable: true,
      message: 'the server closed the connection abruptly (ECONNRESET) before its SMTP greeting, without a word',
    });
    expect(reset('read ECONNRESET', 'MAIL FROM')).toMatchObject({
      stage: 'sender',
      message: 'the server closed the connection abruptly (ECONNRESET) without answering MAIL FROM',
    });
    expect(reset('write EPIPE', 'DATA')).toMatchObject({
      stage: 'data',
      message: 'the server closed the connection abruptly (EPIPE) during DATA, without accepting the message',
    });
    expect(reset('read ECONNRESET', 'STARTTLS')).toMatchObject({
      stage: 'tls',
      message: 'the server closed the connection abruptly (ECONNRESET) while starting TLS',
    });
  });

  it('retries drops and timeouts, placing them with the last command sent', () => {
    expect(classifySmtpError(nodemailerError({ code: 'ECONNECTION', command: 'CONN' }), 'DATA')).toMatchObject({ stage: 'data', retryable: true });
    expect(classifySmtpError(nodemailerError({ code: 'ETIMEDOUT', command: 'CONN', timeoutType: 'GREETING_TIMEOUT' }), 'DATA')).toMatchObject({
      stage: 'connect',
      retryable: true,
      message: 'timed out waiting for the SMTP greeting: the port accepted the connection but no SMTP server answered on it',
    });
    expect(classifySmtpError(nodemailerError({ code: 'ETIMEDOUT', command: 'CONN', timeoutType: 'SOCKET_TIMEOUT' }))).toMatchObject({
      stage: 'connect',
      retryable: true,
    });
    expect(classifySmtpError(nodemailerError({ code: 'ESOCKET', command: 'CONN', originalCode: 'ECONNREFUSED' }))).toMatchObject({
      stage: 'connect',
      retryable: true,
    });
  });

  it('says what a refused or unroutable connection means and what to check, keeping the system error and its address', () => {
    const refused = classifySmtpError(
      nodemailerError({ code: 'ESOCKET', command: 'CONN', originalCode: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:2526' }),
    );
    expect(refused).toMatchObject({ stage: 'connect', retryable: true });
    expect(refused.message).toBe(
      'connect ECONNREFUSED 127.0.0.1:2526: the server refused the connection, so nothing takes connections on this host and port: check the host and the port (usually 587 with STARTTLS, 465 with implicit TLS), and that no firewall refuses them',
    );
    for (const code of ['EHOSTUNREACH', 'ENETUNREACH']) {
      const unroutable = classifySmtpError(
        nodemailerError({ code: 'ESOCKET', command: 'CONN', originalCode: code, message: `connect ${code} 2001:db8::25:587` }),
      );
      expect(unroutable).toMatchObject({ stage: 'connect', retryable: true });
      expect(unroutable.message).toBe(
        `connect ${code} 2001:db8::25:587: Tocsin's machine has no route to this address: check the host, and this machine's network (an IPv6 address from a machine without IPv6, or a firewall)`,
      );
    }
  });

  it("says the system's own connect timeout is a connection nothing answered, by the connect-timeout key, not as a server's reply", () => {
    // A host that drops the SYN under a timeoutMs past Linux's own ~2 min: Node's "connect ETIMEDOUT" ends the wait first.
    // Its bare words were the API's message, and mail health put them, in English, under "the server's last reply".
    const dropped = classifySmtpError(
      nodemailerError({ code: 'ESOCKET', command: 'CONN', originalCode: 'ETIMEDOUT', syscall: 'connect', message: 'connect ETIMEDOUT 192.0.2.7:587' }),
    );
    expect(dropped).toMatchObject({
      stage: 'connect',
      retryable: true,
      message: 'connect ETIMEDOUT 192.0.2.7:587: nothing answered the TCP connection (the host or the port may be wrong, or a firewall drops it)',
      unreached: { cause: 'connect-timeout', detail: 'connect ETIMEDOUT 192.0.2.7:587' },
    });
    // The same code from a read on an open connection is no connection that never opened.
    const read = classifySmtpError(
      nodemailerError({ code: 'ESOCKET', command: 'CONN', originalCode: 'ETIMEDOUT', syscall: 'read', message: 'read ETIMEDOUT' }),
    );
    expect(read).toMatchObject({ stage: 'connect', retryable: true, message: 'read ETIMEDOUT' });
    expect(read.unreached).toBeUndefined();
  });

  it('retries a temporary DNS failure but not a host that does not exist', () => {
    expect(classifySmtpError(nodemailerError({ code: 'EDNS', originalCode: 'EAI_AGAIN' }))).toMatchObject({ stage: 'connect', retryable: true });
    expect(classifySmtpError(nodemailerError({ code: 'EDNS', originalCode: 'ENOTFOUND' }))).toMatchObject({ stage: 'connect', retryable: false });
  });

  it('names the host that did not resolve, the DNS code and whether it is likely permanent or transient', () => {
    const gone = classifySmtpError(nodemailerError({ code: 'EDNS', originalCode: 'ENOTFOUND', hostname: 'smtp.exmaple.com', command: 'CONN' }));
    expect(gone.message).toBe('could not resolve the SMTP host "smtp.exmaple.com" (ENOTFOUND): DNS knows no such name, likely permanent: check its spelling');
    const later = classifySmtpError(nodemailerError({ code: 'EDNS', originalCode: 'EAI_AGAIN', hostname: 'smtp.example.com', command: 'CONN' }));
    expect(later.message).toBe(
      'could not resolve the SMTP host "smtp.example.com" (EAI_AGAIN): the DNS lookup failed for now, likely transient: trying again later may work',
    );
    // A DNS error that names no host still says what failed and its code.
    expect(classifySmtpError(nodemailerError({ code: 'EDNS', originalCode: 'ENODATA' })).message).toBe(
      'could not resolve the SMTP host (ENODATA): DNS knows no such name, likely permanent: check its spelling',
    );
  });

  it('names an internationalized host that did not resolve as its administrator wrote it, not by the punycode looked up', () => {
    // The sender looks smtp.bücher.example up as smtp.xn--bcher-kva.example (endpoint.ts): "check the spelling" of that helps no one.
    const gone = classifySmtpError(nodemailerError({ code: 'EDNS', originalCode: 'ENOTFOUND', hostname: 'smtp.xn--bcher-kva.example', command: 'CONN' }));
    expect(gone.message).toBe(
      'could not resolve the SMTP host "smtp.bücher.example" (ENOTFOUND): DNS knows no such name, likely permanent: check its spelling',
    );
  });

  it('passes an SmtpDeliveryError through and copes with things that are not errors', () => {
    const own = new SmtpDeliveryError('x', 'data', false);
    expect(classifySmtpError(own)).toBe(own);
    expect(classifySmtpError('boom')).toMatchObject({ stage: 'connect', retryable: true, message: 'boom' });
    expect(classifySmtpError(null)).toBeInstanceOf(SmtpDeliveryError);
  });
});

describe('stageOfCommand', () => {
  it('maps SMTP verbs to stages and says nothing for a bare connection event', () => {
    expect(['EHLO x', 'STARTTLS', 'AUTH LOGIN', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA', 'CONN'].map(stageOfCommand)).toEqual([
      'connect',
      'tls',
      'auth',
      'sender',
      'recipient',
      'data',
      undefined,
    ]);
  });

  it("names by key why no server answered, with Node's own words, and nothing when a server did", () => {
    const unreachedOf = (fields: Record<string, unknown>, lastCommand?: string) => classifySmtpError(nodemailerError(fields), lastCommand).unreached;
    expect(unreachedOf({ code: 'ESOCKET', command: 'CONN', originalCode: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.5:587' })).toEqual({
      cause: 'refused',
      detail: 'connect ECONNREFUSED 10.0.0.5:587',
    });
    expect(unreachedOf({ code: 'ESOCKET', command: 'CONN', originalCode: 'EHOSTUNREACH', message: 'connect EHOSTUNREACH 10.0.0.5:587' })).toMatchObject({
      cause: 'no-route',
    });
    expect(unreachedOf({ code: 'EDNS', originalCode: 'ENOTFOUND', hostname: 'smtp.exmaple.com', message: 'getaddrinfo ENOTFOUND smtp.exmaple.com' })).toEqual({
      cause: 'dns-unknown',
      detail: 'getaddrinfo ENOTFOUND smtp.exmaple.com',
    });
    expect(unreachedOf({ code: 'EDNS', originalCode: 'EAI_AGAIN' })).toMatchObject({ cause: 'dns-temporary' });
    expect(unreachedOf({ code: 'ETIMEDOUT', command: 'CONN', timeoutType: 'GREETING_TIMEOUT', timeoutMs: 10_000 })).toEqual({
      cause: 'greeting-timeout',
      detail: 'GREETING_TIMEOUT (10 s)',
    });
    expect(unreachedOf({ code: 'ESOCKET', command: 'CONN', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number' })).toEqual({
      cause: 'plain-server',
      detail: 'ERR_SSL_WRONG_VERSION_NUMBER',
    });
    expect(unreachedOf({ code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' })).toEqual({
      cause: 'certificate',
      detail: 'DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate',
    });
    expect(unreachedOf({ code: 'ECONNECTION', message: 'Connection closed unexpectedly' })).toMatchObject({ cause: 'closed-before-greeting' });
    // A server answered: its reply is the failure, as before.
    expect(unreachedOf({ code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535, response: '535 5.7.8 bad credentials' })).toBeUndefined();
    expect(unreachedOf({ code: 'ECONNECTION', message: 'Connection closed unexpectedly', response: '421 4.7.0 Too many errors' }, 'MAIL FROM')).toBeUndefined();
  });

  it("names by key why a server that greeted then stopped answering, the command waited on in Node's words, and nothing when it said something", () => {
    // Worded in English alone, these sat under "the server's last reply" in a French or German notice, though the server said nothing.
    const stoppedOf = (fields: Record<string, unknown>, lastCommand?: string) => classifySmtpError(nodemailerError(fields), lastCommand).unreached;
    expect(stoppedOf({ code: 'ETIMEDOUT', timeoutType: 'REPLY_TIMEOUT', timeoutMs: 30_000 }, 'MAIL FROM')).toEqual({
      cause: 'reply-timeout',
      detail: 'MAIL FROM: REPLY_TIMEOUT (30 s)',
    });
    expect(stoppedOf({ code: 'ECONNECTION', message: 'Connection closed unexpectedly' }, 'MAIL FROM')).toEqual({
      cause: 'closed-unanswered',
      detail: 'MAIL FROM: Connection closed unexpectedly',
    });
    expect(stoppedOf({ code: 'ESOCKET', message: 'read ECONNRESET' }, 'DATA')).toEqual({ cause: 'closed-unanswered', detail: 'DATA: read ECONNRESET' });
    expect(stoppedOf({ code: 'ETIMEDOUT', timeoutType: 'UPGRADE_TIMEOUT', timeoutMs: 10_000 }, 'STARTTLS')).toEqual({
      cause: 'upgrade-timeout',
      detail: 'UPGRADE_TIMEOUT (10 s)',
    });
    expect(stoppedOf({ code: 'ESOCKET', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number' }, 'STARTTLS')).toEqual({
      cause: 'starttls-not-tls',
      detail: 'ERR_SSL_WRONG_VERSION_NUMBER',
    });
    const hungUp = 'Client network socket disconnected before secure TLS connection was established';
    expect(stoppedOf({ code: 'ESOCKET', originalCode: 'ECONNRESET', message: hungUp }, 'STARTTLS')).toEqual({ cause: 'starttls-hang-up', detail: hungUp });
    expect(stoppedOf({ code: 'ECONNECTION', message: 'Connection closed unexpectedly' }, 'STARTTLS')).toEqual({
      cause: 'starttls-hang-up',
      detail: 'STARTTLS: Connection closed unexpectedly',
    });
    // A certificate that does not verify after STARTTLS is one, as on an implicit TLS port.
    expect(stoppedOf({ code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' }, 'STARTTLS')).toEqual({
      cause: 'certificate',
      detail: 'DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate',
    });
    // The server said something: its words are the failure, under "the server's last reply".
    expect(stoppedOf({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 451, response: '451 4.3.0 Try again later' }, 'MAIL FROM')).toBeUndefined();
    expect(stoppedOf({ code: 'ETLS', command: 'STARTTLS', responseCode: 454, response: '454 TLS not available' }, 'STARTTLS')).toBeUndefined();
  });
});
