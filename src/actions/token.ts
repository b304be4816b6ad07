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
const AAD = Buffer.from('tocsin-action-link:v1');

/**
 * sealActionToken encrypts and authenticates a grant (AES-256-GCM): the token is the base64url of
 * nonce, tag and ciphertext, so it shows no address, tenant or id, and any change to it fails.
 */
export function sealActionToken(key: Buffer, grant: ActionGrant): string {
  const payload = JSON.stringify([grant.tenantId, grant.userId, grant.action, grant.alertId ?? null, grant.event ? [grant.event.component, grant.event.event] : null, grant.expiresAt]);
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(payload, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** openActionToken returns the grant of a genuine token that has not expired at `now`, else undefined. */
export function openActionToken(key: Buffer, token: string, now: number): ActionGrant | undefined {
  if (!/^[\w-]{40,600}$/.test(token)) return undefined;
  const raw = Buffer.from(token, 'base64url');
  let text: string;
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(AAD);
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
  const [tenantId, userId, action, alertId, event, expiresAt] = JSON.parse(text) as [string, string, ActionKind, string | null, [string, string] | null, number];
  if (!KINDS.includes(action) || !(expiresAt > now)) return undefined;
  return { tenantId, userId, action, alertId: alertId ?? undefined, event: event ? { component: event[0], event: event[1] } : undefined, expiresAt };
}
