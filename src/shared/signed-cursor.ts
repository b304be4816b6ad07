import crypto from 'node:crypto';

/** CURSOR_KEY_PURPOSE names the key (SecretBox.deriveKey) that signs the lists' cursors. */
export const CURSOR_KEY_PURPOSE = 'list-cursor';

/** CURSOR_MESSAGE is what a cursor must be, where one is refused. */
export const CURSOR_MESSAGE = 'must be a nextCursor returned by a previous page';

/** cursorMac signs a cursor's text for one tenant: 16 bytes of HMAC-SHA256, in base64url (22 characters). */
function cursorMac(key: Buffer, tenantId: string, text: string): string {
  return crypto.createHmac('sha256', key).update(`${tenantId}\n${text}`).digest().subarray(0, 16).toString('base64url');
}

/**
 * signCursor makes the opaque `nextCursor` of a page from its position written as text (no
 * newline), signed for the tenant with `key` (SecretBox.deriveKey(CURSOR_KEY_PURPOSE)), so that
 * openCursor can tell one handed out from one altered or forged, or handed out in another tenant.
 */
export function signCursor(key: Buffer, tenantId: string, text: string): string {
  return Buffer.from(`${text}.${cursorMac(key, tenantId, text)}`).toString('base64url');
}

/** openCursor gives back the text of a cursor signCursor made for this tenant, or undefined for any other. */
export function openCursor(key: Buffer, tenantId: string, cursor: string): string | undefined {
  const signed = Buffer.from(cursor, 'base64url').toString();
  // The text must also be what the cursor's base64url gives back: another last character can decode to the same bytes.
  if (Buffer.from(signed).toString('base64url') !== cursor) return undefined;
  const dot = signed.lastIndexOf('.');
  if (dot < 0 || signed.length - dot - 1 !== 22) return undefined;
  const text = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  const expected = Buffer.from(cursorMac(key, tenantId, text));
  return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? text : undefined;
}
