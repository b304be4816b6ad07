import crypto from 'node:crypto';
import type { EmailKind } from '../../delivery/contract.js';

/** UnsubscribeTarget is what a one-click link turns off: one kind of email for one recipient. */
export interface UnsubscribeTarget {
  readonly tenantId: string;
  readonly recipient: { readonly type: 'user' | 'group'; readonly id: string; readonly address: string };
  readonly kind: Exclude<EmailKind, 'test'>;
}

const KINDS = ['summary', 'daily', 'immediate'] as const;
const TYPES = ['user', 'group'] as const;
const SEPARATOR = '\n';

function mac(key: Buffer, payload: string): string {
  return crypto.createHmac('sha256', key).update(`tocsin-unsubscribe:${payload}`).digest('base64url');
}

/**
 * signUnsubscribeToken encodes a target and its HMAC, so the link needs no login and no stored
 * state, and cannot be altered to unsubscribe someone else.
 */
export function signUnsubscribeToken(key: Buffer, target: UnsubscribeTarget): string {
  const payload = Buffer.from(
    [target.kind, target.recipient.type, target.tenantId, target.recipient.id, target.recipient.address].join(SEPARATOR),
    'utf8',
  ).toString('base64url');
  return `${payload}.${mac(key, payload)}`;
}

/** verifyUnsubscribeToken returns the target of a genuine token, or undefined for anything else. */
export function verifyUnsubscribeToken(key: Buffer, token: string): UnsubscribeTarget | undefined {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) return undefined;
  const expected = Buffer.from(mac(key, payload));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return undefined;
  const [kind, type, tenantId, id, address, more] = Buffer.from(payload, 'base64url').toString('utf8').split(SEPARATOR);
  if (more !== undefined || !tenantId || !id || !address) return undefined;
  if (!(KINDS as readonly string[]).includes(kind ?? '') || !(TYPES as readonly string[]).includes(type ?? '')) return undefined;
  return { tenantId, kind: kind as UnsubscribeTarget['kind'], recipient: { type: type as 'user' | 'group', id, address } };
}
