import { sql } from 'kysely';
import type { Db } from '../storage/database.js';

const DAY_MS = 86_400_000;

/** TOKEN_NOTICES is the incident number of the XOAUTH2 token warnings' claims (token-expiry.ts): they belong to no incident. */
const TOKEN_NOTICES = 0;

/**
 * purgeOldNotices forgets the claims of mail-health notices (mail_health_notices) made before their
 * tenant's retention (`retention_days`), which only grew: two a mail incident, one an XOAUTH2 token
 * (renewed every day, 365 a year per tenant). A claim stops its notice from going twice, so those
 * that may still be claimed stay whatever their age: the current incident's (its end is still to
 * come, and a start claimed again would raise the alert again), and the tenant's newest token
 * warning (the token most likely still set, and warned of at each email while it expires). Returns
 * how many it forgot.
 */
export async function purgeOldNotices(db: Db, now: number): Promise<number> {
  const result = await db
    .deleteFrom('mail_health_notices')
    .where(
      'created_at',
      '<',
      sql<number>`cast(${sql.lit(now)} as bigint) - (select t.retention_days from tenants t where t.id = mail_health_notices.tenant_id) * cast(${sql.lit(DAY_MS)} as bigint)`,
    )
    .where((eb) =>
      eb.or([
        eb.and([
          eb('incident', '>', TOKEN_NOTICES),
          eb(
            'incident',
            '<',
            eb.fn.coalesce(
              eb.selectFrom('tenant_mail_health as h').select('h.incident').whereRef('h.tenant_id', '=', 'mail_health_notices.tenant_id'),
              sql.lit(TOKEN_NOTICES),
            ),
          ),
        ]),
        eb.and([
          eb('incident', '=', TOKEN_NOTICES),
          eb(
            'created_at',
            '<',
            eb
              .selectFrom('mail_health_notices as n')
              .select((n) => n.fn.max('n.created_at').as('newest'))
              .whereRef('n.tenant_id', '=', 'mail_health_notices.tenant_id')
              .where('n.incident', '=', TOKEN_NOTICES),
          ),
        ]),
      ]),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
