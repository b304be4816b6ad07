import { domainToASCII } from 'node:url';

/**
 * Message-IDs are made when an email is queued, before it is known which server and From address
 * will send it (the tenant's own, or the system default after a fallback). They are made with
 * MESSAGE_ID_DOMAIN as their right part, and the sender writes the domain of the From address in
 * its place (bindMessageIds), in the Message-ID and in the threading headers alike: RFC 5322 wants
 * a domain unique to the sender there, and spam filters score a bare word.
 */
export const MESSAGE_ID_DOMAIN = 'tocsin';

const UNBOUND = `@${MESSAGE_ID_DOMAIN}>`;
// A domain as a dot-atom allows it: letters, digits, hyphens, dots (punycode for an international one).
const DOMAIN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

/** newMessageId makes the stable Message-ID of a delivery row, e.g. `<0190…@tocsin>` until it is sent. */
export function newMessageId(id: string): string {
  return `<${id}${UNBOUND}`;
}

// The last From address's domain: a worker sends many emails in a row from one address.
let last: { readonly from: string; readonly domain: string } = { from: '', domain: MESSAGE_ID_DOMAIN };

/** messageIdDomain is the From address's domain in ASCII, lower case; MESSAGE_ID_DOMAIN for an address without one (a literal IP). */
function messageIdDomain(fromAddress: string): string {
  if (last.from === fromAddress) return last.domain;
  const at = fromAddress.lastIndexOf('@');
  const domain = at > 0 ? domainToASCII(fromAddress.slice(at + 1)).toLowerCase() : '';
  last = { from: fromAddress, domain: DOMAIN.test(domain) ? domain : MESSAGE_ID_DOMAIN };
  return last.domain;
}

/** bindMessageIds writes the From address's domain into every Message-ID of a header (Message-ID, In-Reply-To, References). */
export function bindMessageIds(value: string, fromAddress: string): string {
  return value.includes(UNBOUND) ? value.replaceAll(UNBOUND, `@${messageIdDomain(fromAddress)}>`) : value;
}

/** holdsUnboundMessageId says whether a header value holds a Message-ID that bindMessageIds completes. */
export function holdsUnboundMessageId(value: string): boolean {
  return value.includes(UNBOUND);
}
