import crypto from 'node:crypto';
import type { EmailKind } from '../../delivery/contract.js';

/** UnsubscribeTarget is what a one-click link turns off: one kind of email for one recipient. */
export interface UnsubscribeTarget {
  readonly tenantId: string;
  readonly recipient: { readonly type: 'user' | 'group'; readonly id: string; readonly address: string };
  readonly kind: Exclude<EmailKind, 'test'>;
}

/** UNSUBSCRIBE_LINK_TTL_MS is how long a link works after its email was written: longer than anyone keeps a report unread. */
export const UNSUBSCRIBE_LINK_TTL_MS = 90 * 24 * 3_600_000;

const KINDS = ['summary', 'daily', 'immediate'] as const;
const TYPES = ['user', 'group'] as const;
const SEPARATOR = '\n';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD = Buffer.from('tocsin-unsubscribe-v2');

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
 * sealUnsubscribeToken encrypts and authenticates a target and its expiry (AES-256-GCM), so the
 * link needs no login and no stored state, shows no address or id to whoever sees the URL, and
 * cannot be altered to unsubscribe someone else.
 */
export function sealUnsubscribeToken(key: Buffer, target: UnsubscribeTarget, expiresAt: number): string {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', sealingKey(key), iv).setAAD(AAD);
  const plain = [String(expiresAt), target.kind, target.recipient.type, target.tenantId, target.recipient.id, target.recipient.address].join(SEPARATOR);
  const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
}

/** openUnsubscribeToken returns the target of a genuine token that has not expired at `now`, or undefined. */
export function openUnsubscribeToken(key: Buffer, token: string, now: number): UnsubscribeTarget | undefined {
  if (!/^[\w-]+$/.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
  let plain: string;
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', sealingKey(key), bytes.subarray(0, IV_BYTES)).setAAD(AAD);
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
  const [expiresAt, ...fields] = plain.split(SEPARATOR);
  if (!(Number(expiresAt) > now)) return undefined;
  return targetOf(fields);
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
