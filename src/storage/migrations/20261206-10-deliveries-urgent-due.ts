import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * A claim takes the due Fatal-immediately emails and mail-health notices before the rest
 * (delivery/outbox/urgency.ts): this index finds them without walking the due reports
 * that fell due before them (50,000 daily reports at 10:00 were read through, at every claim, to
 * find none). Its condition is `isUnfinished` and `isUrgent` as the claim writes them (leases.ts, urgency.ts), which both
 * engines need to match a query to a partial index.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await sql`create index deliveries_due_urgent on deliveries (next_attempt_at) where status in ('pending', 'sending', 'retrying') and kind in ('immediate', 'mail-health')`.execute(
    db,
  );
  // As deliveries_tenant_recipient: a SQLite database with statistics would hold none for this index alone.
  if (dialect !== 'sqlite') return;
  const { rows } = await sql`select 1 from sqlite_master where name = 'sqlite_stat1'`.execute(db);
  if (rows.length > 0) await sql`analyze deliveries_due_urgent`.execute(db);
}
