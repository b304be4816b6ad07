import { type Severity, severityOfRank, severityRank } from '../alerts/severity.js';
import type { Db } from '../storage/database.js';
import type { Window } from './windows.js';

/** EventCount is how many alerts of one event, component and severity a window holds. */
export interface EventCount {
  readonly severity: Severity;
  readonly component: string;
  readonly event: string;
  readonly count: number;
}

/**
 * eventCounts aggregates a tenant's alerts created in a window by event, component and severity
 * (optionally from a severity up): what the daily report shows, and what decides who gets a
 * summary, without reading the alerts themselves.
 */
export async function eventCounts(db: Db, tenantId: string, window: Window, minSeverity?: Severity): Promise<EventCount[]> {
  const rows = await db
    .selectFrom('alerts')
    .select((eb) => ['severity', 'component', 'event', eb.fn.countAll<number>().as('n')])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', window.start)
    .where('created_at', '<', window.end)
    .$if(minSeverity !== undefined, (q) => q.where('severity', '>=', severityRank(minSeverity!)))
    .groupBy(['severity', 'component', 'event'])
    .execute();
  return rows.map((r) => ({ severity: severityOfRank(Number(r.severity)), component: r.component, event: r.event, count: Number(r.n) }));
}

/** FatalFlood is a Fatal alert flood (or a lone Fatal alert) that reached a tenant. */
export interface FatalFlood {
  /** The flood's id: its first alert's id; one immediate email per flood and recipient. */
  readonly groupId: string;
  readonly alertId: string;
  readonly component: string;
  readonly event: string;
}

/** committedFatalFloods lists the floods of some just-committed alerts of a tenant, ignoring those that are not Fatal. */
export async function committedFatalFloods(db: Db, tenantId: string, alertIds: readonly string[]): Promise<FatalFlood[]> {
  if (alertIds.length === 0) return [];
  return floodsOf(await fatalAlerts(db, tenantId).where('id', 'in', alertIds).execute());
}

function fatalAlerts(db: Db, tenantId: string) {
  return db
    .selectFrom('alerts')
    .select(['id', 'group_id', 'component', 'event'])
    .where('tenant_id', '=', tenantId)
    .where('severity', '=', severityRank('Fatal'))
    .orderBy('created_at')
    .orderBy('id');
}

/** floodsOf keeps the first alert of each flood, in the order given. */
function floodsOf(rows: readonly { id: string; group_id: string | null; component: string; event: string }[]): FatalFlood[] {
  const floods = new Map<string, FatalFlood>();
  for (const r of rows) {
    const groupId = r.group_id ?? r.id;
    if (!floods.has(groupId)) floods.set(groupId, { groupId, alertId: r.id, component: r.component, event: r.event });
  }
  return [...floods.values()];
}
