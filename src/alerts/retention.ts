import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import { floodOfImmediateKey } from '../delivery/idempotency-key.js';
import { purgeExpiredDeliveries } from '../delivery/outbox/retention.js';
import { UNFINISHED_STATUSES } from '../delivery/outbox/tables.js';
import { purgeOldNotices } from '../mail-health/notices-retention.js';
import { purgeOldDeliveries } from '../sources/store.js';
import { DELETE_BATCH, deleteInBatches } from '../storage/batched-delete.js';
import type { Db } from '../storage/database.js';
import { notSearchable } from '../storage/not-searchable.js';
import { hourOf } from './kind-hours.js';
import { OutageLog } from '../storage/outage-log.js';

const DAY_MS = 86_400_000;
/** RETENTION_INTERVAL_MS is how often the purge runs. */
const RETENTION_INTERVAL_MS = 60_000;

/**
 * purgeExpiredAlerts deletes, tenant by tenant, the alerts created before the tenant's retention
 * (`retention_days`), in batches of `batchSize`, yielding to the event loop between batches so that
 * ingestion interleaves with a large purge. Returns how many it deleted. The tenants with nothing
 * expired are passed over by the one query that finds the others (an idle server with 10,000
 * tenants asked each of them every minute).
 */
export async function purgeExpiredAlerts(db: Db, now: number, batchSize = DELETE_BATCH): Promise<number> {
  const tenants = await db
    .selectFrom('tenants')
    .select(['id', 'retention_days'])
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('alerts')
          .select(sql.lit(1).as('one'))
          .whereRef('alerts.tenant_id', '=', 'tenants.id')
          // Bigint arithmetic: days × milliseconds overflows PostgreSQL's integer.
          .where('alerts.created_at', '<', sql<number>`cast(${sql.lit(now)} as bigint) - tenants.retention_days * cast(${sql.lit(DAY_MS)} as bigint)`),
      ),
    )
    .execute();
  let deleted = 0;
  for (const tenant of tenants) {
    const expired = now - tenant.retention_days * DAY_MS;
    const cutoff = Math.min(expired, await heldByReports(db, tenant.id), await heldByNextReports(db, tenant.id, expired));
    deleted += await deleteInBatches(batchSize, () =>
      db
        .deleteFrom('alerts')
        .where('id', 'in', (eb) => eb.selectFrom('alerts').select('id').where('tenant_id', '=', tenant.id).where('created_at', '<', cutoff).limit(batchSize))
        .executeTakeFirst(),
    );
    // After the alerts, so that an hour's row never goes while alerts of it are stored (kind-hours.ts):
    // every alert of an hour that ends at or before the cutoff is gone.
    await db.deleteFrom('alert_kind_hours').where('tenant_id', '=', tenant.id).where('hour', '<', hourOf(cutoff)).execute();
  }
  await purgeActions(db, now, batchSize);
  return deleted;
}

/**
 * heldByReports is the start of the oldest window of a tenant's summary or daily report not sent
 * yet (waiting for a retry while its server is down), or Infinity: a report is written when sent,
 * from the alerts of its window, so they are kept until it is. With a retention of 1 day, a daily
 * report retried for a few hours otherwise lost those hours' alerts (and one retried near its
 * 24-hour deadline was not sent at all), its window being a day long. The alerts of a Fatal
 * flood whose immediate email waits so are kept too (heldByImmediateEmails).
 */
async function heldByReports(db: Db, tenantId: string): Promise<number> {
  const row = await db
    .selectFrom('deliveries')
    .select(sql<number | string | null>`min(window_start)`.as('start'))
    .where('tenant_id', '=', tenantId)
    .where('status', 'in', UNFINISHED_STATUSES)
    .where('window_start', 'is not', null)
    .executeTakeFirst();
  const windows = row?.start == null ? Number.POSITIVE_INFINITY : Number(row.start);
  return Math.min(windows, await heldByImmediateEmails(db, tenantId));
}

/** NEXT_REPORT_HOLD_MS is how far past the retention heldByNextReports keeps alerts, at most. */
const NEXT_REPORT_HOLD_MS = DAY_MS;

/**
 * heldByNextReports is where the next summary or daily report of a tenant begins (the end of the last
 * one decided, the earliest of the two kinds), but never more than NEXT_REPORT_HOLD_MS before
 * `expired`: a report is decided and written from the alerts of its window, which for a daily report
 * begins at the last one's report time, 25 hours back on the day the clocks go back (and a little
 * more than 24 hours by the time it is decided, or after downtime). With a retention of one day the
 * purge, every minute, otherwise deleted the first hour of that day's report before it was decided.
 * Bounded, so that a tenant whose reports are not being decided (no scheduler running) keeps its
 * retention give or take a day. Windows never decided (a new tenant's) hold nothing.
 */
async function heldByNextReports(db: Db, tenantId: string, expired: number): Promise<number> {
  const rows = await db
    .selectFrom('report_windows')
    .select(sql<number | string>`max(window_end)`.as('end'))
    .where('tenant_id', '=', tenantId)
    .groupBy('kind')
    .execute();
  if (rows.length === 0) return Number.POSITIVE_INFINITY;
  return Math.max(Math.min(...rows.map((r) => Number(r.end))), expired - NEXT_REPORT_HOLD_MS);
}

/** FLOODS_PER_READ bounds the flood ids one read of heldByImmediateEmails binds (twice each). */
const FLOODS_PER_READ = 500;

/**
 * heldByImmediateEmails is when the oldest alert was created of the Fatal floods whose immediate
 * email is not sent yet (waiting for a retry), or Infinity: that email is written when sent, from
 * its alert and its flood, and failed ("alert … no longer exists"), a Fatal email lost, when they
 * were purged first: retried past the retention (a deadline longer than it, or Tocsin down meanwhile).
 */
async function heldByImmediateEmails(db: Db, tenantId: string): Promise<number> {
  const rows = await waitingImmediateEmails(db, tenantId).execute();
  const floods = [...new Set(rows.flatMap((r) => floodOfImmediateKey(r.idempotency_key, tenantId) ?? []))];
  let oldest = Number.POSITIVE_INFINITY;
  for (let from = 0; from < floods.length; from += FLOODS_PER_READ) {
    const some = floods.slice(from, from + FLOODS_PER_READ);
    const found = await db
      .selectFrom('alerts')
      .select(sql<number | string | null>`min(created_at)`.as('start'))
      // Each side by its own index: the floods' first alerts by id (the tenant only checked), their
      // repeats by alerts_tenant_group; with the tenant outside the `or`, SQLite walked all its alerts.
      .where((eb) =>
        eb.or([
          eb.and([eb('id', 'in', some), eb(notSearchable('tenant_id'), '=', tenantId)]),
          eb.and([eb('tenant_id', '=', tenantId), eb('group_id', 'in', some)]),
        ]),
      )
      .executeTakeFirst();
    if (found?.start != null) oldest = Math.min(oldest, Number(found.start));
  }
  return oldest;
}

/**
 * waitingImmediateEmails reads the keys of a tenant's immediate emails not finished yet, by
 * deliveries_log_status: the kind only checked (notSearchable), or SQLite, which has no statistics,
 * reads them by deliveries_tenant_kind, every immediate email the tenant was sent (every minute).
 */
export function waitingImmediateEmails(db: Db, tenantId: string) {
  return db
    .selectFrom('deliveries')
    .select('idempotency_key')
    .where('tenant_id', '=', tenantId)
    .where(notSearchable('kind'), '=', 'immediate')
    .where('status', 'in', UNFINISHED_STATUSES);
}

/**
 * purgeActions forgets, past each tenant's retention, what was done to alerts: acknowledgements
 * made before it whose floods have no alert left, the audit list, and mutes ended before it;
 * tenant by tenant (those with any found by one query), `batchSize` rows per statement, as the
 * alerts. One statement per table for every tenant at once, as it was, deleted a backlog (a
 * retention lowered from a year to 30 days) in one go: a million audit entries held SQLite's
 * write lock, and blocked the process, for 4.8 s; and its cutoff, read from each row's tenant,
 * scanned the whole audit list every minute where each tenant's index range now suffices.
 */
async function purgeActions(db: Db, now: number, batchSize: number): Promise<void> {
  const expired = sql<number>`cast(${sql.lit(now)} as bigint) - tenants.retention_days * cast(${sql.lit(DAY_MS)} as bigint)`;
  const tenants = await db
    .selectFrom('tenants')
    .select(['id', 'retention_days'])
    .where(({ or, exists, selectFrom }) =>
      or([
        exists(
          selectFrom('alert_action_audit').select(sql.lit(1).as('one')).whereRef('alert_action_audit.tenant_id', '=', 'tenants.id').where('at', '<', expired),
        ),
        exists(selectFrom('alert_mutes').select(sql.lit(1).as('one')).whereRef('alert_mutes.tenant_id', '=', 'tenants.id').where('until', '<', expired)),
        exists(
          selectFrom('alert_acknowledgements')
            .select(sql.lit(1).as('one'))
            .whereRef('alert_acknowledgements.tenant_id', '=', 'tenants.id')
            .where('acknowledged_at', '<', expired),
        ),
      ]),
    )
    .execute();
  for (const tenant of tenants) {
    const cutoff = now - tenant.retention_days * DAY_MS;
    await deleteInBatches(batchSize, () =>
      db
        .deleteFrom('alert_acknowledgements')
        .where('tenant_id', '=', tenant.id)
        .where('group_id', 'in', (eb) =>
          eb
            .selectFrom('alert_acknowledgements as a')
            .select('a.group_id')
            .where('a.tenant_id', '=', tenant.id)
            .where('a.acknowledged_at', '<', cutoff)
            // A flood slides (a robot failing every few minutes for days is one flood): while it has an alert
            // stored, its "I'm on it" is shown with it and in the summaries; once its last alert goes, so does it.
            .where(({ not, exists, selectFrom }) =>
              not(
                exists(
                  selectFrom('alerts').select(sql.lit(1).as('one')).where('alerts.tenant_id', '=', tenant.id).whereRef('alerts.group_id', '=', 'a.group_id'),
                ),
              ),
            )
            .limit(batchSize),
        )
        .executeTakeFirst(),
    );
    await deleteInBatches(batchSize, () =>
      db
        .deleteFrom('alert_action_audit')
        .where('id', 'in', (eb) =>
          eb.selectFrom('alert_action_audit').select('id').where('tenant_id', '=', tenant.id).where('at', '<', cutoff).limit(batchSize),
        )
        .executeTakeFirst(),
    );
    await deleteInBatches(batchSize, () =>
      db
        .deleteFrom('alert_mutes')
        .where('id', 'in', (eb) => eb.selectFrom('alert_mutes').select('id').where('tenant_id', '=', tenant.id).where('until', '<', cutoff).limit(batchSize))
        .executeTakeFirst(),
    );
  }
}

/** RetentionLoop is the running background purge; stop waits for a purge in progress. */
export interface RetentionLoop {
  stop(): Promise<void>;
}

/**
 * startRetention purges expired alerts (and old source delivery keys, finished emails and old mail-health notice claims past the retention) now and then every `intervalMs`, until stopped. A failed
 * purge is logged and retried at the next tick; it never stops the loop.
 */
export function startRetention(options: { db: Db; clock: Clock; logger: Logger; intervalMs?: number; batchSize?: number }): RetentionLoop {
  const { db, clock, logger } = options;
  const intervalMs = options.intervalMs ?? RETENTION_INTERVAL_MS;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  // Through an outage a purge fails every interval: logged when it begins and ends, not each time.
  const outage = new OutageLog(logger, { failed: 'alert retention purge failed', back: 'the alert retention purge works again' });
  const tick = () => {
    running = purgeExpiredAlerts(db, clock.now(), options.batchSize)
      .then(async (n) => {
        if (n > 0) logger.info({ deleted: n }, 'purged expired alerts');
        // The inbound sources' delivery keys expire on the same beat.
        const keys = await purgeOldDeliveries(db, clock.now());
        if (keys > 0) logger.info({ deleted: keys }, 'purged old source delivery keys');
        // And the emails, past the same retention as the alerts they told of.
        const emails = await purgeExpiredDeliveries(db, clock.now(), options.batchSize ?? DELETE_BATCH);
        if (emails > 0) logger.info({ deleted: emails }, 'purged expired emails');
        // And the claims of mail-health notices that can no longer be claimed again.
        await purgeOldNotices(db, clock.now());
        outage.worked();
      })
      .catch((err: unknown) => outage.failed(err, intervalMs))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs).unref();
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
