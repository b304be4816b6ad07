import crypto from 'node:crypto';

/** ActionKind is what an email's action link does: mute for the tenant, snooze for me, acknowledge. */
export type ActionKind = 'mute' | 'snooze' | 'acknowledge';

const KINDS: readonly ActionKind[] = ['mute', 'snooze', 'acknowledge'];

/**
 * ActionGrant is what one link lets one recipient do: an action on one alert (its flood, or the
 * sources it carries), or on one event of the daily report, until the link expires.
 */
export interface ActionGrant {
  readonly tenantId: string;
  readonly userId: string;
  readonly action: ActionKind;
  /** The alert the line stands for (summary, immediate); absent for a daily report's event row. */
  readonly alertId?: string | undefined;
  /** The event of a daily report's row, when there is no alert id. */
  readonly event?: { readonly component: string; readonly event: string } | undefined;
  /** Epoch ms after which the link is refused. */
  readonly expiresAt: number;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD = Buffer.from('tocsin-action-link:v2');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// A field is a UUID in 16 bytes (tag 0), which every Tocsin id is, or any other text as its
// UTF-8 length (1-255) and bytes: a summary carries 150 of these links, so every byte counts
// against Gmail's 102 KB clipping.
function putField(out: number[], value: string): void {
  if (UUID.test(value)) {
    out.push(0, ...Buffer.from(value.replaceAll('-', ''), 'hex'));
    return;
  }
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0 || bytes.length > 255) throw new RangeError('an action link field must be 1 to 255 bytes');
  out.push(bytes.length, ...bytes);
}

function takeField(raw: Buffer, at: { i: number }): string {
  const tag = raw[at.i++];
  if (tag === undefined) throw new RangeError('truncated');
  const length = tag === 0 ? 16 : tag;
  if (at.i + length > raw.length) throw new RangeError('truncated');
  const bytes = raw.subarray(at.i, (at.i += length));
  if (tag !== 0) return bytes.toString('utf8');
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** encodeGrant writes a grant compactly: version, action, expiry in seconds, then its fields. */
function encodeGrant(grant: ActionGrant): Buffer {
  const out = [1, KINDS.indexOf(grant.action), grant.event ? 1 : 0];
  const expiry = Buffer.alloc(4);
  expiry.writeUInt32BE(Math.floor(grant.expiresAt / 1000));
  out.push(...expiry);
  putField(out, grant.tenantId);
  putField(out, grant.userId);
  if (grant.event) {
    putField(out, grant.event.component);
    putField(out, grant.event.event);
  } else putField(out, grant.alertId ?? '');
  return Buffer.from(out);
}

function decodeGrant(raw: Buffer): ActionGrant | undefined {
  const action = KINDS[raw[1] ?? -1];
  if (raw[0] !== 1 || !action || raw.length < 7) return undefined;
  const at = { i: 7 };
  const expiresAt = raw.readUInt32BE(3) * 1000;
  const tenantId = takeField(raw, at);
  const userId = takeField(raw, at);
  const subject = raw[2] === 1 ? { event: { component: takeField(raw, at), event: takeField(raw, at) } } : { alertId: takeField(raw, at) };
  return at.i === raw.length ? { tenantId, userId, action, expiresAt, ...subject } : undefined;
}

/**
 * sealActionToken encrypts and authenticates a grant (AES-256-GCM): the token is the base64url of
 * nonce, tag and ciphertext, so it shows no address, tenant or id, and any change to it fails.
 */
export function sealActionToken(key: Buffer, grant: ActionGrant): string {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(encodeGrant(grant)), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** openActionToken returns the grant of a genuine token that has not expired at `now`, else undefined. */
export function openActionToken(key: Buffer, token: string, now: number): ActionGrant | undefined {
  if (!/^[\w-]{40,600}$/.test(token)) return undefined;
  const raw = Buffer.from(token, 'base64url');
  let grant: ActionGrant | undefined;
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(AAD);
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    grant = decodeGrant(Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]));
  } catch {
    return undefined;
  }
  return grant && grant.expiresAt > now ? grant : undefined;
}
