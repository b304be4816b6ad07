import type { Kysely } from 'kysely';
import { columnType } from '../dialect.js';

/**
 * When each tenant's daily report time was last changed (null: never, since this column exists).
 * A time moved, after that day's report went out, to one already passed that day sent at once a
 * second report dated the same day, covering only the stretch since the first: the scheduler now
 * holds back a window that ended before the change (see dailyWindowIfDue), which it can only do
 * if the change is recorded, the same for every instance, rather than guessed from when it looks.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenant_mail_settings').addColumn('daily_report_time_changed_at', columnType.time).execute();
}
