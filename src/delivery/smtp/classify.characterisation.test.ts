import { describe, expect, it } from 'vitest';
import type { SmtpDeliveryError } from '../contract.js';
import { classifySmtpError, lookupTimedOut } from './classify.js';

/*
 * Pins, byte for byte, what classifySmtpError makes of every error shape classify.ts tells apart:
 * the API's English sentence, the stage, whether it is retried, and the key (with its detail) by
 * which mail health words the cause in its reader's language. The sentence and the key are told
 * apart from the same causes; this table holds them together, so that a change to how a cause is
 * recognised cannot change one and not the other unseen. The errors are shaped as nodemailer
 * (10.x), Node and session.ts make them.
 */

// An error as nodemailer throws it: an Error with its fields; one without a message is a bare object,
// as anything may be thrown (and session.ts's lookups give no message).
const thrown = (fields: Record<string, unknown>): object =>
  typeof fields.message === 'string' ? Object.assign(new Error(fields.message), fields) : { ...fields };
// A server's 334 challenge to a refused XOAUTH2 token: Base64 JSON, as session.ts keeps it.
const challenge = (said: unknown): string => Buffer.from(JSON.stringify(said)).toString('base64');

interface Case {
  readonly error: unknown;
  readonly lastCommand?: string;
}

const HUNG_UP_IN_HANDSHAKE = 'Client network socket disconnected before secure TLS connection was established';

const CASES: Record<string, Case> = {
  // Timeouts: nodemailer's, with session.ts's HANDSHAKE_TIMEOUT, UPGRADE_TIMEOUT and REPLY_TIMEOUT.
  'connect timeout': {
    error: thrown({ message: 'Connection timeout', code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT', command: 'CONN', timeoutMs: 10_000 }),
  },
  'connect timeout, no length': { error: thrown({ message: 'Connection timeout', code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT', command: 'CONN' }) },
  'greeting timeout': {
    error: thrown({ message: 'Greeting never received', code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', command: 'CONN', timeoutMs: 30_000 }),
  },
  'greeting timeout, no length, after DATA': {
    error: thrown({ message: 'Greeting never received', code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', command: 'CONN' }),
    lastCommand: 'DATA',
  },
  'handshake timeout': {
    error: thrown({ message: 'Connection timeout', code: 'ETIMEDOUT', timeoutType: 'HANDSHAKE_TIMEOUT', command: 'CONN', timeoutMs: 4_000 }),
  },
  'handshake timeout, no length': { error: thrown({ message: 'Connection timeout', code: 'ETIMEDOUT', timeoutType: 'HANDSHAKE_TIMEOUT', command: 'CONN' }) },
  'upgrade timeout': {
    error: thrown({ message: 'TLS handshake timed out', code: 'ETIMEDOUT', timeoutType: 'UPGRADE_TIMEOUT', command: 'CONN', timeoutMs: 1_500 }),
    lastCommand: 'STARTTLS',
  },
  'upgrade timeout, no length': {
    error: thrown({ message: 'TLS handshake timed out', code: 'ETIMEDOUT', timeoutType: 'UPGRADE_TIMEOUT', command: 'CONN' }),
    lastCommand: 'STARTTLS',
  },
  'reply timeout under MAIL FROM': {
    error: thrown({ message: 'Timed out waiting for the reply', code: 'ETIMEDOUT', timeoutType: 'REPLY_TIMEOUT', timeoutMs: 30_000 }),
    lastCommand: 'MAIL FROM',
  },
  'socket timeout under a command written loosely': {
    error: thrown({ message: 'Timeout', code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN', timeoutMs: 2_000 }),
    lastCommand: ' rcpt to ',
  },
  'socket timeout under AUTH': {
    error: thrown({ message: 'Timeout', code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN', timeoutMs: 2_000 }),
    lastCommand: 'AUTH',
  },
  'socket timeout under STARTTLS, before its reply': {
    error: thrown({ message: 'Timeout', code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN', timeoutMs: 2_000 }),
    lastCommand: 'STARTTLS',
  },
  'socket timeout under no command': {
    error: thrown({ message: 'Timeout', code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN', timeoutMs: 2_000 }),
  },
  'ETIMEDOUT without a type, under DATA': { error: thrown({ message: 'Timed out', code: 'ETIMEDOUT', timeoutMs: 5_000 }), lastCommand: 'DATA' },
  'ETIMEDOUT without a type or length, under no command': { error: thrown({ message: 'Timed out', code: 'ETIMEDOUT' }) },

  // DNS failures (nodemailer's EDNS over Node's getaddrinfo codes, endpoint.ts's lookup timeout).
  'DNS: no such name': {
    error: thrown({
      message: 'getaddrinfo ENOTFOUND smtp.exmaple.com',
      code: 'EDNS',
      originalCode: 'ENOTFOUND',
      hostname: 'smtp.exmaple.com',
      command: 'CONN',
    }),
  },
  'DNS: try again': {
    error: thrown({
      message: 'getaddrinfo EAI_AGAIN smtp.example.com',
      code: 'EDNS',
      originalCode: 'EAI_AGAIN',
      hostname: 'smtp.example.com',
      command: 'CONN',
    }),
  },
  'DNS: server failure, no host named': { error: thrown({ message: 'queryA ESERVFAIL', code: 'EDNS', originalCode: 'ESERVFAIL', command: 'CONN' }) },
  'DNS: an internationalized name': {
    error: thrown({
      message: 'getaddrinfo ENOTFOUND smtp.xn--bcher-kva.example',
      code: 'EDNS',
      originalCode: 'ENOTFOUND',
      hostname: 'smtp.xn--bcher-kva.example',
      command: 'CONN',
    }),
  },
  'DNS: a punycode name that does not decode': { error: thrown({ code: 'EDNS', originalCode: 'ENOTFOUND', hostname: 'xn--zz' }) },
  'DNS: no data, no host, no message': { error: thrown({ code: 'EDNS', originalCode: 'ENODATA' }) },
  'DNS: no code at all': { error: thrown({ code: 'EDNS', hostname: 'smtp.example.com' }) },
  'DNS: no answer in time, with a length': { error: thrown({ code: 'EDNS', originalCode: 'ETIMEOUT', hostname: 'smtp.example.com', timeoutMs: 7_500 }) },
  'DNS: no answer in time, no length': {
    error: thrown({ message: 'queryA ETIMEOUT smtp.example.com', code: 'EDNS', originalCode: 'ETIMEOUT', hostname: 'smtp.example.com' }),
  },
  'DNS: resolver refused': {
    error: thrown({ message: 'getaddrinfo ECONNREFUSED smtp.example.com', code: 'EDNS', originalCode: 'ECONNREFUSED', hostname: 'smtp.example.com' }),
  },

  // Connections that never opened.
  'connection refused': {
    error: thrown({ message: 'connect ECONNREFUSED 127.0.0.1:2526', code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }),
  },
  'connection refused, no message': { error: thrown({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }) },
  'host unreachable': {
    error: thrown({ message: 'connect EHOSTUNREACH 2001:db8::25:587', code: 'ESOCKET', originalCode: 'EHOSTUNREACH', command: 'CONN' }),
  },
  'network unreachable': {
    error: thrown({ message: 'connect ENETUNREACH 2001:db8::25:587', code: 'ESOCKET', originalCode: 'ENETUNREACH', command: 'CONN' }),
  },
  "the system's own connect timeout": {
    error: thrown({ message: 'connect ETIMEDOUT 192.0.2.7:587', code: 'ESOCKET', originalCode: 'ETIMEDOUT', syscall: 'connect', command: 'CONN' }),
  },
  'a read that timed out on an open connection': {
    error: thrown({ message: 'read ETIMEDOUT', code: 'ESOCKET', originalCode: 'ETIMEDOUT', syscall: 'read', command: 'CONN' }),
    lastCommand: 'MAIL FROM',
  },
  'a socket error of another kind': {
    error: thrown({ message: 'connect ECONNABORTED 192.0.2.7:587', code: 'ESOCKET', originalCode: 'ECONNABORTED', command: 'CONN' }),
  },

  // TLS failures: certificates, a plain server on an implicit TLS port, old TLS, hang-ups in the handshake.
  'certificate: self-signed': {
    error: thrown({ message: 'self-signed certificate', code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', command: 'CONN' }),
  },
  'certificate: self-signed, after STARTTLS': {
    error: thrown({ message: 'self-signed certificate', code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', command: 'CONN' }),
    lastCommand: 'STARTTLS',
  },
  'certificate: wrong name, its code as the code': {
    error: thrown({ message: "Hostname/IP does not match certificate's altnames", code: 'ERR_TLS_CERT_ALTNAME_INVALID' }),
  },
  'certificate: expired, no message': { error: thrown({ code: 'ESOCKET', originalCode: 'CERT_HAS_EXPIRED', command: 'CONN' }) },
  'certificate: expired, with a 4xx on the error': {
    error: thrown({ message: 'certificate has expired', code: 'ESOCKET', originalCode: 'CERT_HAS_EXPIRED', responseCode: 421, response: '421 go away' }),
  },
  'plain server on an implicit TLS port': {
    error: thrown({ message: 'wrong version number', code: 'ESOCKET', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER', command: 'CONN' }),
  },
  'plain server on an implicit TLS port, packet too long': {
    error: thrown({ message: 'packet length too long', code: 'ESOCKET', originalCode: 'ERR_SSL_PACKET_LENGTH_TOO_LONG', command: 'CONN' }),
  },
  'plain answer after an accepted STARTTLS': {
    error: thrown({ message: 'wrong version number', code: 'ESOCKET', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER', command: 'CONN' }),
    lastCommand: 'STARTTLS',
  },
  'old TLS': {
    error: thrown({ message: 'unsupported protocol', code: 'ESOCKET', originalCode: 'ERR_SSL_UNSUPPORTED_PROTOCOL', command: 'CONN' }),
  },
  'old TLS, after STARTTLS': {
    error: thrown({ message: 'tlsv1 alert protocol version', code: 'ESOCKET', originalCode: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', command: 'CONN' }),
    lastCommand: 'STARTTLS',
  },
  'hang-up in an implicit TLS handshake': { error: thrown({ message: HUNG_UP_IN_HANDSHAKE, code: 'ESOCKET', originalCode: 'ECONNRESET', command: 'CONN' }) },
  'hang-up in the handshake after STARTTLS': {
    error: thrown({ message: HUNG_UP_IN_HANDSHAKE, code: 'ESOCKET', originalCode: 'ECONNRESET', command: 'CONN' }),
    lastCommand: 'STARTTLS',
  },
  'close while upgrading after STARTTLS (nodemailer ETLS)': {
    error: thrown({ message: 'Connection closed unexpectedly', code: 'ETLS', command: 'CONN' }),
    lastCommand: 'STARTTLS',
  },

  // STARTTLS and EHLO refused.
  'STARTTLS refused': {
    error: thrown({
      message: 'Error upgrading connection with STARTTLS: 454 4.7.0 TLS not available',
      code: 'ETLS',
      command: 'STARTTLS',
      responseCode: 454,
      response: '454 4.7.0 TLS not available',
    }),
    lastCommand: 'STARTTLS',
  },
  'STARTTLS unknown': {
    error: thrown({
      message: 'Error upgrading connection with STARTTLS: 500 5.5.1 Error: command not recognized',
      code: 'ETLS',
      command: 'STARTTLS',
      responseCode: 500,
      response: '500 5.5.1 Error: command not recognized',
    }),
  },
  'STARTTLS failed without a reply': {
    error: thrown({ message: 'Error initiating TLS - socket hang up', code: 'ETLS', command: 'STARTTLS' }),
    lastCommand: 'STARTTLS',
  },
  'STARTTLS required, not offered': {
    error: thrown({
      message: 'Secure connection required but STARTTLS not supported',
      code: 'ETLS',
      command: 'EHLO',
      responseCode: 250,
      response: '250 SIZE 1000',
    }),
    lastCommand: 'EHLO',
  },
  'REQUIRETLS not supported': {
    error: thrown({ message: 'Server does not support REQUIRETLS extension (RFC 8689)', code: 'EREQUIRETLS', command: 'MAIL FROM' }),
  },
  'EHLO unknown (502) under STARTTLS required': {
    error: thrown({
      message:
        'EHLO failed but HELO does not support required STARTTLS. response=502 5.5.2 Error: command not recognized: 502 5.5.2 Error: command not recognized',
      code: 'ECONNECTION',
      command: 'EHLO',
      responseCode: 502,
      response: '502 5.5.2 Error: command not recognized',
    }),
    lastCommand: 'EHLO',
  },
  'EHLO unknown (500) under STARTTLS required': {
    error: thrown({
      message: 'EHLO failed but HELO does not support required STARTTLS. response=500 unrecognized: 500 unrecognized',
      code: 'ECONNECTION',
      command: 'EHLO',
      responseCode: 500,
      response: '500 unrecognized',
    }),
    lastCommand: 'EHLO',
  },
  'EHLO name refused under STARTTLS required': {
    error: thrown({
      message: 'EHLO failed but HELO does not support required STARTTLS. response=550 5.7.1 bad name: 550 5.7.1 bad name',
      code: 'ECONNECTION',
      command: 'EHLO',
      responseCode: 550,
      response: '550 5.7.1 bad name',
    }),
    lastCommand: 'EHLO',
  },
  'EHLO refused under STARTTLS required, no reply kept': {
    error: thrown({ message: 'EHLO failed but HELO does not support required STARTTLS. response=', code: 'ECONNECTION', command: 'EHLO' }),
  },
  'EHLO answered 421': {
    error: thrown({
      message: 'Server terminates connection. response=421 4.3.2 shutting down: 421 4.3.2 shutting down',
      code: 'ECONNECTION',
      command: 'EHLO',
      responseCode: 421,
      response: '421 4.3.2 shutting down',
    }),
    lastCommand: 'EHLO',
  },

  // Encryption or a sign-in asked for first (530, 538).
  '530 STARTTLS first, at MAIL FROM': {
    error: thrown({
      message: 'Mail command failed: 530 5.7.0 Must issue a STARTTLS command first.',
      code: 'EENVELOPE',
      command: 'MAIL FROM',
      responseCode: 530,
      response: '530 5.7.0 Must issue a STARTTLS command first.',
    }),
    lastCommand: 'MAIL FROM',
  },
  '530 STARTTLS first, sign-in skipped': {
    error: thrown({
      message: 'Mail command failed: 530 5.7.0 Must issue a STARTTLS command first.',
      code: 'EENVELOPE',
      command: 'MAIL FROM',
      responseCode: 530,
      response: '530 5.7.0 Must issue a STARTTLS command first.',
      signInSkipped: true,
    }),
  },
  '538 encryption required for AUTH': {
    error: thrown({
      message: 'Invalid login: 538 5.7.11 Encryption required for requested authentication mechanism',
      code: 'EAUTH',
      command: 'AUTH PLAIN',
      responseCode: 538,
      response: '538 5.7.11 Encryption required for requested authentication mechanism',
      offeredAuth: ['PLAIN', 'XOAUTH2'],
    }),
    lastCommand: 'AUTH',
  },
  '538 without a reply text': { error: thrown({ message: 'Invalid login', code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 538 }) },
  '530 sign-in required': {
    error: thrown({
      message: 'Mail command failed: 530 5.7.0 Authentication required',
      code: 'EENVELOPE',
      command: 'MAIL FROM',
      responseCode: 530,
      response: '530 5.7.0 Authentication required',
    }),
    lastCommand: 'MAIL FROM',
  },
  '530 sign-in required, the sign-in skipped': {
    error: thrown({
      message: 'Mail command failed: 530 5.7.0 Authentication required',
      code: 'EENVELOPE',
      command: 'MAIL FROM',
      responseCode: 530,
      response: '530 5.7.0 Authentication required',
      signInSkipped: true,
    }),
    lastCommand: 'MAIL FROM',
  },
  'relaying denied, the sign-in skipped': {
    error: thrown({
      message: 'Recipient command failed: 554 5.7.1 <a@example.org>: Relay access denied',
      code: 'EENVELOPE',
      command: 'RCPT TO',
      responseCode: 554,
      response: '554 5.7.1 <a@example.org>: Relay access denied',
      signInSkipped: true,
    }),
    lastCommand: 'RCPT TO',
  },
  'relaying denied, signed in': {
    error: thrown({
      message: 'Recipient command failed: 554 5.7.1 <a@example.org>: Relay access denied',
      code: 'EENVELOPE',
      command: 'RCPT TO',
      responseCode: 554,
      response: '554 5.7.1 <a@example.org>: Relay access denied',
    }),
    lastCommand: 'RCPT TO',
  },
  'no such user, the sign-in skipped': {
    error: thrown({
      message: 'Recipient command failed: 550 5.1.1 no such user',
      code: 'EENVELOPE',
      command: 'RCPT TO',
      responseCode: 550,
      response: '550 5.1.1 no such user',
      signInSkipped: true,
    }),
  },
  '530 sign-in required, skipped, without a reply text': {
    error: thrown({ message: 'Mail command failed', code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 530, signInSkipped: true }),
  },

  // Sign-in methods the server did not offer.
  'only methods Tocsin cannot speak': {
    error: thrown({
      message: 'Invalid login: 504 5.7.4 Unrecognized authentication type',
      code: 'EAUTH',
      command: 'AUTH PLAIN',
      responseCode: 504,
      response: '504 5.7.4 Unrecognized authentication type',
      offeredAuth: ['NTLM', 'GSSAPI'],
    }),
    lastCommand: 'AUTH',
  },
  'a password where only XOAUTH2 is offered': {
    error: thrown({
      message: 'Invalid login sequence while waiting for "334 VXNlcm5hbWU6": 504 5.7.4 Unrecognized authentication type',
      code: 'EAUTH',
      command: 'AUTH LOGIN',
      responseCode: 504,
      response: '504 5.7.4 Unrecognized authentication type',
      offeredAuth: ['XOAUTH2'],
    }),
  },
  'a password where XOAUTH2 and NTLM are offered': {
    error: thrown({
      message: 'Invalid login: 504 5.7.4 Unrecognized authentication type',
      code: 'EAUTH',
      command: 'AUTH PLAIN',
      responseCode: 504,
      response: '504 5.7.4 Unrecognized authentication type',
      offeredAuth: ['XOAUTH2', 'NTLM'],
    }),
  },
  'a token where XOAUTH2 is not offered': {
    error: thrown({
      message: 'Invalid login: 504 5.7.4 Unrecognized authentication type',
      code: 'EAUTH',
      command: 'AUTH XOAUTH2',
      responseCode: 504,
      response: '504 5.7.4 Unrecognized authentication type',
      offeredAuth: ['PLAIN', 'LOGIN'],
    }),
  },
  'a method not offered': {
    error: thrown({
      message: 'Invalid login sequence while waiting for "334 VXNlcm5hbWU6": 504 5.7.4 Unrecognized authentication type',
      code: 'EAUTH',
      command: 'AUTH LOGIN',
      responseCode: 504,
      response: '504 5.7.4 Unrecognized authentication type',
      offeredAuth: ['PLAIN', 'XOAUTH2', 'NTLM'],
    }),
  },
  'a method not offered, written in lower case': {
    error: thrown({
      message: 'Invalid login: 504 5.7.4 Unrecognized authentication type',
      code: 'EAUTH',
      command: 'auth cram-md5',
      responseCode: 504,
      response: '504 5.7.4 Unrecognized authentication type',
      offeredAuth: ['PLAIN'],
    }),
  },
  'a password refused for an offered method': {
    error: thrown({
      message: 'Invalid login: 535 5.7.8 Username and Password not accepted',
      code: 'EAUTH',
      command: 'AUTH PLAIN',
      responseCode: 535,
      response: '535 5.7.8 Username and Password not accepted',
      offeredAuth: ['PLAIN', 'LOGIN'],
    }),
    lastCommand: 'AUTH',
  },
  'a method refused, nothing offered known': {
    error: thrown({
      message: 'Invalid login: 504 5.7.4 Unrecognized authentication type',
      code: 'EAUTH',
      command: 'AUTH LOGIN',
      responseCode: 504,
      response: '504 5.7.4 Unrecognized authentication type',
    }),
  },
  'credentials missing': { error: thrown({ message: 'Missing credentials for "PLAIN"', code: 'EAUTH', command: 'API' }) },
  'a sign-in refused without a reply, methods offered': {
    error: thrown({ message: 'Invalid login', code: 'EAUTH', command: 'AUTH LOGIN', offeredAuth: ['PLAIN'] }),
  },

  // An XOAUTH2 token refused, with what its 334 challenge says.
  'token refused, status and scope': {
    error: thrown({
      message: 'Invalid login: 535 5.7.8 Username and Password not accepted',
      code: 'EAUTH',
      command: 'AUTH XOAUTH2',
      responseCode: 535,
      response: '535 5.7.8 Username and Password not accepted',
      challenge: challenge({ status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' }),
      offeredAuth: ['LOGIN', 'PLAIN', 'XOAUTH2'],
    }),
    lastCommand: 'AUTH',
  },
  'token refused, a numeric status alone': {
    error: thrown({
      message: 'Invalid login: 535 5.7.3 Authentication unsuccessful',
      code: 'EAUTH',
      command: 'AUTH XOAUTH2',
      responseCode: 535,
      response: '535 5.7.3 Authentication unsuccessful',
      challenge: challenge({ status: 400, scope: '' }),
    }),
  },
  'token refused, a challenge saying neither': {
    error: thrown({
      message: 'Invalid login: 535 5.7.3 Authentication unsuccessful',
      code: 'EAUTH',
      command: 'AUTH XOAUTH2',
      responseCode: 535,
      response: '535 5.7.3 Authentication unsuccessful',
      challenge: challenge({ schemes: 'bearer', status: null }),
    }),
  },
  'token refused, a challenge not JSON': {
    error: thrown({
      message: 'Invalid login: 535 5.7.3 Authentication unsuccessful',
      code: 'EAUTH',
      command: 'AUTH XOAUTH2',
      responseCode: 535,
      response: '535 5.7.3 Authentication unsuccessful',
      challenge: Buffer.from('not json').toString('base64'),
    }),
  },
  'token refused, no challenge': {
    error: thrown({
      message: 'Invalid login: 535 5.7.3 Authentication unsuccessful',
      code: 'EAUTH',
      command: 'AUTH XOAUTH2',
      responseCode: 535,
      response: '535 5.7.3 Authentication unsuccessful',
    }),
  },
  'token refused, a challenge of JSON null': {
    error: thrown({
      message: 'Invalid login: 535 5.7.3 Authentication unsuccessful',
      code: 'EAUTH',
      command: 'AUTH XOAUTH2',
      responseCode: 535,
      response: '535 5.7.3 Authentication unsuccessful',
      challenge: challenge(null),
    }),
  },
  'token not made (nodemailer EAUTH without a reply)': { error: thrown({ message: 'Token request failed', code: 'EAUTH', command: 'AUTH XOAUTH2' }) },
  'OAuth2 configuration refused': { error: thrown({ message: 'Can not create access token', code: 'EOAUTH2' }) },

  // A sign-in refused midway: nodemailer's "Invalid login sequence".
  'CRAM-MD5 answer refused': {
    error: thrown({
      message: 'Invalid login sequence while waiting for "235": 535 5.7.8 Authentication credentials invalid',
      code: 'EAUTH',
      command: 'AUTH CRAM-MD5',
      responseCode: 535,
      response: '535 5.7.8 Authentication credentials invalid',
    }),
    lastCommand: 'AUTH',
  },
  'LOGIN user name refused': {
    error: thrown({
      message: 'Invalid login sequence while waiting for "334 UGFzc3dvcmQ6": 535 5.7.8 Authentication credentials invalid',
      code: 'EAUTH',
      command: 'AUTH LOGIN',
      responseCode: 535,
      response: '535 5.7.8 Authentication credentials invalid',
      offeredAuth: ['LOGIN'],
    }),
  },
  'CRAM-MD5 challenge refused': {
    error: thrown({
      message: 'Invalid login sequence while waiting for server challenge string: 454 4.7.0 Temporary authentication failure',
      code: 'EAUTH',
      command: 'AUTH CRAM-MD5',
      responseCode: 454,
      response: '454 4.7.0 Temporary authentication failure',
    }),
  },

  // Hang-ups: a close (nodemailer's ECONNECTION) or a reset (ESOCKET with ECONNRESET or EPIPE).
  'closed before the greeting': { error: thrown({ message: 'Connection closed unexpectedly', code: 'ECONNECTION', command: 'CONN' }) },
  'reset before the greeting': { error: thrown({ message: 'read ECONNRESET', code: 'ESOCKET', originalCode: 'ECONNRESET', command: 'CONN' }) },
  'closed under MAIL FROM': { error: thrown({ message: 'Connection closed unexpectedly', code: 'ECONNECTION', command: 'CONN' }), lastCommand: 'MAIL FROM' },
  'closed under EHLO': { error: thrown({ message: 'Connection closed unexpectedly', code: 'ECONNECTION', command: 'CONN' }), lastCommand: 'EHLO' },
  'closed by this side under AUTH (session.ts)': { error: thrown({ message: 'Connection closed', code: 'ECONNECTION' }), lastCommand: 'AUTH' },
  'closed under RSET, in lower case': { error: thrown({ message: 'connection closed', code: 'ECONNECTION' }), lastCommand: 'rset' },
  'closed under DATA': { error: thrown({ message: 'Connection closed unexpectedly', code: 'ECONNECTION', command: 'CONN' }), lastCommand: 'DATA' },
  'broken pipe under DATA': { error: thrown({ message: 'write EPIPE', code: 'ESOCKET', originalCode: 'EPIPE', command: 'CONN' }), lastCommand: 'DATA' },
  'reset under RCPT TO': {
    error: thrown({ message: 'read ECONNRESET', code: 'ESOCKET', originalCode: 'ECONNRESET', command: 'CONN' }),
    lastCommand: 'RCPT TO',
  },
  'closed under STARTTLS': { error: thrown({ message: 'Connection closed unexpectedly', code: 'ECONNECTION', command: 'CONN' }), lastCommand: 'STARTTLS' },
  'broken pipe under STARTTLS': { error: thrown({ message: 'write EPIPE', code: 'ESOCKET', originalCode: 'EPIPE', command: 'CONN' }), lastCommand: 'STARTTLS' },
  'closed with an unfinished reply, under no command': {
    error: thrown({
      message: 'Connection closed unexpectedly: 421 4.7.0 Too many errors',
      code: 'ECONNECTION',
      command: 'CONN',
      responseCode: 421,
      response: '421 4.7.0 Too many errors',
    }),
  },
  'closed with an unfinished reply, under RCPT TO': {
    error: thrown({
      message: 'Connection closed unexpectedly: 550 5.7.1 go away',
      code: 'ECONNECTION',
      command: 'CONN',
      responseCode: 550,
      response: '550 5.7.1 go away',
    }),
    lastCommand: 'RCPT TO',
  },
  'closed with an unfinished reply, under DATA': {
    error: thrown({
      message: 'Connection closed unexpectedly: 451 4.3.0 local error',
      code: 'ECONNECTION',
      command: 'CONN',
      responseCode: 451,
      response: '451 4.3.0 local error',
    }),
    lastCommand: 'DATA',
  },
  'closed with a reply of spaces': {
    error: thrown({ message: 'Connection closed unexpectedly', code: 'ECONNECTION', response: '  ' }),
    lastCommand: 'MAIL FROM',
  },
  'reset with a reply': {
    error: thrown({ message: 'read ECONNRESET', code: 'ESOCKET', originalCode: 'ECONNRESET', response: '421 4.4.2 timeout' }),
    lastCommand: 'MAIL FROM',
  },
  'the server closing under a send (421)': {
    error: thrown({
      message: 'Server closed the connection: 421 4.7.0 closing',
      code: 'ECONNECTION',
      command: 'CONN',
      responseCode: 421,
      response: '421 4.7.0 closing',
    }),
    lastCommand: 'MAIL FROM',
  },

  // Replies and everything else: nodemailer's own words, a doubled greeting reply given once.
  'greeting refused (554)': {
    error: thrown({
      message:
        'Invalid greeting. response=554-mx.example.com\n554 5.7.1 Access denied: your IP is blocklisted: 554-mx.example.com\n554 5.7.1 Access denied: your IP is blocklisted',
      code: 'EPROTOCOL',
      command: 'CONN',
      responseCode: 554,
      response: '554-mx.example.com\n554 5.7.1 Access denied: your IP is blocklisted',
    }),
  },
  'greeting busy (421)': {
    error: thrown({ message: 'Invalid greeting. response=421 busy: 421 busy', code: 'EPROTOCOL', command: 'CONN', responseCode: 421, response: '421 busy' }),
  },
  'sender refused (451)': {
    error: thrown({
      message: 'Mail command failed: 451 4.3.0 try later',
      code: 'EENVELOPE',
      command: 'MAIL FROM',
      responseCode: 451,
      response: '451 4.3.0 try later ',
    }),
    lastCommand: 'MAIL FROM',
  },
  'recipient refused (550)': {
    error: thrown({
      message: "Can't send mail - all recipients were rejected: 550 5.1.1 no such user",
      code: 'EENVELOPE',
      command: 'RCPT TO',
      responseCode: 550,
      response: '550 5.1.1 no such user',
    }),
    lastCommand: 'RCPT TO',
  },
  'message refused (554)': {
    error: thrown({ message: 'Message failed: 554 5.7.1 spam', code: 'EMESSAGE', command: 'DATA', responseCode: 554, response: '554 5.7.1 spam' }),
    lastCommand: 'DATA',
  },
  'DATA refused (503)': {
    error: thrown({
      message: 'Data command failed: 503 5.5.1 no valid recipients',
      code: 'EENVELOPE',
      command: 'DATA',
      responseCode: 503,
      response: '503 5.5.1 no valid recipients',
    }),
  },
  'message too large before sending': { error: thrown({ message: 'Message size larger than allowed 1000', code: 'EMESSAGE', command: 'MAIL FROM' }) },
  'no recipients': { error: thrown({ message: 'No recipients defined', code: 'EENVELOPE', command: 'API' }) },
  'a reply code out of range': {
    error: thrown({ message: 'odd reply: 600 what', code: 'EPROTOCOL', responseCode: 600, response: '600 what' }),
    lastCommand: 'BDAT',
  },
  'a socket error without a code or words': { error: thrown({ code: 'ESOCKET' }) },
  'a connection error without words': { error: thrown({ code: 'ECONNECTION', command: 'CONN' }) },
  'a sign-in refused without words': { error: thrown({ code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535, response: '535 5.7.8 no' }) },
  'a configuration error': { error: thrown({ message: 'Unsupported security mode', code: 'ECONFIG' }) },
  'no sign-in method': { error: thrown({ message: 'Authentication info was not provided', code: 'ENOAUTH' }) },
  'a file not readable': { error: thrown({ message: 'File access rejected', code: 'EFILEACCESS' }) },
  'a plain Error': { error: new Error('boom'), lastCommand: 'QUIT' },
  'an Error without words': { error: new Error('') },
  'a string': { error: 'boom' },
  'a number': { error: 42 },
  null: { error: null },
  undefined: { error: undefined },
  'an empty object': { error: {} },
};

type Outcome = Pick<SmtpDeliveryError, 'message' | 'stage' | 'retryable' | 'code' | 'response' | 'unreached'>;

const PINNED: Record<string, Outcome> = {
  'connect timeout': {
    message: 'timed out during connect after 10 s: nothing answered the TCP connection (the host or the port may be wrong, or a firewall drops it)',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'connect-timeout',
      detail: 'CONNECT_TIMEOUT (10 s)',
    },
  },
  'connect timeout, no length': {
    message: 'timed out during connect: nothing answered the TCP connection (the host or the port may be wrong, or a firewall drops it)',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'connect-timeout',
      detail: 'CONNECT_TIMEOUT',
    },
  },
  'greeting timeout': {
    message: 'timed out after 30 s waiting for the SMTP greeting: the port accepted the connection but no SMTP server answered on it',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'greeting-timeout',
      detail: 'GREETING_TIMEOUT (30 s)',
    },
  },
  'greeting timeout, no length, after DATA': {
    message: 'timed out waiting for the SMTP greeting: the port accepted the connection but no SMTP server answered on it',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'greeting-timeout',
      detail: 'GREETING_TIMEOUT',
    },
  },
  'handshake timeout': {
    message:
      'timed out after 4 s waiting for the TLS handshake: the port accepted the connection but did not complete a TLS handshake (is it an implicit TLS port, such as 465?)',
    stage: 'tls',
    retryable: true,
    unreached: {
      cause: 'handshake-timeout',
      detail: 'HANDSHAKE_TIMEOUT (4 s)',
    },
  },
  'handshake timeout, no length': {
    message:
      'timed out waiting for the TLS handshake: the port accepted the connection but did not complete a TLS handshake (is it an implicit TLS port, such as 465?)',
    stage: 'tls',
    retryable: true,
    unreached: {
      cause: 'handshake-timeout',
      detail: 'HANDSHAKE_TIMEOUT',
    },
  },
  'upgrade timeout': {
    message: 'timed out after 1.5 s waiting for the TLS handshake: the server agreed to STARTTLS, then did not complete a handshake',
    stage: 'tls',
    retryable: true,
    unreached: {
      cause: 'upgrade-timeout',
      detail: 'UPGRADE_TIMEOUT (1.5 s)',
    },
  },
  'upgrade timeout, no length': {
    message: 'timed out waiting for the TLS handshake: the server agreed to STARTTLS, then did not complete a handshake',
    stage: 'tls',
    retryable: true,
    unreached: {
      cause: 'upgrade-timeout',
      detail: 'UPGRADE_TIMEOUT',
    },
  },
  'reply timeout under MAIL FROM': {
    message: "timed out during sender after 30 s, waiting for the server's answer to MAIL FROM",
    stage: 'sender',
    retryable: true,
    unreached: {
      cause: 'reply-timeout',
      detail: 'MAIL FROM: REPLY_TIMEOUT (30 s)',
    },
  },
  'socket timeout under a command written loosely': {
    message: "timed out during recipient after 2 s, waiting for the server's answer to RCPT TO",
    stage: 'recipient',
    retryable: true,
    unreached: {
      cause: 'reply-timeout',
      detail: 'RCPT TO: SOCKET_TIMEOUT (2 s)',
    },
  },
  'socket timeout under AUTH': {
    message: "timed out during auth after 2 s, waiting for the server's answer to AUTH",
    stage: 'auth',
    retryable: true,
    unreached: {
      cause: 'reply-timeout',
      detail: 'AUTH: SOCKET_TIMEOUT (2 s)',
    },
  },
  'socket timeout under STARTTLS, before its reply': {
    message: "timed out during tls after 2 s, waiting for the server's answer to STARTTLS",
    stage: 'tls',
    retryable: true,
    unreached: {
      cause: 'reply-timeout',
      detail: 'STARTTLS: SOCKET_TIMEOUT (2 s)',
    },
  },
  'socket timeout under no command': {
    message: 'timed out during connect after 2 s',
    stage: 'connect',
    retryable: true,
  },
  'ETIMEDOUT without a type, under DATA': {
    message: "timed out during data after 5 s, waiting for the server's answer to DATA",
    stage: 'data',
    retryable: true,
    unreached: {
      cause: 'reply-timeout',
      detail: 'DATA: ETIMEDOUT (5 s)',
    },
  },
  'ETIMEDOUT without a type or length, under no command': {
    message: 'timed out during connect',
    stage: 'connect',
    retryable: true,
  },
  'DNS: no such name': {
    message: 'could not resolve the SMTP host "smtp.exmaple.com" (ENOTFOUND): DNS knows no such name, likely permanent: check its spelling',
    stage: 'connect',
    retryable: false,
    unreached: {
      cause: 'dns-unknown',
      detail: 'getaddrinfo ENOTFOUND smtp.exmaple.com',
    },
  },
  'DNS: try again': {
    message: 'could not resolve the SMTP host "smtp.example.com" (EAI_AGAIN): the DNS lookup failed for now, likely transient: trying again later may work',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'dns-temporary',
      detail: 'getaddrinfo EAI_AGAIN smtp.example.com',
    },
  },
  'DNS: server failure, no host named': {
    message: 'could not resolve the SMTP host (ESERVFAIL): the DNS lookup failed for now, likely transient: trying again later may work',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'dns-temporary',
      detail: 'queryA ESERVFAIL',
    },
  },
  'DNS: an internationalized name': {
    message: 'could not resolve the SMTP host "smtp.bücher.example" (ENOTFOUND): DNS knows no such name, likely permanent: check its spelling',
    stage: 'connect',
    retryable: false,
    unreached: {
      cause: 'dns-unknown',
      detail: 'getaddrinfo ENOTFOUND smtp.xn--bcher-kva.example',
    },
  },
  'DNS: a punycode name that does not decode': {
    message: 'could not resolve the SMTP host "xn--zz" (ENOTFOUND): DNS knows no such name, likely permanent: check its spelling',
    stage: 'connect',
    retryable: false,
    unreached: {
      cause: 'dns-unknown',
      detail: 'ENOTFOUND xn--zz',
    },
  },
  'DNS: no data, no host, no message': {
    message: 'could not resolve the SMTP host (ENODATA): DNS knows no such name, likely permanent: check its spelling',
    stage: 'connect',
    retryable: false,
    unreached: {
      cause: 'dns-unknown',
      detail: 'ENODATA',
    },
  },
  'DNS: no code at all': {
    message: 'could not resolve the SMTP host "smtp.example.com" (DNS error): DNS knows no such name, likely permanent: check its spelling',
    stage: 'connect',
    retryable: false,
    unreached: {
      cause: 'dns-unknown',
      detail: 'DNS error smtp.example.com',
    },
  },
  'DNS: no answer in time, with a length': {
    message:
      'could not resolve the SMTP host "smtp.example.com" (no answer within 7.5 s): the DNS lookup failed for now, likely transient: trying again later may work',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'dns-temporary',
      detail: 'ETIMEOUT smtp.example.com (7.5 s)',
    },
  },
  'DNS: no answer in time, no length': {
    message: 'could not resolve the SMTP host "smtp.example.com" (ETIMEOUT): the DNS lookup failed for now, likely transient: trying again later may work',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'dns-temporary',
      detail: 'queryA ETIMEOUT smtp.example.com',
    },
  },
  'DNS: resolver refused': {
    message: 'could not resolve the SMTP host "smtp.example.com" (ECONNREFUSED): the DNS lookup failed for now, likely transient: trying again later may work',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'dns-temporary',
      detail: 'getaddrinfo ECONNREFUSED smtp.example.com',
    },
  },
  'connection refused': {
    message:
      'connect ECONNREFUSED 127.0.0.1:2526: the server refused the connection, so nothing takes connections on this host and port: check the host and the port (usually 587 with STARTTLS, 465 with implicit TLS), and that no firewall refuses them',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'refused',
      detail: 'connect ECONNREFUSED 127.0.0.1:2526',
    },
  },
  'connection refused, no message': {
    message:
      'ECONNREFUSED: the server refused the connection, so nothing takes connections on this host and port: check the host and the port (usually 587 with STARTTLS, 465 with implicit TLS), and that no firewall refuses them',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'refused',
      detail: 'ECONNREFUSED',
    },
  },
  'host unreachable': {
    message:
      "connect EHOSTUNREACH 2001:db8::25:587: Tocsin's machine has no route to this address: check the host, and this machine's network (an IPv6 address from a machine without IPv6, or a firewall)",
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'no-route',
      detail: 'connect EHOSTUNREACH 2001:db8::25:587',
    },
  },
  'network unreachable': {
    message:
      "connect ENETUNREACH 2001:db8::25:587: Tocsin's machine has no route to this address: check the host, and this machine's network (an IPv6 address from a machine without IPv6, or a firewall)",
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'no-route',
      detail: 'connect ENETUNREACH 2001:db8::25:587',
    },
  },
  "the system's own connect timeout": {
    message: 'connect ETIMEDOUT 192.0.2.7:587: nothing answered the TCP connection (the host or the port may be wrong, or a firewall drops it)',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'connect-timeout',
      detail: 'connect ETIMEDOUT 192.0.2.7:587',
    },
  },
  'a read that timed out on an open connection': {
    message: 'read ETIMEDOUT',
    stage: 'sender',
    retryable: true,
  },
  'a socket error of another kind': {
    message: 'connect ECONNABORTED 192.0.2.7:587',
    stage: 'connect',
    retryable: true,
  },
  'certificate: self-signed': {
    message: "the server's certificate did not verify (DEPTH_ZERO_SELF_SIGNED_CERT): self-signed certificate",
    stage: 'tls',
    retryable: false,
    unreached: {
      cause: 'certificate',
      detail: 'DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate',
    },
  },
  'certificate: self-signed, after STARTTLS': {
    message: "the server's certificate did not verify (DEPTH_ZERO_SELF_SIGNED_CERT): self-signed certificate",
    stage: 'tls',
    retryable: false,
    unreached: {
      cause: 'certificate',
      detail: 'DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate',
    },
  },
  'certificate: wrong name, its code as the code': {
    message: "the server's certificate did not verify (ERR_TLS_CERT_ALTNAME_INVALID): Hostname/IP does not match certificate's altnames",
    stage: 'tls',
    retryable: false,
    unreached: {
      cause: 'certificate',
      detail: "ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames",
    },
  },
  'certificate: expired, no message': {
    message: "the server's certificate did not verify (CERT_HAS_EXPIRED):",
    stage: 'tls',
    retryable: false,
    unreached: {
      cause: 'certificate',
      detail: 'CERT_HAS_EXPIRED',
    },
  },
  'certificate: expired, with a 4xx on the error': {
    message: "the server's certificate did not verify (CERT_HAS_EXPIRED): certificate has expired",
    stage: 'tls',
    retryable: true,
    code: 421,
    response: '421 go away',
    unreached: {
      cause: 'certificate',
      detail: 'CERT_HAS_EXPIRED: certificate has expired',
    },
  },
  'plain server on an implicit TLS port': {
    message:
      'the server does not speak TLS from the first byte on this port (ERR_SSL_WRONG_VERSION_NUMBER): it expects STARTTLS or no TLS, not implicit TLS (usually port 587 with STARTTLS, port 465 with implicit TLS)',
    stage: 'tls',
    retryable: false,
    unreached: {
      cause: 'plain-server',
      detail: 'ERR_SSL_WRONG_VERSION_NUMBER',
    },
  },
  'plain server on an implicit TLS port, packet too long': {
    message:
      'the server does not speak TLS from the first byte on this port (ERR_SSL_PACKET_LENGTH_TOO_LONG): it expects STARTTLS or no TLS, not implicit TLS (usually port 587 with STARTTLS, port 465 with implicit TLS)',
    stage: 'tls',
    retryable: false,
    unreached: {
      cause: 'plain-server',
      detail: 'ERR_SSL_PACKET_LENGTH_TOO_LONG',
    },
  },
  'plain answer after an accepted STARTTLS': {
    message: 'the TLS handshake failed: the server agreed to start TLS, then did not speak TLS',
    stage: 'tls',
    retryable: false,
    unreached: {
      cause: 'starttls-not-tls',
      detail: 'ERR_SSL_WRONG_VERSION_NUMBER',
    },
  },
  'old TLS': {
    message: 'the server offers no TLS version Tocsin accepts (ERR_SSL_UNSUPPORTED_PROTOCOL): Tocsin requires TLS 1.2 or later',
    stage: 'tls',
    retryable: false,
    unreached: {
      cause: 'old-tls',
      detail: 'ERR_SSL_UNSUPPORTED_PROTOCOL',
    },
  },
  'old TLS, after STARTTLS': {
    message: 'the server offers no TLS version Tocsin accepts (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION): Tocsin requires TLS 1.2 or later',
    stage: 'tls',
    retryable: false,
    unreached: {
      cause: 'old-tls',
      detail: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    },
  },
  'hang-up in an implicit TLS handshake': {
    message:
      'the server closed the connection during the TLS handshake: it may not speak TLS from the first byte on this port, or refuse TLS 1.2 and later, which Tocsin requires',
    stage: 'tls',
    retryable: true,
    unreached: {
      cause: 'tls-hang-up',
      detail: 'Client network socket disconnected before secure TLS connection was established',
    },
  },
  'hang-up in the handshake after STARTTLS': {
    message: 'the server closed the connection during the TLS handshake it had agreed to start',
    stage: 'tls',
    retryable: true,
    unreached: {
      cause: 'starttls-hang-up',
      detail: 'Client network socket disconnected before secure TLS connection was established',
    },
  },
  'close while upgrading after STARTTLS (nodemailer ETLS)': {
    message: 'Connection closed unexpectedly',
    stage: 'tls',
    retryable: false,
  },
  'STARTTLS refused': {
    message: 'the server did not upgrade to TLS (STARTTLS is required): 454 4.7.0 TLS not available',
    stage: 'tls',
    retryable: true,
    code: 454,
    response: '454 4.7.0 TLS not available',
  },
  'STARTTLS unknown': {
    message: 'the server did not upgrade to TLS (STARTTLS is required): 500 5.5.1 Error: command not recognized',
    stage: 'tls',
    retryable: false,
    code: 500,
    response: '500 5.5.1 Error: command not recognized',
  },
  'STARTTLS failed without a reply': {
    message: 'the server did not upgrade to TLS (STARTTLS is required)',
    stage: 'tls',
    retryable: false,
  },
  'STARTTLS required, not offered': {
    message: 'Secure connection required but STARTTLS not supported',
    stage: 'tls',
    retryable: false,
    code: 250,
    response: '250 SIZE 1000',
  },
  'REQUIRETLS not supported': {
    message: 'Server does not support REQUIRETLS extension (RFC 8689)',
    stage: 'tls',
    retryable: false,
  },
  'EHLO unknown (502) under STARTTLS required': {
    message:
      'the server does not know EHLO (an SMTP server without extensions), so it cannot offer STARTTLS, which these settings require: 502 5.5.2 Error: command not recognized',
    stage: 'tls',
    retryable: false,
    code: 502,
    response: '502 5.5.2 Error: command not recognized',
  },
  'EHLO unknown (500) under STARTTLS required': {
    message: 'the server does not know EHLO (an SMTP server without extensions), so it cannot offer STARTTLS, which these settings require: 500 unrecognized',
    stage: 'tls',
    retryable: false,
    code: 500,
    response: '500 unrecognized',
  },
  'EHLO name refused under STARTTLS required': {
    message: 'the server refused EHLO: 550 5.7.1 bad name',
    stage: 'connect',
    retryable: false,
    code: 550,
    response: '550 5.7.1 bad name',
  },
  'EHLO refused under STARTTLS required, no reply kept': {
    message: 'EHLO failed but HELO does not support required STARTTLS. response=',
    stage: 'connect',
    retryable: true,
  },
  'EHLO answered 421': {
    message: 'Server terminates connection: 421 4.3.2 shutting down',
    stage: 'connect',
    retryable: true,
    code: 421,
    response: '421 4.3.2 shutting down',
  },
  '530 STARTTLS first, at MAIL FROM': {
    message:
      'the server asks for encryption first, and these settings send without TLS: choose security "starttls" (the Enable SSL box), usually with port 587, or "tls" with port 465: 530 5.7.0 Must issue a STARTTLS command first.',
    stage: 'tls',
    retryable: false,
    code: 530,
    response: '530 5.7.0 Must issue a STARTTLS command first.',
  },
  '530 STARTTLS first, sign-in skipped': {
    message:
      'the server asks for encryption first, and these settings send without TLS: choose security "starttls" (the Enable SSL box), usually with port 587, or "tls" with port 465: 530 5.7.0 Must issue a STARTTLS command first.',
    stage: 'tls',
    retryable: false,
    code: 530,
    response: '530 5.7.0 Must issue a STARTTLS command first.',
  },
  '538 encryption required for AUTH': {
    message:
      'the server asks for encryption first, and these settings send without TLS: choose security "starttls" (the Enable SSL box), usually with port 587, or "tls" with port 465: 538 5.7.11 Encryption required for requested authentication mechanism',
    stage: 'tls',
    retryable: false,
    code: 538,
    response: '538 5.7.11 Encryption required for requested authentication mechanism',
  },
  '538 without a reply text': {
    message: 'Invalid login',
    stage: 'tls',
    retryable: false,
    code: 538,
  },
  '530 sign-in required': {
    message: 'Mail command failed: 530 5.7.0 Authentication required',
    stage: 'auth',
    retryable: false,
    code: 530,
    response: '530 5.7.0 Authentication required',
  },
  '530 sign-in required, the sign-in skipped': {
    message:
      'the server offered no sign-in (AUTH) on this connection, so the user name and password were not sent, and it refused the mail without one: give the host and port of the mail submission service (usually port 587 with STARTTLS), which offers AUTH: 530 5.7.0 Authentication required',
    stage: 'auth',
    retryable: false,
    code: 530,
    response: '530 5.7.0 Authentication required',
  },
  'relaying denied, the sign-in skipped': {
    message:
      'the server offered no sign-in (AUTH) on this connection, so the user name and password were not sent, and it refused the mail without one: give the host and port of the mail submission service (usually port 587 with STARTTLS), which offers AUTH: 554 5.7.1 <a@example.org>: Relay access denied',
    stage: 'recipient',
    retryable: false,
    code: 554,
    response: '554 5.7.1 <a@example.org>: Relay access denied',
  },
  'relaying denied, signed in': {
    message: 'Recipient command failed: 554 5.7.1 <a@example.org>: Relay access denied',
    stage: 'recipient',
    retryable: false,
    code: 554,
    response: '554 5.7.1 <a@example.org>: Relay access denied',
  },
  'no such user, the sign-in skipped': {
    message: 'Recipient command failed: 550 5.1.1 no such user',
    stage: 'recipient',
    retryable: false,
    code: 550,
    response: '550 5.1.1 no such user',
  },
  '530 sign-in required, skipped, without a reply text': {
    message: 'Mail command failed',
    stage: 'auth',
    retryable: false,
    code: 530,
  },
  'only methods Tocsin cannot speak': {
    message:
      'the server offers only AUTH NTLM, GSSAPI, none of which Tocsin can sign in with (it speaks PLAIN, LOGIN, CRAM-MD5, XOAUTH2): allow one of those on the server: 504 5.7.4 Unrecognized authentication type',
    stage: 'auth',
    retryable: false,
    code: 504,
    response: '504 5.7.4 Unrecognized authentication type',
  },
  'a password where only XOAUTH2 is offered': {
    message:
      'the server offers only AUTH XOAUTH2, which signs in with an access token, not a password: choose the sign-in method xoauth2 and give an access token: 504 5.7.4 Unrecognized authentication type',
    stage: 'auth',
    retryable: false,
    code: 504,
    response: '504 5.7.4 Unrecognized authentication type',
  },
  'a password where XOAUTH2 and NTLM are offered': {
    message:
      'the server offers AUTH XOAUTH2, NTLM, of which Tocsin speaks only XOAUTH2, which signs in with an access token, not a password: choose the sign-in method xoauth2 and give an access token: 504 5.7.4 Unrecognized authentication type',
    stage: 'auth',
    retryable: false,
    code: 504,
    response: '504 5.7.4 Unrecognized authentication type',
  },
  'a token where XOAUTH2 is not offered': {
    message:
      'the server does not offer AUTH XOAUTH2 (it offers PLAIN, LOGIN), so the access token cannot sign in: give a password instead, with the sign-in method auto or one it offers: 504 5.7.4 Unrecognized authentication type',
    stage: 'auth',
    retryable: false,
    code: 504,
    response: '504 5.7.4 Unrecognized authentication type',
  },
  'a method not offered': {
    message:
      'the server does not offer AUTH LOGIN (it offers PLAIN, XOAUTH2, NTLM): choose the sign-in method auto, or one it offers: 504 5.7.4 Unrecognized authentication type',
    stage: 'auth',
    retryable: false,
    code: 504,
    response: '504 5.7.4 Unrecognized authentication type',
  },
  'a method not offered, written in lower case': {
    message:
      'the server does not offer AUTH CRAM-MD5 (it offers PLAIN): choose the sign-in method auto, or one it offers: 504 5.7.4 Unrecognized authentication type',
    stage: 'auth',
    retryable: false,
    code: 504,
    response: '504 5.7.4 Unrecognized authentication type',
  },
  'a password refused for an offered method': {
    message: 'Invalid login: 535 5.7.8 Username and Password not accepted',
    stage: 'auth',
    retryable: false,
    code: 535,
    response: '535 5.7.8 Username and Password not accepted',
  },
  'a method refused, nothing offered known': {
    message: 'Invalid login: 504 5.7.4 Unrecognized authentication type',
    stage: 'auth',
    retryable: false,
    code: 504,
    response: '504 5.7.4 Unrecognized authentication type',
  },
  'credentials missing': {
    message: 'Missing credentials for "PLAIN"',
    stage: 'auth',
    retryable: false,
  },
  'a sign-in refused without a reply, methods offered': {
    message: 'Invalid login',
    stage: 'auth',
    retryable: false,
  },
  'token refused, status and scope': {
    message:
      'the server refused the access token (XOAUTH2), status 401, scope https://mail.google.com/: it may have expired, or not allow sending mail: 535 5.7.8 Username and Password not accepted',
    stage: 'auth',
    retryable: false,
    code: 535,
    response: '535 5.7.8 Username and Password not accepted',
  },
  'token refused, a numeric status alone': {
    message: 'the server refused the access token (XOAUTH2), status 400: it may have expired, or not allow sending mail: 535 5.7.3 Authentication unsuccessful',
    stage: 'auth',
    retryable: false,
    code: 535,
    response: '535 5.7.3 Authentication unsuccessful',
  },
  'token refused, a challenge saying neither': {
    message: 'the server refused the access token (XOAUTH2): it may have expired, or not allow sending mail: 535 5.7.3 Authentication unsuccessful',
    stage: 'auth',
    retryable: false,
    code: 535,
    response: '535 5.7.3 Authentication unsuccessful',
  },
  'token refused, a challenge not JSON': {
    message: 'the server refused the access token (XOAUTH2): it may have expired, or not allow sending mail: 535 5.7.3 Authentication unsuccessful',
    stage: 'auth',
    retryable: false,
    code: 535,
    response: '535 5.7.3 Authentication unsuccessful',
  },
  'token refused, no challenge': {
    message: 'the server refused the access token (XOAUTH2): it may have expired, or not allow sending mail: 535 5.7.3 Authentication unsuccessful',
    stage: 'auth',
    retryable: false,
    code: 535,
    response: '535 5.7.3 Authentication unsuccessful',
  },
  'token refused, a challenge of JSON null': {
    message: 'the server refused the access token (XOAUTH2): it may have expired, or not allow sending mail: 535 5.7.3 Authentication unsuccessful',
    stage: 'auth',
    retryable: false,
    code: 535,
    response: '535 5.7.3 Authentication unsuccessful',
  },
  'token not made (nodemailer EAUTH without a reply)': {
    message: 'Token request failed',
    stage: 'auth',
    retryable: false,
  },
  'OAuth2 configuration refused': {
    message: 'Can not create access token',
    stage: 'auth',
    retryable: false,
  },
  'CRAM-MD5 answer refused': {
    message: 'Invalid login: 535 5.7.8 Authentication credentials invalid',
    stage: 'auth',
    retryable: false,
    code: 535,
    response: '535 5.7.8 Authentication credentials invalid',
  },
  'LOGIN user name refused': {
    message: 'Invalid login: 535 5.7.8 Authentication credentials invalid',
    stage: 'auth',
    retryable: false,
    code: 535,
    response: '535 5.7.8 Authentication credentials invalid',
  },
  'CRAM-MD5 challenge refused': {
    message: 'Invalid login: 454 4.7.0 Temporary authentication failure',
    stage: 'auth',
    retryable: true,
    code: 454,
    response: '454 4.7.0 Temporary authentication failure',
  },
  'closed before the greeting': {
    message: 'the server closed the connection before its SMTP greeting, without a word',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'closed-before-greeting',
      detail: 'Connection closed unexpectedly',
    },
  },
  'reset before the greeting': {
    message: 'the server closed the connection abruptly (ECONNRESET) before its SMTP greeting, without a word',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'closed-before-greeting',
      detail: 'read ECONNRESET',
    },
  },
  'closed under MAIL FROM': {
    message: 'the server closed the connection without answering MAIL FROM',
    stage: 'sender',
    retryable: true,
    unreached: {
      cause: 'closed-unanswered',
      detail: 'MAIL FROM: Connection closed unexpectedly',
    },
  },
  'closed under EHLO': {
    message: 'the server closed the connection without answering EHLO',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'closed-unanswered',
      detail: 'EHLO: Connection closed unexpectedly',
    },
  },
  'closed by this side under AUTH (session.ts)': {
    message: 'the server closed the connection without answering AUTH',
    stage: 'auth',
    retryable: true,
    unreached: {
      cause: 'closed-unanswered',
      detail: 'AUTH: Connection closed',
    },
  },
  'closed under RSET, in lower case': {
    message: 'the server closed the connection without answering RSET',
    stage: 'connect',
    retryable: true,
    unreached: {
      cause: 'closed-unanswered',
      detail: 'RSET: connection closed',
    },
  },
  'closed under DATA': {
    message: 'the server closed the connection during DATA, without accepting the message',
    stage: 'data',
    retryable: true,
    unreached: {
      cause: 'closed-unanswered',
      detail: 'DATA: Connection closed unexpectedly',
    },
  },
  'broken pipe under DATA': {
    message: 'the server closed the connection abruptly (EPIPE) during DATA, without accepting the message',
    stage: 'data',
    retryable: true,
    unreached: {
      cause: 'closed-unanswered',
      detail: 'DATA: write EPIPE',
    },
  },
  'reset under RCPT TO': {
    message: 'the server closed the connection abruptly (ECONNRESET) without answering RCPT TO',
    stage: 'recipient',
    retryable: true,
    unreached: {
      cause: 'closed-unanswered',
      detail: 'RCPT TO: read ECONNRESET',
    },
  },
  'closed under STARTTLS': {
    message: 'the server closed the connection while starting TLS',
    stage: 'tls',
    retryable: true,
    unreached: {
      cause: 'starttls-hang-up',
      detail: 'STARTTLS: Connection closed unexpectedly',
    },
  },
  'broken pipe under STARTTLS': {
    message: 'the server closed the connection abruptly (EPIPE) while starting TLS',
    stage: 'tls',
    retryable: true,
    unreached: {
      cause: 'starttls-hang-up',
      detail: 'STARTTLS: write EPIPE',
    },
  },
  'closed with an unfinished reply, under no command': {
    message: 'the server refused the connection and closed it: 421 4.7.0 Too many errors',
    stage: 'connect',
    retryable: true,
    code: 421,
    response: '421 4.7.0 Too many errors',
  },
  'closed with an unfinished reply, under RCPT TO': {
    message: 'the server closed the connection under RCPT TO, replying: 550 5.7.1 go away',
    stage: 'recipient',
    retryable: false,
    code: 550,
    response: '550 5.7.1 go away',
  },
  'closed with an unfinished reply, under DATA': {
    message: 'the server closed the connection during DATA, replying: 451 4.3.0 local error',
    stage: 'data',
    retryable: true,
    code: 451,
    response: '451 4.3.0 local error',
  },
  'closed with a reply of spaces': {
    message: 'the server closed the connection without answering MAIL FROM',
    stage: 'sender',
    retryable: true,
    response: '',
    unreached: {
      cause: 'closed-unanswered',
      detail: 'MAIL FROM: Connection closed unexpectedly',
    },
  },
  'reset with a reply': {
    message: 'the server closed the connection abruptly (ECONNRESET) under MAIL FROM, replying: 421 4.4.2 timeout',
    stage: 'sender',
    retryable: true,
    response: '421 4.4.2 timeout',
  },
  'the server closing under a send (421)': {
    message: 'Server closed the connection: 421 4.7.0 closing',
    stage: 'sender',
    retryable: true,
    code: 421,
    response: '421 4.7.0 closing',
  },
  'greeting refused (554)': {
    message: 'Invalid greeting: 554-mx.example.com\n554 5.7.1 Access denied: your IP is blocklisted',
    stage: 'connect',
    retryable: false,
    code: 554,
    response: '554-mx.example.com\n554 5.7.1 Access denied: your IP is blocklisted',
  },
  'greeting busy (421)': {
    message: 'Invalid greeting: 421 busy',
    stage: 'connect',
    retryable: true,
    code: 421,
    response: '421 busy',
  },
  'sender refused (451)': {
    message: 'Mail command failed: 451 4.3.0 try later',
    stage: 'sender',
    retryable: true,
    code: 451,
    response: '451 4.3.0 try later',
  },
  'recipient refused (550)': {
    message: "Can't send mail - all recipients were rejected: 550 5.1.1 no such user",
    stage: 'recipient',
    retryable: false,
    code: 550,
    response: '550 5.1.1 no such user',
  },
  'message refused (554)': {
    message: 'Message failed: 554 5.7.1 spam',
    stage: 'data',
    retryable: false,
    code: 554,
    response: '554 5.7.1 spam',
  },
  'DATA refused (503)': {
    message: 'Data command failed: 503 5.5.1 no valid recipients',
    stage: 'data',
    retryable: false,
    code: 503,
    response: '503 5.5.1 no valid recipients',
  },
  'message too large before sending': {
    message: 'Message size larger than allowed 1000',
    stage: 'sender',
    retryable: false,
  },
  'no recipients': {
    message: 'No recipients defined',
    stage: 'connect',
    retryable: false,
  },
  'a reply code out of range': {
    message: 'odd reply: 600 what',
    stage: 'data',
    retryable: true,
    code: 600,
    response: '600 what',
  },
  'a socket error without a code or words': {
    message: 'SMTP error',
    stage: 'connect',
    retryable: true,
  },
  'a connection error without words': {
    message: 'SMTP error',
    stage: 'connect',
    retryable: true,
  },
  'a sign-in refused without words': {
    message: 'SMTP error',
    stage: 'auth',
    retryable: false,
    code: 535,
    response: '535 5.7.8 no',
  },
  'a configuration error': {
    message: 'Unsupported security mode',
    stage: 'connect',
    retryable: false,
  },
  'no sign-in method': {
    message: 'Authentication info was not provided',
    stage: 'auth',
    retryable: false,
  },
  'a file not readable': {
    message: 'File access rejected',
    stage: 'connect',
    retryable: false,
  },
  'a plain Error': {
    message: 'boom',
    stage: 'connect',
    retryable: true,
  },
  'an Error without words': {
    message: 'SMTP error',
    stage: 'connect',
    retryable: true,
  },
  'a string': {
    message: 'boom',
    stage: 'connect',
    retryable: true,
  },
  'a number': {
    message: '42',
    stage: 'connect',
    retryable: true,
  },
  null: {
    message: 'null',
    stage: 'connect',
    retryable: true,
  },
  undefined: {
    message: 'undefined',
    stage: 'connect',
    retryable: true,
  },
  'an empty object': {
    message: 'SMTP error',
    stage: 'connect',
    retryable: true,
  },
};

const LOOKUP_TIMED_OUT: Outcome = {
  message:
    'could not resolve the SMTP host "smtp.bücher.example" (no answer within 30 s): the DNS lookup failed for now, likely transient: trying again later may work',
  stage: 'connect',
  retryable: true,
  unreached: { cause: 'dns-temporary', detail: 'ETIMEOUT smtp.bücher.example (30 s)' },
};

const outcome = (e: SmtpDeliveryError): Outcome => ({
  message: e.message,
  stage: e.stage,
  retryable: e.retryable,
  ...(e.code === undefined ? {} : { code: e.code }),
  ...(e.response === undefined ? {} : { response: e.response }),
  ...(e.unreached === undefined ? {} : { unreached: e.unreached }),
});

describe('classifySmtpError, every error shape pinned', () => {
  it('has an outcome pinned for each case, and a case for each outcome', () => {
    expect(Object.keys(PINNED)).toEqual(Object.keys(CASES));
  });

  it.each(Object.keys(CASES))('%s', (name) => {
    const { error, lastCommand } = CASES[name]!;
    expect(outcome(classifySmtpError(error, lastCommand))).toStrictEqual(PINNED[name]);
  });

  it("lookupTimedOut words endpoint.ts's lookup that got no answer as any DNS failure", () => {
    expect(outcome(lookupTimedOut('smtp.xn--bcher-kva.example', 30_000))).toStrictEqual(LOOKUP_TIMED_OUT);
  });
});
