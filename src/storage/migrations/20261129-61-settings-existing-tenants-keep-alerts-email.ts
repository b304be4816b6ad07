import { type Kysely, sql } from 'kysely';

/**
 * New tenants now start with alert emails off, and a tenant without a mail settings row reads as
 * off. Every tenant that existed before had them on by having no row, so each gets a row that
 * says so (with the other defaults of that time): nobody's emails stop. Rows that exist are left
 * as they are.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db
    .insertInto('tenant_mail_settings')
    .columns(['tenant_id', 'alerts_email_enabled', 'use_custom', 'daily_report_time', 'send_empty_daily_report', 'updated_at'])
    .expression(
      db
        .selectFrom('tenants')
        .select([
          'id',
          sql<number>`1`.as('alerts_email_enabled'),
          sql<number>`0`.as('use_custom'),
          sql<string>`'10:00'`.as('daily_report_time'),
          sql<number>`0`.as('send_empty_daily_report'),
          sql.lit(Date.now()).as('updated_at'),
        ])
        .where('id', 'not in', db.selectFrom('tenant_mail_settings').select('tenant_id')),
    )
    .execute();
}
