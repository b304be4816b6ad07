import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * alert_kind_hours: each hour (created_at / 3,600,000) in which a tenant stored an alert of a
 * severity, component and event, a row for all of them (kind-hours.ts). A list filtered on a
 * component, an event or a severity reads the hours that hold such alerts from it and walks only
 * those hours of alerts_tenant_created: GET /alerts?event=… walked the tenant's whole list when
 * few or none of its alerts matched (0.6-2.2 s at a million alerts). Written by the alerts' own
 * insert (a row per kind and hour, not per alert); kept by retention a superset of what is stored.
 * The index is the walk's order, hours newest first. SQLite keeps the rows in it, one per kind and
 * hour (its primary key, without rowid). On PostgreSQL it is no constraint: a commit inserting a row
 * that another commit under way inserted too would wait for that one to end (a unique index's
 * check), so two commits of a new hour's kind both write it; the readers take distinct hours.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const columns = sql.raw('tenant_id text not null, hour bigint not null, severity integer not null, component text not null, event text not null');
  if (dialect === 'sqlite') {
    await sql`create table alert_kind_hours (${columns}, primary key (tenant_id, hour, severity, component, event)) without rowid`.execute(db);
  } else {
    await sql`create table alert_kind_hours (${columns})`.execute(db);
    await sql`create index alert_kind_hours_walk on alert_kind_hours (tenant_id, hour, severity, component, event)`.execute(db);
  }
  await sql`insert into alert_kind_hours (tenant_id, hour, severity, component, event)
    select distinct tenant_id, created_at / 3600000, severity, component, event from alerts`.execute(db);
}
