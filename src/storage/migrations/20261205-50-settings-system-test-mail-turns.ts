import type { Kysely } from 'kysely';
import { columnType } from '../dialect.js';

/**
 * The times of the host administrator's recent Test Mail Settings sends of the system settings,
 * held to the tenants' limit of 10 a minute (test_mail_turns, whose rows belong to a tenant): the
 * system's test had none, a button that sent as many emails as it was clicked.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('system_test_mail_turns')
    .addColumn('at', columnType.time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('system_test_mail_turns_at').on('system_test_mail_turns').column('at').execute();
}
