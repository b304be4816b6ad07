import crypto from 'node:crypto';
import type { EmailKind } from '../../delivery/contract.js';
import { ADDRESS_TAG_BYTES, addressTag, decodeTokenBytes, openToken, sealToken } from '../../shared/sealed-token.js';

/** UnsubscribeTarget is what a one-click link turns off: one kind of email for one recipient. */
export interface UnsubscribeTarget {
  readonly tenantId: string;
  readonly recipient: { readonly type: 'user' | 'group'; readonly id: string; readonly address: string };
  readonly kind: Exclude<EmailKind, 'test'>;
}

/**
 * SealedTarget is what a token names: the target itself in the links sealed before v4, which carry
 * the address; in a v4 link, only the addressTag of the address, whose recipient's row says the rest.
 */
export type SealedTarget =
  | UnsubscribeTarget
  | (Omit<UnsubscribeTarget, 'recipient'> & { readonly recipient: { readonly type: 'user' | 'group'; readonly id: string; readonly addressTag: Buffer } });

/** UNSUBSCRIBE_LINK_TTL_MS is how long a link works after its email was written: longer than anyone keeps a report unread. */
export const UNSUBSCRIBE_LINK_TTL_MS = 90 * 24 * 3_600_000;

const KINDS = ['summary', 'daily', 'immediate', 'mail-health'] as const;
const TYPES = ['user', 'group'] as const;
const SEPARATOR = '\n';
const AAD = Buffer.from('tocsin-unsubscribe-v4');
// The links of emails sent before v4, which carried the whole address: up to 254 characters of three
// bytes each made a token past the router's 500 (a 414) and a List-Unsubscribe line past SMTP's 998.
// They expire 90 days after their email, and this goes with the last of them.
const V3_AAD = Buffer.from('tocsin-unsubscribe-v3');
// The sealed links of emails sent before v3 (see openV2).
const V2_AAD = Buffer.from('tocsin-unsubscribe-v2');
const V2_IV_BYTES = 12;
const V2_TAG_BYTES = 16;

// Derived once per link key: HKDF on every email cost more than the encryption itself.
const sealingKeys = new WeakMap<Buffer, Buffer>();

// The installation's link key signs the old links; the new ones are encrypted with a key derived from it.
function sealingKey(key: Buffer): Buffer {
  let derived = sealingKeys.get(key);
  if (!derived) {
    derived = Buffer.from(crypto.hkdfSync('sha256', key, Buffer.alloc(0), 'tocsin-unsubscribe-seal', 32));
    sealingKeys.set(key, derived);
  }
  return derived;
}

function targetOf(fields: string[]): UnsubscribeTarget | undefined {
  const [kind, type, tenantId, id, address, more] = fields;
  if (more !== undefined || !tenantId || !id || !address) return undefined;
  if (!(KINDS as readonly string[]).includes(kind ?? '') || !(TYPES as readonly string[]).includes(type ?? '')) return undefined;
  return { tenantId, kind: kind as UnsubscribeTarget['kind'], recipient: { type: type as 'user' | 'group', id, address } };
}

/**
 * sealUnsubscribeToken encrypts and authenticates a target and its expiry (a sealed token, see
 * sealToken), so the link needs no login and no stored state, shows no address or id to whoever
 * sees the URL, and cannot be altered to unsubscribe someone else. It carries the addressTag of
 * the address, not the address, so every link is as short as any other (at most 190 characters).
 */
export function sealUnsubscribeToken(key: Buffer, target: UnsubscribeTarget, expiresAt: number): string {
  const { kind, tenantId, recipient } = target;
  const tag = addressTag(recipient.address).toString('base64url');
  const plain = [String(expiresAt), kind, recipient.type, tenantId, recipient.id, tag].join(SEPARATOR);
  return sealToken(sealingKey(key), AAD, Buffer.from(plain, 'utf8'));
}

/**
 * openV2 reads the sealed links written before the tokens of email links shared one module (nonce,
 * ciphertext, then tag, under their own additional data). They carry their expiry (90 days after
 * their email), so this goes once the last of them has expired.
 */
function openV2(key: Buffer, token: string): Buffer | undefined {
  const bytes = decodeTokenBytes(token);
  if (!bytes || bytes.length <= V2_IV_BYTES + V2_TAG_BYTES) return undefined;
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', sealingKey(key), bytes.subarray(0, V2_IV_BYTES)).setAAD(V2_AAD);
    decipher.setAuthTag(bytes.subarray(bytes.length - V2_TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(V2_IV_BYTES, bytes.length - V2_TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/**
 * openUnsubscribeToken returns what a genuine token (of any sealed layout) that has not expired at
 * `now` names, or undefined; a v4 token's address is to be checked against its recipient's row.
 */
export function openUnsubscribeToken(key: Buffer, token: string, now: number): SealedTarget | undefined {
  const v4 = openToken(sealingKey(key), AAD, token);
  const payload = v4 ?? openToken(sealingKey(key), V3_AAD, token) ?? openV2(key, token);
  if (!payload) return undefined;
  const [expiresAt, ...fields] = payload.toString('utf8').split(SEPARATOR);
  if (!(Number(expiresAt) > now)) return undefined;
  const target = targetOf(fields);
  if (!v4 || !target) return target;
  const tag = Buffer.from(target.recipient.address, 'base64url');
  if (tag.length !== ADDRESS_TAG_BYTES) return undefined;
  return { ...target, recipient: { type: target.recipient.type, id: target.recipient.id, addressTag: tag } };
}

function legacyMac(key: Buffer, payload: string): string {
  return crypto.createHmac('sha256', key).update(`tocsin-unsubscribe:${payload}`).digest('base64url');
}

/**
 * verifyLegacyUnsubscribeToken reads the links of emails sent before tokens were opaque (a
 * readable payload `.` its HMAC, no expiry of their own); the caller accepts them only until the
 * date set when the installation was upgraded.
 */
export function verifyLegacyUnsubscribeToken(key: Buffer, token: string): UnsubscribeTarget | undefined {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) return undefined;
  const expected = Buffer.from(legacyMac(key, payload));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return undefined;
  return targetOf(Buffer.from(payload, 'base64url').toString('utf8').split(SEPARATOR));
}
