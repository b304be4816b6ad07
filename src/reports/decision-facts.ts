import { CompiledQuery, type RawBuilder, sql } from 'kysely';
import { severityRank } from '../alerts/severity.js';
import type { Mute } from '../mutes/model.js';
import { muteFromRow } from '../mutes/store.js';
import { layerFromRow } from '../preferences/store.js';
import type { AccessFacts, Recipient, UserFacts } from '../recipients/eligibility.js';
import { RECIPIENT_PAGE_SIZE, type UserRows, accessFactsFrom, groupRecipients, userFactsFrom, userRecipientsFrom } from '../recipients/query.js';
import { multiMap } from '../shared/multi-map.js';
import type { Db } from '../storage/database.js';
import { serverPrepared } from '../storage/pg-prepared.js';
import { inListOf, sqlOnce } from '../storage/sql-once.js';
import { inCodePointOrder } from '../storage/text-order.js';
import { type FatalFlood, floodsOf } from './alert-facts.js';
import type { ReportTenant } from './decision-transactions.js';
import type { TenantNames } from './reader-reads.js';

/** DecisionFacts are what deciding the immediate emails of a commit's Fatal alerts needs of one tenant. */
export interface DecisionFacts {
  readonly tenant: ReportTenant;
  /** The tenant's mail settings say alert emails are on (a tenant without settings has them off, as getMailSettings says). */
  readonly alertsEmailEnabled: boolean;
  readonly floods: readonly FatalFlood[];
  readonly mutes: readonly Mute[];
  /** Every recipient of the tenant; undefined when the commit's tenants have more users than one page, to be read by pages. */
  readonly recipients: readonly Recipient[] | undefined;
  /** What an email shows of the tenant (readTenantNames). */
  readonly names: TenantNames;
  /**
   * The tenant's users by id and its roles and groups, as the recipients were decided from; undefined
   * with `recipients` (and for a tenant whose alert emails are off, none).
   */
  readonly readers: { readonly users: ReadonlyMap<string, UserFacts>; readonly access: AccessFacts } | undefined;
}

/** One row of the statement: its kind, tenant, a sort key, and the columns of that kind's row. */
interface FactRow {
  readonly k: string;
  readonly tenant_id: string;
  readonly c1: string;
  readonly c2: string | null;
  readonly c3: string | null;
  readonly c4: string | null;
  readonly c5: string | null;
  readonly c6: string | null;
  readonly n1: number | null;
  readonly n2: number | null;
  readonly n3: number | null;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const nothing = (type: 'text' | 'bigint', n: number) => Array.from({ length: n }, () => `cast(null as ${type})`).join(', ');

/**
 * factsQuery is the one statement that reads a commit's decision facts: the union of the rows of
 * the tenants (with their alert-email setting), the Fatal alerts among the commit's, the mutes in
 * force, the roles, the groups (their roles and rules) and, when the tenants have no more users
 * than one page, the users (their roles, groups and own rules), each row tagged by its kind. Each
 * part was a statement of its own (ten for a tenant of one user), costing Kysely more CPU than
 * SQLite spends on it; the text depends only on the number of tenants and alerts, so it is
 * compiled once per shape. No part is ordered or limited in SQL: SQLite materialises a limited
 * common table expression per reference (about 0.1 ms each), so the rows are ordered here. The
 * alerts are found by id alone (the rows of a tenant not read are left aside by tenant): with the
 * tenant as well, SQLite walked the tenant's every alert once a commit held 128 Fatal alerts,
 * inside the ingest's write transaction (30 ms a commit at 60,000 alerts, and growing with them).
 * Every part but the tenants' rows reads only the tenants whose alert emails are on (`mailing`):
 * nothing is decided for the others, yet their alerts, mutes and recipients were read and shaped
 * in every group commit (1.0–1.5 CPU-ms a commit of 80 Fatal alerts in a loop, 0.4–0.6 without).
 * `mailing` is materialised, read once for its nine references: the statement costs 0.20–0.27
 * CPU-ms instead of 0.26–0.38 for one Fatal alert of a tenant of one recipient (a loop, load 9).
 */
function factsQuery(
  tenantIds: readonly string[],
  alertIds: readonly string[],
  fatal: number,
  now: number,
  users: number,
  groupOrder: RawBuilder<string>,
): RawBuilder<FactRow> {
  const b = nothing('bigint', 3);
  const ids = (values: readonly string[]) => sql.join(values.map((v) => sql`${v}`));
  return sql<FactRow>`
with tn as (select id from tenants where id in (${ids(tenantIds)})),
mailing as materialized (select tenant_id as id from tenant_mail_settings where tenant_id in (select id from tn) and alerts_email_enabled = 1),
few as (select case when count(*) <= ${users} then 1 else 0 end as ok from users where tenant_id in (select id from mailing))
select 't' as k, t.id as tenant_id, cast(null as text) as s, t.name as c1, t.language as c2, t.time_zone as c3,
  t.display_name as c4, cast(null as text) as c5, cast(null as text) as c6,
  t.created_at as n1, m.alerts_email_enabled as n2, (select ok from few) as n3
  from tenants t left join tenant_mail_settings m on m.tenant_id = t.id where t.id in (select id from tn)
union all select 'a', tenant_id, null, id, group_id, component, event, source, null, created_at, null, null
  from alerts where id in (${ids(alertIds)}) and severity = ${fatal} and exists (select 1 from mailing)
union all select 'm', tenant_id, null, id, scope, owner_id, match, created_by_id, created_by_name, until, created_at, null
  from alert_mutes where tenant_id in (select id from mailing) and until > ${now} and lifted_at is null
union all select 'r', tenant_id, null, id, permissions, ${sql.raw(nothing('text', 4))}, ${sql.raw(b)}
  from roles where tenant_id in (select id from mailing)
union all select 'g', tenant_id, null, id, name, email, language, null, null, expand_members, row_number() over (order by ${groupOrder}), null
  from groups where tenant_id in (select id from mailing)
union all select 'gr', g.tenant_id, null, gr.group_id, gr.role_id, ${sql.raw(nothing('text', 4))}, ${sql.raw(b)}
  from group_roles gr join groups g on g.id = gr.group_id where g.tenant_id in (select id from mailing)
union all select 'gp', tenant_id, null, owner_id, subscriptions, ${sql.raw(nothing('text', 4))}, ten_minute_summary, daily_report, fatal_immediately
  from group_alert_preferences where owner_id in (select id from groups where tenant_id in (select id from mailing))
union all select 'u', u.tenant_id, null, u.id, u.email, u.name, u.language, u.time_zone, null, u.active, null, null
  from users u where u.tenant_id in (select id from mailing) and (select ok from few) = 1
union all select 'ur', u.tenant_id, null, ur.user_id, ur.role_id, ${sql.raw(nothing('text', 4))}, ${sql.raw(b)}
  from user_roles ur join users u on u.id = ur.user_id where u.tenant_id in (select id from mailing) and (select ok from few) = 1
union all select 'gm', u.tenant_id, null, gm.user_id, gm.group_id, ${sql.raw(nothing('text', 4))}, ${sql.raw(b)}
  from group_members gm join users u on u.id = gm.user_id where u.tenant_id in (select id from mailing) and (select ok from few) = 1
union all select 'up', u.tenant_id, null, o.owner_id, o.subscriptions, ${sql.raw(nothing('text', 4))}, o.ten_minute_summary, o.daily_report, o.fatal_immediately
  from user_alert_preferences o join users u on u.id = o.owner_id where u.tenant_id in (select id from mailing) and (select ok from few) = 1
`.$castTo<FactRow>();
}

/**
 * mailingTenants answers which of the tenants have their alert emails on, in one small statement
 * (prepared once per connection on PostgreSQL): for a commit none of whose tenants mails, what the
 * in-commit decision reads instead of the facts' statement, a dozen parts that PostgreSQL spent
 * about 0.4 CPU-ms starting and running in every group commit to find nothing to decide.
 */
export async function mailingTenants(db: Db, someTenantIds: readonly string[]): Promise<Set<string>> {
  if (someTenantIds.length === 0) return new Set();
  const tenantIds = inListOf(someTenantIds);
  const text = serverPrepared(
    sqlOnce(db, `mailingTenants ${tenantIds.length}`, () =>
      db.selectFrom('tenant_mail_settings').select('tenant_id').where('tenant_id', 'in', tenantIds).where('alerts_email_enabled', '=', 1),
    ),
  );
  const { rows } = await db.executeQuery<{ tenant_id: string }>(CompiledQuery.raw(text, [...tenantIds, 1]));
  return new Set(rows.map((r) => r.tenant_id));
}

/**
 * decisionFacts reads, in one statement, what deciding the immediate emails of some just-committed
 * alerts needs of each of their tenants (those that exist): the tenant, whether its alert emails
 * are on and, only when they are, the floods of its Fatal alerts among them, its mutes in force at
 * `now` and its recipients (none for a tenant whose alert emails are off), with what an email shows
 * of the tenant and the users and access facts the recipients were decided from (readerReadsOf).
 * Only tenants whose group has an address of its own cost two more reads (is it a user's address,
 * did it opt out); the users of tenants too large for one page are left to recipientPages.
 */
export async function decisionFacts(db: Db, someTenantIds: readonly string[], someAlertIds: readonly string[], now: number): Promise<DecisionFacts[]> {
  if (someTenantIds.length === 0 || someAlertIds.length === 0) return [];
  const tenantIds = inListOf(someTenantIds);
  const alertIds = inListOf(someAlertIds);
  const fatal = severityRank('Fatal');
  const text = serverPrepared(
    sqlOnce(db, `decisionFacts ${tenantIds.length} ${alertIds.length}`, () => ({
      compile: () => factsQuery(tenantIds, alertIds, fatal, now, RECIPIENT_PAGE_SIZE, inCodePointOrder(db, 'name')).compile(db),
    })),
  );
  // In the order the statement's placeholders take them.
  const params = [...tenantIds, RECIPIENT_PAGE_SIZE, ...alertIds, fatal, now];
  const { rows } = await db.executeQuery<FactRow>(CompiledQuery.raw(text, params));
  const of = multiMap(rows.map((r) => [r.k, r] as const));
  const part = (k: string) => of.get(k) ?? [];
  // In the orders the reads one by one took: alerts by creation (the first of a flood names it),
  // mutes by end, users by id, groups by name in code-point order (the first by name
  // writes to an address two groups share).
  const byNumberThenId = (a: FactRow, b: FactRow) => Number(a.n1) - Number(b.n1) || compare(a.c1, b.c1);
  const tenants: ReportTenant[] = part('t').map((r) => ({ id: r.tenant_id, name: r.c1, language: r.c2!, timeZone: r.c3!, createdAt: Number(r.n1) }));
  const ids = tenants.map((x) => x.id);
  const layer = (r: FactRow) => layerFromRow({ subscriptions: r.c2!, ten_minute_summary: r.n1, daily_report: r.n2, fatal_immediately: r.n3 });
  const facts = accessFactsFrom(ids, {
    roles: part('r').map((r) => ({ id: r.c1, tenant_id: r.tenant_id, permissions: r.c2! })),
    groups: part('g')
      .sort((a, b) => Number(a.n2) - Number(b.n2))
      .map((r) => ({ id: r.c1, tenant_id: r.tenant_id, name: r.c2!, email: r.c3, language: r.c4, expand_members: Number(r.n1) })),
    groupRoles: part('gr').map((r) => ({ group_id: r.c1, role_id: r.c2! })),
    rules: new Map(part('gp').map((r) => [r.c1, layer(r)])),
  });
  const userRows = part('u').sort((a, b) => compare(a.c1, b.c1));
  const names = new Map(part('t').map((r) => [r.tenant_id, { id: r.tenant_id, name: r.c1, display_name: r.c4!, time_zone: r.c3!, language: r.c2! }]));
  // More users than one page: the statement left them out, and the caller reads them by pages (recipientPages), as before.
  const whole = part('t').every((r) => Number(r.n3) === 1);
  const byId = new Map(tenants.map((x) => [x.id, x]));
  const users: UserRows = {
    users: userRows.map((r) => ({ id: r.c1, tenant_id: r.tenant_id, email: r.c2!, name: r.c3!, language: r.c4, time_zone: r.c5, active: Number(r.n1) })),
    roles: part('ur').map((r) => ({ user_id: r.c1, role_id: r.c2! })),
    memberships: part('gm').map((r) => ({ user_id: r.c1, group_id: r.c2! })),
    own: new Map(part('up').map((r) => [r.c1, layer(r)])),
  };
  // Made once: the recipients are decided from them, and the leased emails' reader reads made of them (readerReadsOf).
  const userFacts = whole ? userFactsFrom(users) : [];
  const usersOf = userRecipientsFrom(userFacts, facts, byId);
  const userFactsOf = multiMap(userFacts.map((u) => [u.tenantId, u] as const));
  const groupsOf = whole ? await groupRecipients(db, tenants, facts, usersOf) : new Map<string, Recipient[]>();
  const floodsByTenant = multiMap(
    part('a')
      .sort(byNumberThenId)
      .map((r) => [r.tenant_id, r] as const),
  );
  const mutesByTenant = multiMap(
    part('m')
      .sort(byNumberThenId)
      .map(
        (r) =>
          [
            r.tenant_id,
            muteFromRow({
              id: r.c1,
              scope: r.c2!,
              owner_id: r.c3,
              match: r.c4!,
              created_by_id: r.c5!,
              created_by_name: r.c6!,
              until: Number(r.n1),
              created_at: Number(r.n2),
            }),
          ] as const,
      ),
  );
  const enabled = new Map(part('t').map((r) => [r.tenant_id, Number(r.n2) === 1]));
  return tenants.map((tenant) => ({
    tenant,
    alertsEmailEnabled: enabled.get(tenant.id)!,
    floods: floodsOf((floodsByTenant.get(tenant.id) ?? []).map((r) => ({ id: r.c1, group_id: r.c2, component: r.c3!, event: r.c4!, source: r.c5 }))),
    mutes: mutesByTenant.get(tenant.id) ?? [],
    recipients: whole ? [...(groupsOf.get(tenant.id) ?? []), ...(usersOf.get(tenant.id) ?? [])] : undefined,
    names: names.get(tenant.id)!,
    readers: whole ? { users: new Map((userFactsOf.get(tenant.id) ?? []).map((u) => [u.id, u])), access: facts.get(tenant.id)! } : undefined,
  }));
}
