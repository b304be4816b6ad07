import crypto from 'node:crypto';
import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import { type UnsubscribeTarget, signUnsubscribeToken, verifyUnsubscribeToken } from './token.js';

const KEY_SETTING = 'reports.unsubscribe-hmac-key';

/**
 * loadUnsubscribeKey returns the installation's link-signing key, creating a random one on first
 * use; every instance sharing the database then signs and checks with the same key.
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

/**
 * UnsubscribeLinks builds and checks one-click unsubscribe URLs (`${publicUrl}/unsubscribe/{token}`),
 * loading the key once.
 */
export class UnsubscribeLinks {
  #key: Promise<Buffer> | undefined;

  constructor(
    private readonly db: Db,
    private readonly publicUrl: string,
    private readonly clock: Clock,
  ) {}

  #loadKey(): Promise<Buffer> {
    this.#key ??= loadUnsubscribeKey(this.db, this.clock).catch((err: unknown) => {
      this.#key = undefined;
      throw err;
    });
    return this.#key;
  }

  /** url is the https (or http) one-click link for List-Unsubscribe and the email's footer. */
  async url(target: UnsubscribeTarget): Promise<string> {
    return `${this.publicUrl}/unsubscribe/${signUnsubscribeToken(await this.#loadKey(), target)}`;
  }

  /** verify returns the target of a genuine token, or undefined. */
  async verify(token: string): Promise<UnsubscribeTarget | undefined> {
    return verifyUnsubscribeToken(await this.#loadKey(), token);
  }
}
