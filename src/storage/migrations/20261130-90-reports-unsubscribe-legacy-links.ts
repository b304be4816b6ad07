import { type Kysely, sql } from 'kysely';

/** How long the unsubscribe links of emails sent before this upgrade keep working. */
const LEGACY_LINKS_DAYS = 90;

/**
 * Unsubscribe links became opaque and expiring. The older ones (readable, no expiry) keep working
 * for LEGACY_LINKS_DAYS after this upgrade, then stop: the date is recorded here, and only on an
 * installation that signed such links (it has their key); a new one accepts none.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const until = Date.now() + LEGACY_LINKS_DAYS * 24 * 3_600_000;
  await db
    .insertInto('host_settings')
    .columns(['key', 'value', 'updated_at'])
    .expression(
      db
        .selectFrom('host_settings')
        .select([sql.lit('reports.unsubscribe-legacy-until').as('key'), sql.lit(String(until)).as('value'), sql.lit(Date.now()).as('updated_at')])
        .where('key', '=', 'reports.unsubscribe-hmac-key'),
    )
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
}
