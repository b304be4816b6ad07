import crypto from 'node:crypto';
import { pooledRandomBytes } from './ids.js';
import { emailKey } from './validation.js';

/**
 * Sealed tokens: what email links carry (action links, one-click unsubscribe) so that they need
 * no login and no stored state, show nothing readable, and cannot be altered. AES-256-GCM under a
 * 32-byte key of the link's own (SecretBox.deriveKey, or one derived from the link key), bound to
 * its purpose by the additional data, written as base64url of nonce (12 bytes), tag (16) and
 * ciphertext. The payload and its expiry are the caller's.
 */

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** ADDRESS_TAG_BYTES: six bytes of digest, one in 2^48 that another address matches by chance, and 8 characters per link. */
export const ADDRESS_TAG_BYTES = 6;

/**
 * addressTag is what an email link carries of its mailbox, so that it stops working once that
 * address is no longer its recipient's: a short digest of the mailbox as emailKey spells it (case
 * ignored, an international domain in Unicode or punycode alike), readable by no one (sealed), and
 * as short for the longest address as for any other.
 */
export function addressTag(address: string): Buffer {
  return digestOf(emailKey(address));
}

/**
 * isAddressTagOf tells whether a link's address tag is that of `address`'s mailbox: as addressTag
 * makes it, or as the links sealed before it digested the address (in lower case only), which
 * still open while they last, for the address they were sent to.
 */
export function isAddressTagOf(tag: Buffer, address: string): boolean {
  return tag.equals(addressTag(address)) || tag.equals(digestOf(address.toLowerCase()));
}

function digestOf(text: string): Buffer {
  return crypto.createHash('sha256').update(text).digest().subarray(0, ADDRESS_TAG_BYTES);
}

/** sealToken encrypts and authenticates a payload for one purpose. */
export function sealToken(key: Buffer, purpose: Buffer, payload: Buffer): string {
  const token = Buffer.allocUnsafe(IV_BYTES + TAG_BYTES + payload.length);
  // A call into the CSPRNG per nonce cost a third of sealing a link (an email has three or four).
  pooledRandomBytes(IV_BYTES).copy(token, 0);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, token.subarray(0, IV_BYTES)).setAAD(purpose);
  // GCM is a stream cipher: the ciphertext is as long as the payload, and final() adds nothing.
  cipher.update(payload).copy(token, IV_BYTES + TAG_BYTES);
  cipher.final();
  cipher.getAuthTag().copy(token, IV_BYTES);
  return token.toString('base64url');
}

/**
 * decodeTokenBytes reads a token's base64url, or undefined unless it is exactly how those bytes
 * are written: Node's decoder ignores a trailing character and stray low bits, so without this a
 * link with a character added or changed at its end would still open (a tampered link must be refused).
 */
export function decodeTokenBytes(token: string): Buffer | undefined {
  if (!/^[\w-]+$/.test(token)) return undefined;
  const raw = Buffer.from(token, 'base64url');
  return raw.toString('base64url') === token ? raw : undefined;
}

/** openToken returns the payload of a genuine token of that key and purpose, else undefined (never throws). */
export function openToken(key: Buffer, purpose: Buffer, token: string): Buffer | undefined {
  const raw = decodeTokenBytes(token);
  if (!raw || raw.length <= IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES)).setAAD(purpose);
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}
