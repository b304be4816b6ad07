import type { Db } from '../storage/database.js';
import { lockTransactionOn } from '../storage/transaction-lock.js';

/**
 * CallerMay refuses (throws) a change of who holds what (a user, a group, a role) that its caller
 * may no longer make, read in the change's own transaction: the caller was allowed when its request
 * came in, but a change written since may have taken that away (another administrator demoted or
 * deleted it, or emptied the group that made it one).
 */
export type CallerMay = (tx: Db) => Promise<void>;

/**
 * lockAccessChanges makes a change of the tenant's users, groups or roles wait for, then hold until
 * its transaction ends, the tenant's lock on such changes (PostgreSQL; on SQLite the transaction
 * holds the database), then asks `callerMay`: what it reads is what the changes before it committed,
 * so two administrators acting on each other at once are one after the other, and the second is
 * refused, as it would be a moment later, rather than both written, leaving the tenant with neither.
 * Taken first in the transaction, before any other lock, so that no two changes wait on each other.
 */
export async function lockAccessChanges(tx: Db, tenantId: string, callerMay: CallerMay | undefined): Promise<void> {
  await lockTransactionOn(tx, `access-changes:${tenantId}`);
  await callerMay?.(tx);
}
