import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import { domainToASCII } from 'node:url';
import type { SMTPConnectionAuth, SMTPConnectionOptions } from 'nodemailer/lib/smtp-connection';
import XOAuth2 from 'nodemailer/lib/xoauth2';
import { sha256 } from '../../shared/ids.js';
import type { KnownSecrets } from '../../shared/redact.js';
import { type SmtpEndpoint, SmtpDeliveryError, signsInWithToken } from '../contract.js';

/** POOL_SETTINGS are the settings of an endpoint that its pool of connections is for: another value, another pool. */
const POOL_SETTINGS: readonly (keyof SmtpEndpoint)[] = [
  'host',
  'port',
  'security',
  'domain',
  'username',
  'password',
  'authMethod',
  'accessToken',
  'fromAddress',
  'fromDisplayName',
  'timeoutMs',
  'allowPlaintextAuth',
  'connectAddress',
  'ca',
];

/** poolKey identifies an endpoint's settings (secrets included, hashed) so each gets its own pool of connections. */
export function poolKey(endpoint: SmtpEndpoint): string {
  return sha256(JSON.stringify(POOL_SETTINGS.map((field) => endpoint[field] ?? null)));
}

/** samePoolSettings tells whether two endpoints have the same poolKey, comparing the settings rather than hashing them. */
export function samePoolSettings(a: SmtpEndpoint, b: SmtpEndpoint): boolean {
  return POOL_SETTINGS.every((field) => (a[field] ?? null) === (b[field] ?? null));
}

/**
 * loginName is the user name sent to the server: `DOMAIN\username` when a domain is set, unless the
 * user name is typed qualified already (`CORP\robot`, or a principal name `robot@corp.example.com`),
 * which a second domain would only break.
 */
export function loginName(endpoint: SmtpEndpoint): string | undefined {
  if (!endpoint.username) return undefined;
  const qualified = /[\\@]/.test(endpoint.username);
  return endpoint.domain && !qualified ? `${endpoint.domain}\\${endpoint.username}` : endpoint.username;
}

/** endpointSecrets are what to mask in anything an endpoint's server said: its password or token, and the login name their AUTH blobs carry. */
export function endpointSecrets(endpoint: SmtpEndpoint): KnownSecrets {
  return { username: loginName(endpoint), values: [endpoint.password, endpoint.accessToken] };
}

// Building a context from ~140 root certificates costs milliseconds; do it once per extra CA, not
// once per connection (a pool reconnects every maxMessages).
const contextsByCa = new Map<string, tls.SecureContext>();

function trustingContext(ca: string): tls.SecureContext {
  let context = contextsByCa.get(ca);
  if (!context) {
    context = tls.createSecureContext({ ca: [...tls.rootCertificates, ca], minVersion: 'TLSv1.2' });
    contextsByCa.set(ca, context);
  }
  return context;
}

function configError(message: string): SmtpDeliveryError {
  return new SmtpDeliveryError(message, 'auth', false);
}

/**
 * noPasswordError is the failure of a server that asks for a sign-in (offers AUTH) when a user name
 * but no password is set: nodemailer's own words were only 'Missing credentials for "PLAIN"'.
 */
export function noPasswordError(): SmtpDeliveryError {
  return configError(
    'the server asks for a sign-in (AUTH), but no password is set for the SMTP user name: type the password, or clear the user name if the server takes mail without a sign-in',
  );
}

/**
 * loginOf is what the session logs in with, or undefined to send without AUTH. Throws a
 * non-retryable SmtpDeliveryError for credentials that would cross the network without TLS or
 * are missing, before any connection is made.
 */
export function loginOf(endpoint: SmtpEndpoint): SMTPConnectionAuth | undefined {
  const user = loginName(endpoint);
  // Settings refuse this when saved; this also covers older saved settings and any other caller.
  if (endpoint.security === 'none' && endpoint.authMethod !== 'none' && user && !endpoint.allowPlaintextAuth) {
    throw configError('credentials are never sent without TLS: choose STARTTLS or TLS, or allow plaintext authentication explicitly');
  }
  switch (endpoint.authMethod) {
    case 'none':
      return undefined;
    case 'xoauth2':
      if (!user || !endpoint.accessToken) throw configError('XOAUTH2 needs a user name and an access token');
      return xoauth2Login(user, endpoint.accessToken);
    case 'plain':
    case 'login':
      if (!user || endpoint.password === undefined) throw configError(`AUTH ${endpoint.authMethod.toUpperCase()} needs a user name and a password`);
      return { user, credentials: { user, pass: endpoint.password }, method: endpoint.authMethod.toUpperCase() };
    case 'auto':
      // Without a user there is nothing to authenticate with: send unauthenticated (a relay by IP).
      if (!user) return undefined;
      // An access token and no password: the token is the one credential given, so XOAUTH2, not the
      // server's first method (PLAIN, as a rule), which would be tried with no password.
      if (signsInWithToken('auto', endpoint)) return xoauth2Login(user, endpoint.accessToken!);
      // Otherwise the first method the server offers.
      return { user, credentials: { user, pass: endpoint.password ?? '' } };
  }
}

function xoauth2Login(user: string, accessToken: string): SMTPConnectionAuth {
  const oauth2 = new XOAuth2({ user, accessToken });
  // A refused token fails the login's callback; the generator's own 'error' must not throw.
  oauth2.on('error', () => {});
  return { user, oauth2, method: 'XOAUTH2' };
}

/**
 * ehloName is the name Tocsin greets a server with (EHLO): this machine's host name when it is
 * fully qualified (not an IP address), as nodemailer sends it, else the domain of the From address (in ASCII).
 * nodemailer's own fallback for a short host name (a container's "3f2a1b9c0d4e", a VM's "vm") is
 * the address literal [127.0.0.1], which names no host a server could check: Google's smtp-relay
 * refuses it with "421 4.7.0 Try again later, closing connection. (EHLO)", a refusal that reads
 * as transient, so every email waited for retries until given up; Google asks for one of the
 * sender's domain names there.
 */
export function ehloName(endpoint: SmtpEndpoint, hostname: string = os.hostname()): string | undefined {
  // A host name that is an IP address is no name: RFC 5321 takes an address only bracketed.
  if (hostname.includes('.') && net.isIP(hostname) === 0) return hostname;
  const domain = domainToASCII(endpoint.fromAddress.slice(endpoint.fromAddress.lastIndexOf('@') + 1));
  return domain.includes('.') ? domain : undefined;
}

/**
 * connectionOptions maps an endpoint to nodemailer's SMTPConnection options. Certificates are
 * always verified (`ca` only adds a trusted CA); `starttls` is required, never opportunistic; the
 * connection may go to an already-checked address while TLS still verifies the host name.
 */
export function connectionOptions(endpoint: SmtpEndpoint): SMTPConnectionOptions {
  // SNI carries host names only (RFC 6066): an IP host is verified against the certificate's IP
  // addresses without one, and Node warns (DEP0123) at every IP it is given.
  const sni = net.isIP(endpoint.host) ? {} : { servername: endpoint.host };
  const name = ehloName(endpoint);
  return {
    host: endpoint.connectAddress ?? endpoint.host,
    port: endpoint.port,
    ...(name === undefined ? {} : { name }),
    secure: endpoint.security === 'tls',
    requireTLS: endpoint.security === 'starttls',
    // `none` means plain: no opportunistic upgrade whose certificate problems would surprise.
    ignoreTLS: endpoint.security === 'none',
    opportunisticTLS: false,
    ...sni,
    tls: {
      rejectUnauthorized: true,
      ...sni,
      minVersion: 'TLSv1.2',
      ...(endpoint.ca ? { secureContext: trustingContext(endpoint.ca) } : {}),
    },
    connectionTimeout: endpoint.timeoutMs,
    greetingTimeout: endpoint.timeoutMs,
    socketTimeout: endpoint.timeoutMs,
    dnsTimeout: endpoint.timeoutMs,
  };
}
