import { ADDRESS_TAG_BYTES, openToken, sealToken } from '../shared/sealed-token.js';

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
  /**
   * The addressTag of the mailbox the link was sent to, so that it stops working once that address
   * is no longer the user's. Absent only in links sealed before it was added (layout 1), which
   * expire within TOCSIN_ACTION_LINK_DAYS.
   */
  readonly addressTag?: Buffer | undefined;
}

// The sealed layout and this purpose are those of the links already sent: they open as before.
const AAD = Buffer.from('tocsin-action-link:v2');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// A field is a UUID in 16 bytes (tag 0), which every Tocsin id is, or any other text as its
// UTF-8 length (1-255) and bytes: a summary carries 150 of these links, so every byte counts
// against Gmail's 102 KB clipping. Written into scratch space that sealing copies at once.
const SCRATCH = Buffer.allocUnsafeSlow(7 + 4 * 256 + ADDRESS_TAG_BYTES);

function putField(at: number, value: string): number {
  if (value.length === 36 && UUID.test(value)) {
    SCRATCH[at] = 0;
    return at + 1 + SCRATCH.write(value.replaceAll('-', ''), at + 1, 'hex');
  }
  const length = Buffer.byteLength(value, 'utf8');
  if (length === 0 || length > 255) throw new RangeError('an action link field must be 1 to 255 bytes');
  SCRATCH[at] = length;
  return at + 1 + SCRATCH.write(value, at + 1, 'utf8');
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

/**
 * encodeGrant writes a grant compactly: layout, action, expiry in seconds, its fields, then the
 * address tag (layout 2; layout 1 had none) — valid until the next call.
 */
function encodeGrant(grant: ActionGrant): Buffer {
  if (grant.addressTag?.length !== ADDRESS_TAG_BYTES) throw new RangeError('an action link needs the addressTag of its mailbox');
  SCRATCH[0] = 2;
  SCRATCH[1] = KINDS.indexOf(grant.action);
  SCRATCH[2] = grant.event ? 1 : 0;
  SCRATCH.writeUInt32BE(Math.floor(grant.expiresAt / 1000), 3);
  let at = putField(putField(7, grant.tenantId), grant.userId);
  if (grant.event) at = putField(putField(at, grant.event.component), grant.event.event);
  else at = putField(at, grant.alertId ?? '');
  return SCRATCH.subarray(0, at + grant.addressTag.copy(SCRATCH, at));
}

function decodeGrant(raw: Buffer): ActionGrant | undefined {
  const action = KINDS[raw[1] ?? -1];
  const layout = raw[0];
  if ((layout !== 1 && layout !== 2) || !action || raw.length < 7) return undefined;
  const at = { i: 7 };
  const expiresAt = raw.readUInt32BE(3) * 1000;
  const tenantId = takeField(raw, at);
  const userId = takeField(raw, at);
  const subject = raw[2] === 1 ? { event: { component: takeField(raw, at), event: takeField(raw, at) } } : { alertId: takeField(raw, at) };
  if (layout === 1) return at.i === raw.length ? { tenantId, userId, action, expiresAt, ...subject } : undefined;
  const tag = raw.subarray(at.i);
  return tag.length === ADDRESS_TAG_BYTES ? { tenantId, userId, action, expiresAt, ...subject, addressTag: Buffer.from(tag) } : undefined;
}

/**
 * sealActionToken encrypts and authenticates a grant (a sealed token, see sealToken), so the token
 * shows no address, tenant or id, and any change to it fails.
 */
export function sealActionToken(key: Buffer, grant: ActionGrant): string {
  return sealToken(key, AAD, encodeGrant(grant));
}

/** openActionToken returns the grant of a genuine token that has not expired at `now`, else undefined. */
export function openActionToken(key: Buffer, token: string, now: number): ActionGrant | undefined {
  if (token.length < 40 || token.length > 600) return undefined;
  const payload = openToken(key, AAD, token);
  let grant: ActionGrant | undefined;
  try {
    grant = payload && decodeGrant(payload);
  } catch {
    return undefined;
  }
  return grant && grant.expiresAt > now ? grant : undefined;
}
