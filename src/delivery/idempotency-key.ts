import type { EmailKind } from './contract.js';

/**
 * idempotencyKey names one email: kind, tenant, what it is about (window start or alert flood)
 * and the lower-cased address, so one address never gets two copies of one email, whoever
 * decides it and however often.
 */
export function idempotencyKey(kind: EmailKind, tenantId: string, about: string | number, address: string): string {
  return `${kind}:${tenantId}:${about}:${address.toLowerCase()}`;
}

/** floodOfImmediateKey is the Fatal flood (an alert id, which holds no colon) an immediate email's key is about; undefined for another key. */
export function floodOfImmediateKey(key: string, tenantId: string): string | undefined {
  const prefix = `immediate:${tenantId}:`;
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const end = rest.indexOf(':');
  return end > 0 ? rest.slice(0, end) : undefined;
}
