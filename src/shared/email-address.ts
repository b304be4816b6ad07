import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';

/**
 * What makes a text an email address, in a module that imports nothing but Node's own: the CLI
 * checks `tocsin test-mail --to` with it before it loads the command (src/cli/arguments.ts), and
 * validation.ts builds its schemas on it.
 */

/** HEADER_BREAKING: CR, LF and NUL end a header line; U+0085, U+2028 and U+2029 are line breaks to some parsers. */
export const HEADER_BREAKING = /[\r\n\0\u0085\u2028\u2029]/;

// Local part: RFC 5322 dot-atom, plus any non-ASCII character (RFC 6531, SMTPUTF8).
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+)*$/;
// Domain: labels of letters, digits and hyphens (any non-ASCII letter for IDNs), or an address literal.
const DOMAIN_LABEL = /^(?!-)[A-Za-z0-9\u0080-\uFFFF-]{1,63}(?<!-)$/;
const ADDRESS_LITERAL = /^\[(?:IPv6:(?<v6>[0-9A-Fa-f:.]+)|(?<v4>\d{1,3}(?:\.\d{1,3}){3}))\]$/;

/** isAddressLiteral tells whether a domain is an address literal holding an IP address ([192.0.2.1], [IPv6:2001:db8::1]), not digits shaped like one ([999.1.1.1]). */
function isAddressLiteral(domain: string): boolean {
  const literal = ADDRESS_LITERAL.exec(domain)?.groups;
  return !!literal && (literal.v4 !== undefined ? isIPv4(literal.v4) : isIPv6(literal.v6 ?? ''));
}
// Controls, format characters (zero-width, bidirectional overrides, soft hyphen) and spaces of any
// kind: unseen in an address, they made 'ana\u200b@example.com' a second user beside ana@example.com.
// Half a character (a lone surrogate, which a request's JSON gives as U+FFFD), U+FFFD itself and the
// noncharacters U+FFFE/U+FFFF are what is left of a garbled address: stored, no one had that mailbox.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Z}\p{Cs}\uFFFD\uFFFE\uFFFF]/u;

/**
 * IDEOGRAPHIC_DOTS are the full stops IDNA reads as a domain's dots (UTS #46): what a Japanese or
 * Chinese keyboard types for '.', so that ken@例え。jp was refused as a domain of one label.
 */
export const IDEOGRAPHIC_DOTS = /[\u3002\uff0e\uff61]/g;

/**
 * isEmailAddress accepts a mailbox as RFC 5321 allows it on the envelope (dot-atom local part, a
 * domain of at least two labels, `localhost` or an address literal), including internationalized
 * addresses. One-label domains are refused as the typo they usually are (`ops@example`), except
 * `localhost`, which the built-in default's From address (`tocsin@localhost`) and local MTAs use.
 * Invisible characters are refused: no one can type them, and a lookalike address is not a second one.
 */
export function isEmailAddress(value: string): boolean {
  if (value.length > 254 || HEADER_BREAKING.test(value) || INVISIBLE.test(value)) return false;
  const at = value.lastIndexOf('@');
  if (at < 1) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1).replace(IDEOGRAPHIC_DOTS, '.');
  if (local.length > 64 || !LOCAL_PART.test(local)) return false;
  if (domain.startsWith('[')) return isAddressLiteral(domain);
  const labels = domain.split('.');
  return (labels.length >= 2 || domain.toLowerCase() === 'localhost') && labels.every((label) => DOMAIN_LABEL.test(label)) && isDomainName(domain);
}

/**
 * isDomainName tells whether a domain is a name DNS can hold once written in punycode, as SMTP
 * without SMTPUTF8 and every lookup write it: a label of 63 letters with an accent is 70 of
 * punycode, and `xn--zz` is no punycode at all: either was stored, though no email can reach it.
 */
function isDomainName(domain: string): boolean {
  if (/^[A-Za-z0-9.-]*$/.test(domain) && !/(^|\.)xn--/i.test(domain)) return true;
  const ascii = domainToASCII(domain);
  return ascii !== '' && ascii.length <= 253 && ascii.split('.').every((label) => label.length <= 63);
}
