import crypto from 'node:crypto';
import type { SourceKind } from './model.js';

/** WEBHOOK_SECRET_PREFIX starts a Standard Webhooks secret; the rest is the Base64 of the key. */
const WEBHOOK_SECRET_PREFIX = 'whsec_';

/**
 * newSourceSecret generates a source's secret in the form its sender takes: Orchestrator's
 * Secret field holds at most 100 characters; Standard Webhooks secrets are `whsec_` + Base64 of
 * 24–64 random bytes (32 here); Alertmanager sends a bearer token or a Basic password.
 */
export function newSourceSecret(kind: SourceKind): string {
  if (kind === 'webhook') return WEBHOOK_SECRET_PREFIX + crypto.randomBytes(32).toString('base64');
  return crypto.randomBytes(32).toString('base64url');
}

/** sourceSecretOwner binds a sealed source secret to its source. */
export function sourceSecretOwner(sourceId: string): string {
  return `source:${sourceId}:secret`;
}

/** pullSecretOwner binds a sealed upstream password or client secret to its source. */
export const pullSecretOwner = {
  password: (sourceId: string) => `source:${sourceId}:pull-password`,
  clientSecret: (sourceId: string) => `source:${sourceId}:pull-client-secret`,
};

/**
 * signingKey is the HMAC key of a secret: for Standard Webhooks the decoded bytes after `whsec_`
 * (using the text itself is the classic mistake), for the others the UTF-8 of the secret.
 */
export function signingKey(kind: SourceKind, secret: string): Buffer {
  if (kind === 'webhook' && secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    return Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
  }
  return Buffer.from(secret, 'utf8');
}
