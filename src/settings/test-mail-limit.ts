import type { Db } from '../storage/database.js';
import { lockTransactionOn } from '../storage/transaction-lock.js';
import type { RateTurn } from './rate-limit.js';

/** TEST_MAILS_PER_MINUTE bounds Test Mail Settings per tenant: it opens connections on request. */
export const TEST_MAILS_PER_MINUTE = 10;

const MINUTE_MS = 60_000;

/**
 * takeTestMailTurn counts one test email (Test Mail Settings or VerifySmtpSetting) of a tenant at
 * `now` when fewer than TEST_MAILS_PER_MINUTE went in the minute before, or says how long to wait.
 * The times are in the database, not in a process's memory, so that the limit is the tenant's
 * whichever api process each request reaches; in any minute, not a fixed one, which would let
 * twice the limit through around its edge.
 */
export async function takeTestMailTurn(db: Db, tenantId: string, now: number): Promise<RateTurn> {
  return db.transaction().execute(async (tx) => {
    // Two processes counting at once would both see room for one more.
    await lockTransactionOn(tx, `test-mail-turns:${tenantId}`);
    // The write comes first: on SQLite it takes the write lock, which a read first would take only later.
    await tx
      .deleteFrom('test_mail_turns')
      .where('tenant_id', '=', tenantId)
      .where('at', '<=', now - MINUTE_MS)
      .execute();
    const times = await tx.selectFrom('test_mail_turns').select('at').where('tenant_id', '=', tenantId).orderBy('at').execute();
    if (times.length >= TEST_MAILS_PER_MINUTE) {
      return { allowed: false, retryAfterMs: times[0]!.at + MINUTE_MS - now };
    }
    await tx.insertInto('test_mail_turns').values({ tenant_id: tenantId, at: now }).execute();
    return { allowed: true };
  });
}
