import crypto from 'node:crypto';

/**
 * Sealed tokens: what email links carry (action links, one-click unsubscribe) so that they need
 * no login and no stored state, show nothing readable, and cannot be altered. AES-256-GCM under a
 * 32-byte key of the link's own (SecretBox.deriveKey, or one derived from the link key), bound to
 * its purpose by the additional data, written as base64url of nonce (12 bytes), tag (16) and
 * ciphertext. The payload and its expiry are the caller's.
 */

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** sealToken encrypts and authenticates a payload for one purpose. */
export function sealToken(key: Buffer, purpose: Buffer, payload: Buffer): string {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv).setAAD(purpose);
  const body = Buffer.concat([cipher.update(payload), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** openToken returns the payload of a genuine token of that key and purpose, else undefined (never throws). */
export function openToken(key: Buffer, purpose: Buffer, token: string): Buffer | undefined {
  if (!/^[\w-]+$/.test(token)) return undefined;
  const raw = Buffer.from(token, 'base64url');
  if (raw.length <= IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES)).setAAD(purpose);
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}
