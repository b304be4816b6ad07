import { z } from 'zod';
import { type SeverityCounts, noSeverities, severityCountsView } from '../alerts/histogram.js';
import { severityOfRank } from '../alerts/severity.js';
import { type AttemptCounts, attemptCountsView } from '../delivery/outbox/hourly.js';
import type { RouteModule } from '../http/context.js';
import type { Db } from '../storage/database.js';
import { inCodePointOrder } from '../storage/text-order.js';
import { queryCount } from '../shared/validation.js';

/** TenantActivity is one tenant's recent alerts and mail, for the host's Tenants page. */
export interface TenantActivity {
  tenantId: string;
  name: string;
  displayName: string | null;
  alerts: SeverityCounts;
  attempts: AttemptCounts;
  mailHealth: { state: 'ok' | 'failing'; since: string | null; lastCode: number | null; lastError: string | null };
}

/**
 * tenantActivity counts every tenant's alerts (by severity) and delivery attempts (by how they
 * ended) since a time, with each tenant's mail health: three grouped queries, whatever the number
 * of tenants. Tenants come in GET /tenants' order (by code point), the table's beside the chart.
 */
async function tenantActivity(db: Db, since: number): Promise<TenantActivity[]> {
  const [tenants, alerts, attempts, health] = await Promise.all([
    db.selectFrom('tenants').select(['id', 'name', 'display_name']).orderBy(inCodePointOrder(db, 'name')).execute(),
    db
      .selectFrom('alerts')
      .select((eb) => ['tenant_id', 'severity', eb.fn.countAll<number | string>().as('n')])
      .where('created_at', '>=', since)
      .groupBy(['tenant_id', 'severity'])
      .execute(),
    db
      .selectFrom('delivery_attempts')
      .select((eb) => ['tenant_id', 'outcome', eb.fn.countAll<number | string>().as('n')])
      .where('finished_at', '>=', since)
      .where('outcome', 'in', ['sent', 'retry', 'interrupted', 'failed'])
      .groupBy(['tenant_id', 'outcome'])
      .execute(),
    db.selectFrom('tenant_mail_health').select(['tenant_id', 'state', 'since', 'last_code', 'last_error']).execute(),
  ]);
  const byTenant = new Map(
    tenants.map((t): [string, TenantActivity] => [
      t.id,
      {
        tenantId: t.id,
        name: t.name,
        displayName: t.display_name,
        alerts: noSeverities(),
        attempts: { sent: 0, retrying: 0, failed: 0 },
        mailHealth: { state: 'ok', since: null, lastCode: null, lastError: null },
      },
    ]),
  );
  for (const row of alerts) {
    const entry = byTenant.get(row.tenant_id);
    if (entry) entry.alerts[severityOfRank(row.severity)] += Number(row.n);
  }
  for (const row of attempts) {
    const entry = byTenant.get(row.tenant_id);
    if (!entry) continue;
    const key = row.outcome === 'sent' ? 'sent' : row.outcome === 'failed' ? 'failed' : 'retrying';
    entry.attempts[key] += Number(row.n);
  }
  for (const row of health) {
    const entry = byTenant.get(row.tenant_id);
    if (!entry || row.state !== 'failing') continue;
    entry.mailHealth = {
      state: 'failing',
      since: row.since === null ? null : new Date(Number(row.since)).toISOString(),
      lastCode: row.last_code,
      lastError: row.last_error,
    };
  }
  return [...byTenant.values()];
}

const activityView = z.object({
  since: z.iso.datetime(),
  items: z.array(
    z.object({
      tenantId: z.string(),
      name: z.string(),
      displayName: z.string().nullable(),
      alerts: severityCountsView,
      attempts: attemptCountsView,
      mailHealth: z.object({
        state: z.enum(['ok', 'failing']),
        since: z.iso.datetime().nullable(),
        lastCode: z.number().int().nullable(),
        lastError: z.string().nullable(),
      }),
    }),
  ),
});

const activityQuery = z.object({
  hours: queryCount(720, 1).default(24).describe('How many hours back to count.'),
});

/** tenantActivityRoutes serve the host administrator's overview of every tenant's recent alerts and mail. */
export const tenantActivityRoutes: RouteModule = (app, { storage, clock }) => {
  app.get(
    '/api/v1/system/tenant-activity',
    {
      config: { access: 'host', answer: activityView },
      schema: {
        querystring: activityQuery,
        description:
          "Every tenant's alerts by severity and delivery attempts by outcome over the last `hours`, with its mail health: {since, items: [{tenantId, name, displayName, alerts: {Info, Success, Warn, Error, Fatal}, attempts: {sent, retrying, failed}, mailHealth: {state, since, lastCode, lastError}}]}.",
      },
    },
    async (request) => {
      const since = clock.now() - request.query.hours * 3_600_000;
      return { since: new Date(since).toISOString(), items: await tenantActivity(storage.db, since) };
    },
  );
};
