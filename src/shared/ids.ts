import crypto from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/** newId returns an opaque, time-ordered identifier (UUIDv7), so ids also sort by creation. */
export function newId(): string {
  return uuidv7();
}

/** randomToken returns a URL-safe secret with 256 bits of entropy, with an optional prefix. */
export function randomToken(prefix = ''): string {
  return prefix + crypto.randomBytes(32).toString('base64url');
}

/** sha256 returns the hex SHA-256 of a string; enough for high-entropy tokens, not for passwords. */
export function sha256(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}
