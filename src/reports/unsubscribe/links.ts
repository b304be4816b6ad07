import crypto from 'node:crypto';
import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import { addressedTarget } from './apply.js';
import { UNSUBSCRIBE_LINK_TTL_MS, type UnsubscribeTarget, openUnsubscribeToken, sealUnsubscribeToken, verifyLegacyUnsubscribeToken } from './token.js';

const KEY_SETTING = 'reports.unsubscribe-hmac-key';
/** Until when (epoch ms) links of the old, readable format work; set by the upgrade that retired them. */
const LEGACY_UNTIL_SETTING = 'reports.unsubscribe-legacy-until';

/** LinkKeys are the installation's link key and until when old-format links still work (0: never). */
interface LinkKeys {
  readonly key: Buffer;
  readonly legacyUntil: number;
}

/**
 * loadUnsubscribeKey returns the installation's link key, creating a random one on first use;
 * every instance sharing the database then seals and opens with the same key.
 */
export async function loadUnsubscribeKey(db: Db, clock: Clock): Promise<Buffer> {
  await db
    .insertInto('host_settings')
    .values({ key: KEY_SETTING, value: crypto.randomBytes(32).toString('base64'), updated_at: clock.now() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('host_settings').select('value').where('key', '=', KEY_SETTING).executeTakeFirstOrThrow();
  return Buffer.from(row.value, 'base64');
}

async function loadKeys(db: Db, clock: Clock): Promise<LinkKeys> {
  const key = await loadUnsubscribeKey(db, clock);
  const legacy = await db.selectFrom('host_settings').select('value').where('key', '=', LEGACY_UNTIL_SETTING).executeTakeFirst();
  return { key, legacyUntil: legacy ? Number(legacy.value) : 0 };
}

/** unsubscribeUrl is the one-click link (`${publicUrl}/unsubscribe/{token}`) of an email written at `now`, sealed with the link key. */
export function unsubscribeUrl(publicUrl: string, key: Buffer, target: UnsubscribeTarget, now: number): string {
  return `${publicUrl}/unsubscribe/${sealUnsubscribeToken(key, target, now + UNSUBSCRIBE_LINK_TTL_MS)}`;
}

/**
 * LINK_REUSE_MS: a link sealed for a recipient is handed out again for a minute, so a burst of
 * emails to one recipient seals one link, not one each (an AES-GCM setup per email); its 90-day
 * expiry then runs from up to a minute before the email.
 */
const LINK_REUSE_MS = 60_000;
/** Recipients whose last link is kept: far more than one burst addresses. */
const LINKS_KEPT = 4_096;

/**
 * UnsubscribeLinks builds and checks one-click unsubscribe URLs (`${publicUrl}/unsubscribe/{token}`),
 * loading the key once. Tokens are opaque and expire UNSUBSCRIBE_LINK_TTL_MS after the email.
 */
export class UnsubscribeLinks {
  #keys: Promise<LinkKeys> | undefined;
  /** The last link sealed for each target, and when. */
  readonly #sealed = new Map<string, { readonly url: string; readonly at: number }>();

  constructor(
    private readonly db: Db,
    private readonly publicUrl: string,
    private readonly clock: Clock,
  ) {}

  #loadKeys(): Promise<LinkKeys> {
    this.#keys ??= loadKeys(this.db, this.clock).catch((err: unknown) => {
      this.#keys = undefined;
      throw err;
    });
    return this.#keys;
  }

  /** url is the https (or http) one-click link for List-Unsubscribe and the email's footer. */
  async url(target: UnsubscribeTarget): Promise<string> {
    const { key } = await this.#loadKeys();
    const now = this.clock.now();
    const { tenantId, kind, recipient } = target;
    const id = [tenantId, kind, recipient.type, recipient.id, recipient.address].join('\n');
    const kept = this.#sealed.get(id);
    if (kept && now >= kept.at && now - kept.at < LINK_REUSE_MS) return kept.url;
    const url = unsubscribeUrl(this.publicUrl, key, target, now);
    // Maps iterate in insertion order: the first key is the oldest.
    if (this.#sealed.size >= LINKS_KEPT) this.#sealed.delete(this.#sealed.keys().next().value!);
    this.#sealed.set(id, { url, at: now });
    return url;
  }

  /** verify returns the target of a genuine, unexpired token (an old-format one until its cut-off), or undefined. */
  async verify(token: string): Promise<UnsubscribeTarget | undefined> {
    const { key, legacyUntil } = await this.#loadKeys();
    const now = this.clock.now();
    if (!token.includes('.')) {
      const sealed = openUnsubscribeToken(key, token, now);
      return sealed && addressedTarget(this.db, sealed);
    }
    return now < legacyUntil ? verifyLegacyUnsubscribeToken(key, token) : undefined;
  }
}
