import type { Selectable } from 'kysely';
import type { Permission } from '../access/permissions.js';
import { effectivePermissions } from '../access/principal.js';
import { type AccessFacts, type UserFacts, userPermissions } from '../recipients/eligibility.js';
import type { Database, Db } from '../storage/database.js';

/** TenantNames are what an email shows of its tenant: its names, time zone and language. */
export type TenantNames = Pick<Selectable<Database['tenants']>, 'id' | 'name' | 'display_name' | 'time_zone' | 'language'>;

/** UserNow is how a user is written to now: its address, name, language and time zone. */
export type UserNow = Pick<Selectable<Database['users']>, 'email' | 'name' | 'language' | 'time_zone'>;

/**
 * READER_READS names what composing an email reads of its tenant and of a user: the keys under
 * which a claim's emails share a read (the composers' perClaim), and under which the commit that
 * leased a Fatal alert's emails to this process leaves what it read of them (readerReadsOf).
 */
export const READER_READS = {
  tenant: (tenantId: string) => `tenant:${tenantId}`,
  user: (userId: string) => `user:${userId}`,
  permissions: (userId: string) => `permissions:${userId}`,
};

/** readTenantNames reads a tenant's TenantNames (undefined for a tenant deleted since). */
export function readTenantNames(db: Db, tenantId: string): Promise<TenantNames | undefined> {
  return db.selectFrom('tenants').select(['id', 'name', 'display_name', 'time_zone', 'language']).where('id', '=', tenantId).executeTakeFirst();
}

/** readUserNow reads a user's UserNow (undefined for a user deleted since). */
export function readUserNow(db: Db, userId: string): Promise<UserNow | undefined> {
  return db.selectFrom('users').select(['email', 'name', 'language', 'time_zone']).where('id', '=', userId).executeTakeFirst();
}

/** readPermissions reads what a user may do now: nothing when inactive or deleted (effectivePermissions). */
export function readPermissions(db: Db, userId: string): Promise<Set<Permission>> {
  return effectivePermissions(db, userId);
}

/**
 * readerReadsOf is what composing an email to `user` reads of its tenant and of the user, by
 * READER_READS key, made from the facts a decision read of them in the transaction that queued the
 * email: the same values readTenantNames, readUserNow and readPermissions answer in that
 * transaction, so the email sent right after its commit needs none of those reads (one statement
 * each, and on PostgreSQL a round trip each, on the way to the SMTP server).
 */
export function readerReadsOf(tenant: TenantNames, user: UserFacts, access: AccessFacts): [string, unknown][] {
  const now: UserNow = { email: user.email, name: user.name, language: user.language, time_zone: user.timeZone };
  return [
    [READER_READS.tenant(tenant.id), tenant],
    [READER_READS.user(user.id), now],
    [READER_READS.permissions(user.id), userPermissions(user, access)],
  ];
}
