import type { Db } from '../storage/database.js';
import { lockTransactionOn } from '../storage/transaction-lock.js';
import type { RateTurn } from './rate-limit.js';

/** TEST_MAILS_PER_MINUTE bounds Test Mail Settings per tenant, and the system's: it opens connections on request. */
export const TEST_MAILS_PER_MINUTE = 10;

const MINUTE_MS = 60_000;

/** SYSTEM_TESTS names the host administrator's tests of the system settings where a tenant's id goes. */
export const SYSTEM_TESTS = null;

/** turnsOf reads and writes the recent turns of one tenant (test_mail_turns) or of the system (system_test_mail_turns). */
function turnsOf(tx: Db, tenantId: string | typeof SYSTEM_TESTS) {
  if (tenantId === SYSTEM_TESTS) {
    return {
      forgetOutside: (from: number, to: number) =>
        tx
          .deleteFrom('system_test_mail_turns')
          .where((eb) => eb.or([eb('at', '<=', from), eb('at', '>', to)]))
          .execute(),
      times: () => tx.selectFrom('system_test_mail_turns').select('at').orderBy('at').execute(),
      add: (at: number) => tx.insertInto('system_test_mail_turns').values({ at }).execute(),
    };
  }
  return {
    forgetOutside: (from: number, to: number) =>
      tx
        .deleteFrom('test_mail_turns')
        .where('tenant_id', '=', tenantId)
        .where((eb) => eb.or([eb('at', '<=', from), eb('at', '>', to)]))
        .execute(),
    times: () => tx.selectFrom('test_mail_turns').select('at').where('tenant_id', '=', tenantId).orderBy('at').execute(),
    add: (at: number) => tx.insertInto('test_mail_turns').values({ tenant_id: tenantId, at }).execute(),
  };
}

/**
 * takeTestMailTurn counts one test email (Test Mail Settings or VerifySmtpSetting) of a tenant, or
 * of the system settings (SYSTEM_TESTS), at `now` when fewer than TEST_MAILS_PER_MINUTE went in
 * the minute before, or says how long to wait. The times are in the database, not in a process's
 * memory, so that the limit is the tenant's whichever api process each request reaches; in any
 * minute, not a fixed one, which would let twice the limit through around its edge.
 */
export async function takeTestMailTurn(db: Db, tenantId: string | typeof SYSTEM_TESTS, now: number): Promise<RateTurn> {
  return db.transaction().execute(async (tx) => {
    // Two processes counting at once would both see room for one more.
    await lockTransactionOn(tx, `test-mail-turns:${tenantId ?? 'system'}`);
    const turns = turnsOf(tx, tenantId);
    // The write comes first: on SQLite it takes the write lock, which a read first would take only later.
    // It forgets the turns over a minute old, and those more than a minute ahead, stamped before the clock was
    // stepped back: kept, they refused every test for as long as the step (less ahead, they may be another
    // process's whose clock is a little ahead).
    await turns.forgetOutside(now - MINUTE_MS, now + MINUTE_MS);
    const times = await turns.times();
    if (times.length >= TEST_MAILS_PER_MINUTE) {
      return { allowed: false, retryAfterMs: times[0]!.at + MINUTE_MS - now };
    }
    await turns.add(now);
    return { allowed: true };
  });
}
