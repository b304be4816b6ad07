import { CompiledQuery, type Selectable, sql } from 'kysely';
import { NOT_SENT_TEXT } from '../delivery/not-sent.js';
import type { ActionLinks, ActionSubject, AlertActionUrls } from '../actions/links.js';
import type { ActionKind } from '../actions/token.js';
import type { Permission } from '../access/permissions.js';
import { type Acknowledgement, acknowledgementFromRow, acknowledgementsOf, acknowledgementsOfAlerts } from '../alerts/acknowledgements.js';
import { actorName } from '../alerts/action-audit.js';
import { componentDisplayName, eventDisplayName } from '../alerts/catalogue.js';
import { type Severity, severityRank } from '../alerts/severity.js';
import type { Language } from '../i18n/languages.js';
import { alertMessageIn } from '../mail-health/alert-message.js';
import { toStoredAlert } from '../alerts/store.js';
import { type AlertGroup, type LinePart, type WindowAlert, type WindowQuery, linePartsOf, streamAlertsInWindow, windowAlertOf } from '../alerts/window.js';
import { SOURCE_FILTER_PARTS } from '../alerts/source-parts.js';
import type { EmailKind, Mailbox, RenderedEmail } from '../delivery/contract.js';
import { ComposeError, ComposeLaterError, type ComposerRegistry } from '../delivery/outbox/render.js';
import type { Delivery } from '../delivery/outbox/delivery.js';
import { type KeyHolder, holderDelivers, holdsReleasedKey, readdressDelivery } from '../delivery/outbox/readdress.js';
import { LEASED_KEYS, type LeasedReads } from '../delivery/outbox/leased-reads.js';
import { type Recipient, languageOf } from '../recipients/eligibility.js';
import { type RecipientTenant, groupRecipients, loadAccessFacts } from '../recipients/query.js';
import { EMAIL_CHOICE_OF, NO_PREFERENCES, type Preferences, isSubscribed, wantsEmail } from '../preferences/model.js';
import { recipientsPreferences } from '../preferences/store.js';
import {
  type MailboxRef,
  type MutableAlert,
  type Mute,
  appliesTo,
  endedMuteBounds,
  isMutedFor,
  matchParts,
  unmutedFor,
  windowMuteInstant,
  windowMutes,
} from '../mutes/model.js';
import { activeMutes, windowMutesOf } from '../mutes/store.js';
import { type Clock, systemClock } from '../shared/clock.js';
import { LoopTurns } from '../shared/loop-turns.js';
import type { UrgentSends } from '../shared/urgent-sends.js';
import { firstKnownZone, sameMailbox } from '../shared/validation.js';
import type { Database, Db } from '../storage/database.js';
import { inListOf, sqlOnce } from '../storage/sql-once.js';
import { TurnBatch } from './turn-batch.js';
import { READER_READS, type UserNow, readPermissions, readTenantNames, readUserNow } from './reader-reads.js';
import { DateTime } from 'luxon';
import { type EventCount, type SourcedEventCount, mergeEventCounts, sourcedEventCounts } from './alert-facts.js';
import { type DailyHealth, dailyHealth, healthBySource } from './daily-health.js';
import { type SourceKey, SourceTally, sourceKeyId } from './source-groups.js';
import { type ReportData, idempotencyKeyAt } from './recipient-rules.js';
import { renderDailyEmail } from './templates/daily-email.js';
import { SHORTER_HTML_BUDGET } from './templates/fit.js';
import { ImmediateEmailCache } from './templates/immediate-cache.js';
import { renderImmediateEmail } from './templates/immediate-email.js';
import { getMailSettings } from '../settings/mail-settings.js';
import { alertListUrl, preferencesUrl } from './templates/links.js';
import { SUMMARY_MAX_LINES, renderSummaryEmail } from './templates/summary-email.js';
import type { AlertGroupView, AlertSourceView, ImmediateEmailView, MuteLineView, RecipientView, ReportLinks, TenantView } from './templates/view-models.js';
import { optedOut } from './unsubscribe/apply.js';
import type { UnsubscribeLinks } from './unsubscribe/links.js';
import { WindowCache } from './window-cache.js';
import { summaryWindowCount } from './windows.js';
import type { ReadCache } from '../shared/read-cache.js';

/** ComposerDeps are what the report composers read from at send time. */
export interface ComposerDeps {
  readonly db: Db;
  readonly publicUrl: string;
  readonly summaryIntervalMs: number;
  readonly unsubscribeLinks: UnsubscribeLinks;
  /** What "now" is for the mutes in force; the system clock unless a test moves time. */
  readonly clock?: Clock;
  /** Makes each user recipient's mute, snooze and acknowledge links; without it emails carry none. */
  readonly actionLinks?: ActionLinks;
  /**
   * Keeps the tenant's names and a recipient's permissions between claims (forgotten when they
   * change through this process's API); without it they are read once per claim.
   */
  readonly kept?: ReadCache;
  /** What the commit that queued an email leased to this process read for it (its alert's facts, its tenant's names, its reader's address and permissions), still fresh. */
  readonly leasedReads?: LeasedReads | undefined;
  /** The urgent emails this process is sending, which the reports' renders give way to (LoopTurns). */
  readonly urgentSends?: UrgentSends | undefined;
}

interface Context {
  readonly data: ReportData;
  readonly tenant: TenantView & { readonly id: string };
  readonly recipient: RecipientView;
  /** What a user recipient may do now (readerOf); undefined for a group mailbox. */
  readonly permissions: ReadonlySet<Permission> | undefined;
  /** The mailbox this email goes to, which its action links are bound to. */
  readonly address: string;
  /** Set when that is no longer its row's address (readdressed): the email's `to`. */
  readonly readdressed: Mailbox | undefined;
  readonly links: ReportLinks;
}

/** Caches are shared by the composers of one process; see WindowCache. */
interface Caches {
  readonly groups: WindowCache<AlertGroup[] | undefined>;
  /** The parts of a window's lines that are not uniform, which every reader with mutes reads alike. */
  readonly lineParts: WindowCache<LinePart[]>;
  /** A daily window's counts split by source (and the day before's): the counts, mutes and health section read them. */
  readonly sourcedCounts: WindowCache<SourcedEventCount[]>;
  /** A daily period's counts and health section for one set of subscriptions and mutes. */
  readonly dailyFacts: WindowCache<{
    merged: EventCount[];
    health: DailyHealth;
    acknowledged: Map<string, Acknowledgement>;
    mutedAlerts: number;
    /** The ids of the mutes that ended in the period and kept some of its alerts out. */
    endedHiding: ReadonlySet<string>;
  }>;
  /** Rows every email of one claimed batch reads alike, keyed by the batch's lease token. */
  readonly claimed: WindowCache<unknown>;
  readonly immediate: ImmediateEmailCache;
  readonly immediateFacts: TurnBatch<ImmediateFacts>;
  /** The readers' preferences, by `user:id` or `group:id` (preferencesOf). */
  readonly preferences: TurnBatch<Preferences>;
  /**
   * Turns of the event loop for the reports' synchronous work (their lines, links and render), one
   * report at a time: a claim's reports read their window's facts together, then each renders in a
   * turn of its own, so that the outbox's heartbeat renews their leases between two renders.
   */
  readonly renders: LoopTurns;
}

type AlertRow = Selectable<Database['alerts']>;

/** ImmediateFacts are what an immediate email reads of its alert: the row, its flood so far, and who acknowledged the flood. */
export interface ImmediateFacts {
  readonly alert: AlertRow;
  readonly flood: { readonly n: number; readonly last: number };
  readonly acknowledgement: Acknowledgement | undefined;
}

type ImmediateFactsRow = AlertRow & {
  readonly flood_repeats: number | string;
  readonly flood_first: number | string;
  readonly flood_last: number | string | null;
  readonly flood_first_at: number | string | null;
  readonly ack_user_id: string | null;
  readonly ack_user_name: string | null;
  readonly ack_at: number | string | null;
};

/**
 * immediateFactsQuery reads some alerts of a tenant, each with its flood's count and last time
 * so far and the flood's acknowledgement, in one statement (they were three). A flood is its first
 * alert (id = g, where g is the alert's group id, or its own id for a first alert) and its repeats
 * (group_id = g), counted by separate lookups: written as `(group_id = ? or id = ?)`, SQLite
 * walked every alert of the tenant by its (tenant_id, created_at) index instead. The alerts are found
 * by id alone and another tenant's left aside here: with the tenant in the statement, SQLite walked
 * the tenant's every alert for a batch of 64 ids or more.
 */
function immediateFactsQuery(alertIds: readonly string[]) {
  return sql<ImmediateFactsRow>`select a.*,
  (select count(*) from alerts r where r.tenant_id = a.tenant_id and r.group_id = coalesce(a.group_id, a.id)) as flood_repeats,
  (select count(*) from alerts f where f.tenant_id = a.tenant_id and f.id = coalesce(a.group_id, a.id) and (f.group_id is null or f.group_id <> f.id)) as flood_first,
  (select max(r.occurred_at) from alerts r where r.tenant_id = a.tenant_id and r.group_id = coalesce(a.group_id, a.id)) as flood_last,
  (select max(f.occurred_at) from alerts f where f.tenant_id = a.tenant_id and f.id = coalesce(a.group_id, a.id) and (f.group_id is null or f.group_id <> f.id)) as flood_first_at,
  k.user_id as ack_user_id, k.user_name as ack_user_name, k.acknowledged_at as ack_at
from alerts a left join alert_acknowledgements k on k.tenant_id = a.tenant_id and k.group_id = coalesce(a.group_id, a.id)
where a.id in (${sql.join(alertIds.map((id) => sql`${id}`))})`;
}

/** immediateFactsOf reads the ImmediateFacts of some alerts of a tenant, by alert id (a missing alert, or another tenant's, is left out). */
export async function immediateFactsOf(db: Db, tenantId: string, someAlertIds: readonly string[]): Promise<Map<string, ImmediateFacts>> {
  const alertIds = inListOf(someAlertIds);
  const text = sqlOnce(db, `immediateFacts ${alertIds.length}`, () => ({ compile: () => immediateFactsQuery(alertIds).compile(db) }));
  const { rows } = await db.executeQuery<ImmediateFactsRow>(CompiledQuery.raw(text, alertIds));
  return new Map(
    rows
      .filter((r) => r.tenant_id === tenantId)
      .map((r) => {
        const { flood_repeats, flood_first, flood_last, flood_first_at, ack_user_id, ack_user_name, ack_at, ...alert } = r;
        const lasts = [flood_last, flood_first_at].filter((t) => t !== null).map(Number);
        const acknowledgement =
          ack_user_id === null ? undefined : acknowledgementFromRow({ user_id: ack_user_id, user_name: ack_user_name!, acknowledged_at: ack_at! });
        return [alert.id, { alert, flood: { n: Number(flood_repeats) + Number(flood_first), last: Math.max(...lasts) }, acknowledgement }] as const;
      }),
  );
}

/**
 * perClaim reads `what` once per claimed batch: the emails of one claim (one lease token) share
 * the result, as if they were all rendered at the claim. An unclaimed delivery reads afresh. With
 * `kept` (the tenant's names, a user's permissions: what the API changes, and forgets), the
 * process's ReadCache serves it across claims too: a Fatal email handed over at its commit is a
 * claim of its own, and takes what that commit read of it (LeasedReads, readerReadsOf) first.
 */
function perClaim<T>(deps: ComposerDeps, caches: Caches, delivery: Delivery, what: string, load: () => Promise<T>, kept = false): Promise<T> {
  const atCommit = kept ? deps.leasedReads?.get<T>(delivery.leaseToken, LEASED_KEYS.readerRead(what)) : undefined;
  if (atCommit !== undefined) return Promise.resolve(atCommit);
  const read = kept && deps.kept ? () => deps.kept!.get(`compose:${what}`, load) : load;
  if (delivery.leaseToken === null) return read();
  // A change made through this process's API since (ReadCache's forget) is read by the claim's
  // next emails too, not by its next claim only: a claim's rows are rendered over as long as its
  // tenant's server takes to drain them, and a reader deleted or a snooze meanwhile counts.
  return caches.claimed.get(`${delivery.leaseToken}:${deps.kept?.generation ?? 0}:${what}`, read) as Promise<T>;
}

async function contextOf(deps: ComposerDeps, caches: Caches, delivery: Delivery): Promise<Context> {
  if (!('data' in delivery.payload)) throw new ComposeError(`delivery ${delivery.id} carries no report data`);
  const data = delivery.payload.data as ReportData;
  const row = await perClaim(deps, caches, delivery, READER_READS.tenant(delivery.tenantId), () => readTenantNames(deps.db, delivery.tenantId), true);
  if (!row) throw new ComposeError(`tenant ${delivery.tenantId} no longer exists`);
  const tenant: RecipientTenant = { id: row.id, language: row.language, timeZone: row.time_zone };
  const reader = await readerNow(deps, caches, delivery, data, tenant);
  const permissions = await readerOf(deps, caches, delivery, data, tenant);
  const name = reader?.name ?? delivery.recipient.name;
  const readdressed = await moveToAddressNow(deps, caches, delivery, data, tenant, reader?.email, name);
  const address = readdressed?.address ?? delivery.recipient.address;
  const kind = delivery.kind as Exclude<EmailKind, 'test'>;
  const unsubscribe = await deps.unsubscribeLinks.url({ tenantId: row.id, kind, recipient: { type: data.recipient.type, id: data.recipient.id, address } });
  return {
    data,
    tenant: { id: row.id, name: row.name, displayName: row.display_name, timeZone: row.time_zone },
    recipient: {
      name,
      ...(data.recipient.type === 'group' ? { group: true } : {}),
      language: reader?.language ?? languageOf(delivery.recipient.language),
      timeZone: reader?.timeZone ?? delivery.recipient.timeZone,
    },
    permissions,
    address,
    readdressed,
    links: { preferences: preferencesUrl(deps.publicUrl, row.id, data.recipient.type === 'group' ? data.recipient.id : undefined), unsubscribe },
  };
}

/**
 * moveToAddressNow moves an email to its reader's address now when it changed after the email was
 * decided (a typo corrected while the mail server was down, a retry after a 4xx, a group's mailbox
 * moved): the former mailbox is no longer theirs, and the reader (a person, or the team behind a
 * group mailbox) still counts on that window's summary or that Fatal alert's email. The row is moved
 * first (readdressDelivery), so that the delivery log shows where it went and the new address gets
 * it once: when that address has it already (decided again for it since: a Fatal flood repeating,
 * or another recipient's row there that goes), this one is not sent, the reader no longer getting
 * alert emails at this address; when another claim is sending that row, it waits for that send to
 * end (ComposeLaterError). The same mailbox spelt again keeps its row's address, unless the row
 * holds a key not its mailbox's (holdsReleasedKey: given up to another moving in, or queued behind
 * another reader's row): it takes that key, or yields.
 */
async function moveToAddressNow(
  deps: ComposerDeps,
  caches: Caches,
  delivery: Delivery,
  data: ReportData,
  tenant: RecipientTenant,
  email: string | undefined,
  name: string | undefined,
): Promise<Mailbox | undefined> {
  if (email === undefined) return undefined;
  const same = sameMailbox(email, delivery.recipient.address);
  if (same && !holdsReleasedKey(delivery)) return undefined;
  const address = same ? delivery.recipient.address : email;
  const delivers = async (holder: KeyHolder) =>
    holderDelivers(holder, holder.recipient && (await addressNow(deps, caches, delivery, holder.recipient, tenant)));
  const now = (deps.clock ?? systemClock).now();
  const moved = await readdressDelivery(deps.db, delivery, address, idempotencyKeyAt(delivery, data, address), delivers, now);
  if (moved === 'taken') throw new ComposeError(NOT_A_READER);
  if (typeof moved === 'object') throw new ComposeLaterError(`another email to ${address} is being sent; tried again once it ends`, moved.inFlightUntil);
  if (moved === 'unleased') throw new Error(`delivery ${delivery.id} is no longer this claim's: not moved to its reader's new address`);
  return same ? undefined : { address, name };
}

/**
 * addressNow is the mailbox a user or group gets this tenant's alert emails at now, as a decision
 * would write to it: a user's address while it is active with Alerts.View; a group's own address
 * while it has one, is not expanded to its members, holds Alerts.View and is no reader's
 * (groupsNow). Undefined when it gets none.
 */
async function addressNow(
  deps: ComposerDeps,
  caches: Caches,
  delivery: Delivery,
  recipient: ReportData['recipient'],
  tenant: RecipientTenant,
): Promise<string | undefined> {
  if (recipient.type === 'group') return (await groupsNow(deps, caches, delivery, tenant)).get(recipient.id)?.address;
  const permissions = await perClaim(deps, caches, delivery, READER_READS.permissions(recipient.id), () => readPermissions(deps.db, recipient.id), true);
  return permissions.has('Alerts.View') ? (await userNow(deps, caches, delivery, recipient.id))?.email : undefined;
}

/**
 * groupsNow are the tenant's group mailboxes that get alert emails now, by group id, decided as the
 * reports are (groupRecipients: a group expanded to its members, without Alerts.View, or whose
 * address a reader has now, writes to none), read once per claim.
 */
function groupsNow(deps: ComposerDeps, caches: Caches, delivery: Delivery, tenant: RecipientTenant): Promise<ReadonlyMap<string, Recipient>> {
  return perClaim(
    deps,
    caches,
    delivery,
    `groups-now:${tenant.id}`,
    async () => {
      const facts = await perClaim(deps, caches, delivery, `access:${tenant.id}`, () => loadAccessFacts(deps.db, tenant.id), true);
      const groups = (await groupRecipients(deps.db, [tenant], new Map([[tenant.id, facts]]))).get(tenant.id) ?? [];
      return new Map(groups.map((g) => [g.id, g]));
    },
    true,
  );
}

/**
 * mutesOf reads the tenant's mutes in force at send time, once per claimed batch, keeping those
 * that cover this email's mailbox (every tenant mute, and a user's own snoozes); for the email of
 * a window, those in force at its last instant too (windowMuteInstant), and those that ended
 * inside it, which still cover the alerts stored while they were in force (windowMutesOf). `now` is the
 * instant they are judged at.
 */
async function mutesOf(
  deps: ComposerDeps,
  caches: Caches,
  delivery: Delivery,
  mailbox: MailboxRef,
  window?: { readonly start: number; readonly end: number },
): Promise<{ mutes: Mute[]; now: number }> {
  const sentAt = (deps.clock ?? systemClock).now();
  if (!window) {
    const all = await perClaim(deps, caches, delivery, `mutes:${delivery.tenantId}`, () => activeMutes(deps.db, delivery.tenantId, sentAt));
    return { mutes: all.filter((m) => appliesTo(m, mailbox, sentAt)), now: sentAt };
  }
  const key = `mutes:${delivery.tenantId}:${window.start}:${window.end}`;
  const all = await perClaim(
    deps,
    caches,
    delivery,
    key,
    async () => (await windowMutesOf(deps.db, [delivery.tenantId], window.start)).get(delivery.tenantId) ?? [],
  );
  const now = windowMuteInstant(window, sentAt);
  return { mutes: windowMutes(all, window, now).filter((m) => appliesTo(m, mailbox, window.start)), now };
}

/**
 * NOT_A_READER is why an email is not sent to a user deleted, deactivated or without Alerts.View
 * since it was decided, or to the former address of one whose new address has the same email of its
 * own (moveToAddressNow), or to a group mailbox that was deleted, expanded to its members, left
 * without Alerts.View or whose address a reader has now (the delivery log's error).
 */
export const NOT_A_READER = NOT_SENT_TEXT['not-a-reader'];

/**
 * readerOf reads what a user recipient may do now (undefined for a group mailbox), and throws when
 * the recipient may no longer read alerts: a user deleted, deactivated, or without Alerts.View
 * since the email was decided (a summary sent late after a mail server outage, a Fatal email on
 * its retry); a group whose mailbox no longer gets alert emails (groupsNow).
 */
async function readerOf(
  deps: ComposerDeps,
  caches: Caches,
  delivery: Delivery,
  data: ReportData,
  tenant: RecipientTenant,
): Promise<ReadonlySet<Permission> | undefined> {
  if (data.recipient.type === 'group') {
    // One whose address changed gets it at the new one (moveToAddressNow).
    if (!(await groupsNow(deps, caches, delivery, tenant)).has(data.recipient.id)) throw new ComposeError(NOT_A_READER);
    return undefined;
  }
  const userId = data.recipient.id;
  // A user gets many emails of one claim (one per Fatal alert): they are read once. An inactive or
  // deleted user has no permissions, so one statement answers all three, as the action links' read did.
  const permissions = await perClaim(deps, caches, delivery, READER_READS.permissions(userId), () => readPermissions(deps.db, userId), true);
  if (!permissions.has('Alerts.View')) throw new ComposeError(NOT_A_READER);
  // Deleted since its permissions were read (kept apart). One whose address changed gets it at the new one (moveToAddressNow).
  if (!(await userNow(deps, caches, delivery, userId))) throw new ComposeError(NOT_A_READER);
  return permissions;
}

/** userNow reads a user's address, name, language and time zone now (undefined for a user deleted since), once per claim. */
function userNow(deps: ComposerDeps, caches: Caches, delivery: Delivery, userId: string): Promise<UserNow | undefined> {
  return perClaim(deps, caches, delivery, READER_READS.user(userId), () => readUserNow(deps.db, userId), true);
}

/**
 * readerNow is how an email's recipient is written to now: its name, language and time zone as
 * they are when the email is written, which is later than its decision when it is retried after a
 * mail server outage (a reader who has since chosen German or moved to Tokyo reads it so, as its
 * subscriptions and mutes are those of then). Undefined when the recipient is gone (readerOf says so).
 */
async function readerNow(
  deps: ComposerDeps,
  caches: Caches,
  delivery: Delivery,
  data: ReportData,
  tenant: RecipientTenant,
): Promise<{ name: string; language: Language; timeZone: string; email: string } | undefined> {
  if (data.recipient.type === 'group') {
    const group = (await groupsNow(deps, caches, delivery, tenant)).get(data.recipient.id);
    return group && { name: group.name, email: group.address, language: group.language, timeZone: group.timeZone };
  }
  const user = await userNow(deps, caches, delivery, data.recipient.id);
  return (
    user && {
      name: user.name,
      email: user.email,
      language: languageOf(user.language, tenant.language),
      timeZone: firstKnownZone(user.time_zone, tenant.timeZone),
    }
  );
}

/**
 * actionsOf gives the recipient's action links for a line, or nothing: links are a person's (a
 * group mailbox, with no `permissions`, gets none), and "mute for everyone" is only offered to a
 * holder of Alerts.Edit.
 */
function actionsOf(deps: ComposerDeps, c: Context): (subject: ActionSubject, kinds?: readonly ActionKind[]) => AlertActionUrls | undefined {
  const links = deps.actionLinks;
  const permissions = c.permissions;
  if (!links || !permissions) return () => undefined;
  const recipient = { tenantId: c.tenant.id, userId: c.data.recipient.id, address: c.address, canMute: permissions.has('Alerts.Edit') };
  return (subject, kinds) => links.urlsFor(recipient, subject, kinds);
}

/** withAcknowledgements adds "acknowledged by NAME at TIME" to the lines whose flood someone acknowledged. */
async function withAcknowledgements(
  db: Db,
  tenantId: string,
  lines: readonly (AlertGroupView & { groupId: string })[],
  language: Language,
): Promise<AlertGroupView[]> {
  const acks = await acknowledgementsOf(
    db,
    tenantId,
    lines.map((l) => l.groupId),
  );
  return lines.map(({ groupId, ...line }) => {
    const ack = acks.get(groupId);
    return ack ? { ...line, acknowledged: { name: actorName(ack.by, language), at: ack.at } } : line;
  });
}

/**
 * preferencesOf reads the recipient's preferences now, so a subscription dropped after the decision
 * is honoured too: once per claim, as its mutes are (a change made through the API since is read by
 * the claim's next emails, perClaim), and together with the other readers of the claim's emails
 * started in the same turn (caches.preferences). Every Fatal email not sent at its commit reads
 * them (all of them when the api and worker processes are apart): two statements for each cost a
 * PostgreSQL worker half as much CPU again per email (bench/scale-out.ts, bench/hot-paths.md).
 */
function preferencesOf(deps: ComposerDeps, caches: Caches, delivery: Delivery, data: ReportData): Promise<Preferences> {
  const key = `${data.recipient.type}:${data.recipient.id}`;
  return perClaim(deps, caches, delivery, `preferences:${key}`, async () => (await caches.preferences.get(delivery.tenantId, key)) ?? NO_PREFERENCES);
}

/** preferencesOfMany reads the preferences of some recipients (`user:…`, `group:…`), by key, in at most three statements. */
async function preferencesOfMany(db: Db, keys: readonly string[]): Promise<Map<string, Preferences>> {
  const idsOf = (type: string) => keys.flatMap((key) => (key.startsWith(`${type}:`) ? [key.slice(type.length + 1)] : []));
  const { users, groups } = await recipientsPreferences(db, idsOf('user'), idsOf('group'));
  return new Map([...[...users].map(([id, p]) => [`user:${id}`, p] as const), ...[...groups].map(([id, p]) => [`group:${id}`, p] as const)]);
}

function windowOf(delivery: Delivery): { start: number; end: number } {
  if (delivery.windowStart === null || delivery.windowEnd === null) throw new ComposeError(`delivery ${delivery.id} has no window`);
  return { start: delivery.windowStart, end: delivery.windowEnd };
}

function sourceView(alert: WindowAlert): AlertSourceView | undefined {
  return alert.source ? (alert.source as AlertSourceView) : undefined;
}

/**
 * alertFieldsOf is what a line shows of the alert it stands for (a summary line's first alert, the
 * immediate email's own), with the catalogue's names, and Tocsin's own words, in the recipient's language.
 */
function alertFieldsOf(alert: WindowAlert, language: Language) {
  return {
    component: alert.component,
    componentDisplayName: componentDisplayName(alert.component, language),
    event: alert.event,
    eventDisplayName: eventDisplayName(alert.event, language),
    message: alertMessageIn(alert, language),
    source: sourceView(alert),
    folder: alert.folder ?? undefined,
    dedupKey: alert.dedupKey ?? undefined,
  };
}

/**
 * lineSource is the source a summary line shows, and is grouped and linked by: its first alert's,
 * unless its alerts differ in a process, robot or queue the first names (one dedup key raised by
 * robots R-c and R-d), when it is only what they all share; headed by the first one's robot, the
 * line would read as that robot's failure and its group's link would hide the other's alerts.
 */
function lineSource(group: AlertGroup): AlertSourceView | undefined {
  const own = group.first.source;
  if (!own || SOURCE_FILTER_PARTS.every((part) => !own[part] || group.sharedSource[part] === own[part])) return sourceView(group.first);
  return Object.keys(group.sharedSource).length > 0 ? (group.sharedSource as AlertSourceView) : undefined;
}

function groupView(group: AlertGroup, language: Language): AlertGroupView {
  return {
    severity: group.severity,
    ...alertFieldsOf(group.first, language),
    source: lineSource(group),
    count: group.count,
    firstAt: group.firstOccurredAt,
    lastAt: group.lastOccurredAt,
  };
}

/** sourceFilterOf is the alert-list filter showing one group of what failed: its source part, or its component. */
function sourceFilterOf(key: SourceKey): { component?: string; source?: { [K in SourceKey['field']]?: string } } {
  return key.field === 'component' ? { component: key.value } : { source: { [key.field]: key.value } };
}

/** MAX_CACHED_GROUPS bounds a cached summary window; a bigger one (a long catch-up) is streamed per email. */
const MAX_CACHED_GROUPS = 20_000;

async function loadGroups(db: Db, tenantId: string, window: { start: number; end: number }): Promise<AlertGroup[] | undefined> {
  const groups: AlertGroup[] = [];
  for await (const group of streamAlertsInWindow(db, tenantId, { from: window.start, to: window.end, minSeverity: 'Error' })) {
    if (groups.length === MAX_CACHED_GROUPS) return undefined;
    groups.push(group);
  }
  return groups;
}

/** muteLineOf is how a report shows a mute or snooze: what it matches in the recipient's words, until when, by whom. */
function muteLineOf(mute: Mute, language: Language): MuteLineView {
  return { what: matchParts(mute.match, language), until: mute.until, by: actorName(mute.createdBy, language), snooze: mute.scope === 'user' };
}

/**
 * NOTHING_LEFT is why an email that has no alert left at send time is not sent (the delivery log's
 * error): a summary, a daily report of a tenant that does not ask for "all quiet" ones, or a Fatal
 * alert's email sent late.
 */
export const NOTHING_LEFT = NOT_SENT_TEXT['nothing-left'];

/** TURNED_OFF is why an email is not sent to a recipient who turned that kind of email off after it was decided (the delivery log's error). */
export const TURNED_OFF = NOT_SENT_TEXT['turned-off'];

/**
 * stillWants throws when the recipient no longer wants this kind of email: turned off (by the
 * one-click unsubscribe, say) between the decision and a late send, after a mail server outage.
 * A user's unsubscribe is in its preferences; a group mailbox's is an opt-out of the address it goes
 * to (`c.address`: the mailbox's, also when the group moved to it since, moveToAddressNow).
 */
async function stillWants(deps: ComposerDeps, preferences: Preferences, delivery: Delivery, c: Context): Promise<void> {
  const choice = EMAIL_CHOICE_OF[delivery.kind];
  if (!choice) return;
  if (!wantsEmail(preferences, choice)) throw new ComposeError(TURNED_OFF);
  if (c.data.recipient.type === 'group' && (await optedOut(deps.db, delivery.tenantId, c.address, delivery.kind))) {
    throw new ComposeError(TURNED_OFF);
  }
}

/** MailedLine is what of a summary line a mailbox is mailed about, and how many of its alerts which of its mutes kept out. */
interface MailedLine {
  readonly line: AlertGroup | undefined;
  readonly muted: number;
  readonly mutes: readonly Mute[];
}

/**
 * mailedLine keeps of a summary line the alerts the mailbox subscribes to and no mute of its
 * covers. A uniform line is decided by its first alert. One that is not (a process failing on
 * several robots, one of them muted) is decided part by part, as the decision counted its alerts:
 * the mute of one robot keeps that robot's alerts out and no other's, and the line left is led
 * by its first alert that is still mailed.
 */
async function mailedLine(
  deps: ComposerDeps,
  caches: Caches,
  tenantId: string,
  query: WindowQuery,
  group: AlertGroup,
  preferences: Preferences,
  mailbox: MailboxRef,
  mutes: readonly Mute[],
  now: number,
): Promise<MailedLine> {
  const event = group.first.event;
  // Alerts all stored by `lastCreatedAt` are covered by the mutes in force at `now` and by those that ended after they were stored and were made before (isMutedFor).
  const coveredBy = (alert: MutableAlert, lastCreatedAt: number) =>
    mutes.filter((mute) => isMutedFor([mute], { ...alert, storedBefore: lastCreatedAt + 1 }, mailbox, now));
  // A mute that ended, or was made, between the line's first and last alerts covers some of them only: the line is read by parts split there.
  const ends = endedMuteBounds(mutes, now).filter((end) => end > group.firstCreatedAt && end <= group.lastCreatedAt);
  if (group.uniform && ends.length === 0) {
    if (!isSubscribed(preferences, group.first.component, event)) return { line: undefined, muted: 0, mutes: [] };
    const by = coveredBy(group.first, group.lastCreatedAt);
    return by.length > 0 ? { line: undefined, muted: group.count, mutes: by } : { line: group, muted: 0, mutes: [] };
  }
  const parts = await caches.lineParts.get(`${tenantId}:${query.from}:${query.to}:${group.groupId}:${event}:${ends.join(',')}`, () =>
    linePartsOf(deps.db, tenantId, query, group, ends),
  );
  const kept: LinePart[] = [];
  const muting = new Set<Mute>();
  let muted = 0;
  for (const part of parts) {
    if (!isSubscribed(preferences, part.component, event)) continue;
    const by = coveredBy({ component: part.component, event, source: part.source }, part.lastCreatedAt);
    if (by.length === 0) kept.push(part);
    else {
      muted += part.count;
      for (const mute of by) muting.add(mute);
    }
  }
  if (kept.length === parts.length) return { line: group, muted: 0, mutes: [] };
  const lead = kept.reduce<LinePart | undefined>((a, b) => (a === undefined || b.firstId < a.firstId ? b : a), undefined);
  const first = lead && (lead.firstId === group.first.id ? group.first : await windowAlertOf(deps.db, tenantId, lead.firstId));
  if (!first) return { line: undefined, muted, mutes: [...muting] };
  const sum = (of: (part: LinePart) => number) => kept.reduce((total, part) => total + of(part), 0);
  const line: AlertGroup = {
    ...group,
    first,
    count: sum((part) => part.count),
    fatal: sum((part) => part.fatal),
    severity: kept.reduce((worst, part) => (severityRank(part.severity) > severityRank(worst) ? part.severity : worst), kept[0]!.severity),
    sharedSource: Object.fromEntries(
      SOURCE_FILTER_PARTS.flatMap((part) => {
        const value = first.source?.[part];
        return value && kept.every((k) => k.source[part] === value) ? [[part, value]] : [];
      }),
    ),
    sharedComponent: kept.every((part) => part.component === first.component) ? first.component : undefined,
    uniform: true,
    firstCreatedAt: Math.min(...kept.map((part) => part.firstCreatedAt)),
    lastCreatedAt: Math.max(...kept.map((part) => part.lastCreatedAt)),
    firstOccurredAt: Math.min(...kept.map((part) => part.firstOccurredAt)),
    lastOccurredAt: Math.max(...kept.map((part) => part.lastOccurredAt)),
  };
  return { line, muted, mutes: [...muting] };
}

/**
 * composeSummary renders a summary at send time: the window's Fatal and Error alert groups the
 * recipient subscribes to, keeping only the lines the email can show (the most severe, then the
 * earliest) while counting them all, and counting apart those its mutes keep out.
 */
async function composeSummary(deps: ComposerDeps, caches: Caches, delivery: Delivery): Promise<RenderedEmail> {
  const c = await contextOf(deps, caches, delivery);
  const preferences = await preferencesOf(deps, caches, delivery, c.data);
  await stillWants(deps, preferences, delivery, c);
  const window = windowOf(delivery);
  const { mutes, now } = await mutesOf(deps, caches, delivery, c.data.recipient, window);
  const cached = await caches.groups.get(`${c.tenant.id}:${window.start}:${window.end}`, () => loadGroups(deps.db, c.tenant.id, window));
  const groups = cached ?? streamAlertsInWindow(deps.db, c.tenant.id, { from: window.start, to: window.end, minSeverity: 'Error' });
  const actions = actionsOf(deps, c);
  const fatal: (AlertGroupView & { groupId: string })[] = [];
  const error: (AlertGroupView & { groupId: string })[] = [];
  // Every line counts in its source group's figures, shown or not.
  const tally = new SourceTally();
  let totalAlerts = 0;
  let fatalAlerts = 0;
  let mutedAlerts = 0;
  const muting = new Set<Mute>();
  const query: WindowQuery = { from: window.start, to: window.end, minSeverity: 'Error' };
  await caches.renders.next();
  for await (const whole of groups) {
    const mailed = await mailedLine(deps, caches, c.tenant.id, query, whole, preferences, c.data.recipient, mutes, now);
    mutedAlerts += mailed.muted;
    for (const mute of mailed.mutes) muting.add(mute);
    const group = mailed.line;
    if (!group) continue;
    totalAlerts += group.count;
    fatalAlerts += group.fatal;
    const view = groupView(group, c.recipient.language);
    tally.add(view);
    const lines = group.severity === 'Fatal' ? fatal : error;
    if (lines.length < SUMMARY_MAX_LINES) {
      // The event's name opens the list of this line's alerts: its event (and the component, process, robot, queue they share) in the window.
      const url = alertListUrl(deps.publicUrl, {
        tenant: c.tenant.id,
        severity: 'Error',
        component: group.sharedComponent,
        event: view.event,
        since: window.start,
        until: window.end,
        source: group.sharedSource,
      });
      lines.push({ ...view, url, groupId: group.groupId, actions: actions({ alertId: group.first.id }) });
    }
  }
  // A summary is not sent empty: decided with alerts in it, it can have none left when it is sent
  // later (its server was down) and they were deleted, muted or unsubscribed from meanwhile. It
  // fails with that said in the delivery log, rather than telling the reader "0 new error alerts".
  if (totalAlerts === 0) throw new ComposeError(NOTHING_LEFT);
  // Whether each source ended the window failing, from every alert of the window (the Success or
  // Info that says it recovered is no line of a summary), as the daily report's health section decides.
  const health = healthBySource(
    await caches.sourcedCounts.get(`${c.tenant.id}:${window.start}:${window.end}`, () => sourcedEventCounts(deps.db, c.tenant.id, window)),
  );
  const listOf = (key: SourceKey) =>
    alertListUrl(deps.publicUrl, { tenant: c.tenant.id, severity: 'Error', since: window.start, until: window.end, ...sourceFilterOf(key) });
  const shown = await withAcknowledgements(deps.db, c.tenant.id, [...fatal, ...error].slice(0, SUMMARY_MAX_LINES), c.recipient.language);
  // Its lines' acknowledgements read, a turn of its own for the render (on PostgreSQL, the reads of several reports answer together).
  await caches.renders.next();
  return addressedTo(
    c,
    renderSummaryEmail({
      recipient: c.recipient,
      tenant: c.tenant,
      htmlBudget: htmlBudgetOf(delivery),
      window,
      windowCount: summaryWindowCount(window, deps.summaryIntervalMs, c.tenant.timeZone),
      totalAlerts,
      fatalAlerts,
      muted: { alerts: mutedAlerts, mutes: [...muting].map((m) => muteLineOf(m, c.recipient.language)) },
      groups: shown,
      sources: tally.totals().map((totals) => ({
        ...totals,
        label: totals.key.field === 'component' ? componentDisplayName(totals.key.value, c.recipient.language) : undefined,
        url: listOf(totals.key),
        health: health.get(sourceKeyId(totals.key)),
      })),
      links: {
        ...c.links,
        seeMore: alertListUrl(deps.publicUrl, { tenant: c.tenant.id, severity: 'Error', since: window.start, until: window.end }),
      },
    }),
  );
}

/** The links a daily report's source still failing offers (see composeDaily). */
const ACKNOWLEDGE_ONLY: readonly ActionKind[] = ['acknowledge'];

/**
 * composeDaily renders a daily report: the counts per event of every severity the recipient
 * subscribes to, and the health section decided from this period's and the day before's counts.
 */
async function composeDaily(deps: ComposerDeps, caches: Caches, delivery: Delivery): Promise<RenderedEmail> {
  const c = await contextOf(deps, caches, delivery);
  const preferences = await preferencesOf(deps, caches, delivery, c.data);
  await stillWants(deps, preferences, delivery, c);
  const period = windowOf(delivery);
  const language = c.recipient.language;
  const { mutes, now } = await mutesOf(deps, caches, delivery, c.data.recipient, period);
  // The day before, for the health section: the same report time a calendar day earlier in the tenant's zone;
  // before a window shortened by a moved report time, a period as long, so that the trends compare like with like.
  const zone = c.tenant.timeZone;
  const wholeDay = DateTime.fromMillis(period.end, { zone }).minus({ days: 1 }).toMillis() === period.start;
  const before = {
    start: wholeDay ? DateTime.fromMillis(period.start, { zone }).minus({ days: 1 }).toMillis() : 2 * period.start - period.end,
    end: period.start,
  };
  // What the recipient subscribes to; then what it would be mailed about, muted alerts left out (still counted in the console).
  // The period's counts are split where the mutes that ended inside it (usually none) were made and ended: they cover the alerts stored between.
  const ends = endedMuteBounds(mutes, now);
  const subscribed = async (window: { start: number; end: number }, split: readonly number[] = []) =>
    (
      await caches.sourcedCounts.get(`${c.tenant.id}:${window.start}:${window.end}${split.length > 0 ? `:${split.join(',')}` : ''}`, () =>
        sourcedEventCounts(deps.db, c.tenant.id, window, undefined, split),
      )
    ).filter((e) => isSubscribed(preferences, e.component, e.event));
  const mine = async (window: { start: number; end: number }, split?: readonly number[]) =>
    unmutedFor(await subscribed(window, split), mutes, c.data.recipient, now);
  // Recipients with the same subscriptions and mutes (most of a tenant) get the same counts and
  // health: worked out once, not from every count of both days again for each of them.
  const alike = JSON.stringify([c.tenant.id, period, preferences, mutes.map((m) => [m.id, m.until, m.match]), ends]);
  const { merged, health, acknowledged, mutedAlerts, endedHiding } = await caches.dailyFacts.get(alike, async () => {
    const [all, current, previous] = await Promise.all([subscribed(period, ends), mine(period, ends), mine(before)]);
    // A mute that ended in the period is listed only when it kept some alert of it out, as a summary lists its mutes: one
    // made by mistake and lifted at once hid nothing, and listing it would send the reader looking for what it hid.
    const endedHiding = new Set(
      ends.length === 0
        ? []
        : mutes.filter((m) => m.until <= now && all.some((e) => e.count > 0 && isMutedFor([m], e, c.data.recipient, now))).map((m) => m.id),
    );
    // As a summary does: a report says how many alerts its mutes kept out, so a muted day is not taken for a quiet one.
    const sum = (counts: readonly { count: number }[]) => counts.reduce((total, e) => total + e.count, 0);
    const health = dailyHealth(current, previous);
    // Who is on each source still failing: whoever acknowledged the flood of its last failure, as a summary line says it.
    const acknowledged = await acknowledgementsOfAlerts(
      deps.db,
      c.tenant.id,
      health.stillFailing.flatMap((s) => (s.lastFailureId === undefined ? [] : [s.lastFailureId])),
    );
    return { merged: mergeEventCounts(current), health, acknowledged, mutedAlerts: sum(all) - sum(current), endedHiding };
  });
  // As a summary (see NOTHING_LEFT): an "all quiet" report is only for a tenant that asked for one,
  // never a daily report whose alerts went away between its decision and a late send.
  if (!merged.some((e) => e.count > 0) && !(await getMailSettings(deps.db, c.tenant.id)).sendEmptyDailyReport) throw new ComposeError(NOTHING_LEFT);
  const listOf = (key: SourceKey, severity?: Severity) =>
    alertListUrl(deps.publicUrl, { tenant: c.tenant.id, severity, since: period.start, until: period.end, ...sourceFilterOf(key) });
  // Every reader with these subscriptions got its facts from that one read: each renders in a turn of its own.
  await caches.renders.next();
  const actions = actionsOf(deps, c);
  const counts = merged.map(({ oneFlood, ...e }) => {
    const forEvent = actions({ event: { component: e.component, event: e.event } });
    // A row of one flood (a dedup key's repeats, a lone alert) is a summary's line of the day: it offers "I'm on it" for
    // that flood, as the line does; not for a Success or an Info, which nobody takes on. A row of several floods offers none.
    const onIt = oneFlood && severityRank(e.severity) >= severityRank('Warn') ? actions({ alertId: oneFlood.alertId }, ACKNOWLEDGE_ONLY) : undefined;
    return {
      ...e,
      componentDisplayName: componentDisplayName(e.component, language),
      eventDisplayName: eventDisplayName(e.event, language),
      actions: forEvent && { ...forEvent, acknowledge: onIt?.acknowledge },
    };
  });
  return addressedTo(
    c,
    renderDailyEmail({
      recipient: c.recipient,
      tenant: c.tenant,
      htmlBudget: htmlBudgetOf(delivery),
      period,
      counts,
      // The mutes in force are listed whether or not they hid anything (nobody wonders why a source went silent); an ended one only if it hid something.
      mutes: mutes.filter((m) => m.until > now || endedHiding.has(m.id)).map((m) => muteLineOf(m, language)),
      mutedAlerts,
      health: {
        components: health.components.map((trend) => ({ ...trend, componentDisplayName: componentDisplayName(trend.component, language) })),
        // A source still failing counts its failures: its link lists those (Error and Fatal), not its milder alerts too.
        // Each offers the reader's "I'm on it" for the flood of its last failure, as a summary's line for its flood
        // (a sealed link each, no read: the facts are shared).
        stillFailing: health.stillFailing.map((s) => {
          const ack = s.lastFailureId === undefined ? undefined : acknowledged.get(s.lastFailureId);
          return {
            ...s,
            url: listOf(s.key, 'Error'),
            acknowledged: ack ? { name: actorName(ack.by, language), at: ack.at } : undefined,
            actions: s.lastFailureId === undefined ? undefined : actions({ alertId: s.lastFailureId }, ACKNOWLEDGE_ONLY),
          };
        }),
        moreStillFailing: health.moreStillFailing,
        moreRecovered: health.moreRecovered,
        // A source that recovered without failing in the period links to the day before, where its failures are.
        recovered: health.recovered.map((s) => ({
          ...s,
          url: alertListUrl(deps.publicUrl, { tenant: c.tenant.id, since: before.start, until: period.end, ...sourceFilterOf(s.key) }),
        })),
        noisiest: health.noisiest.map((s) => ({ ...s, url: listOf(s.key) })),
      },
      links: { ...c.links, viewAll: alertListUrl(deps.publicUrl, { tenant: c.tenant.id, since: period.start, until: period.end }) },
    }),
  );
}

/** composeImmediate renders the email of one Fatal alert, with how many repeats its flood has had so far. */
async function composeImmediate(deps: ComposerDeps, caches: Caches, delivery: Delivery): Promise<RenderedEmail> {
  const c = await contextOf(deps, caches, delivery);
  const { alertId, groupId } = c.data;
  if (!alertId || !groupId) throw new ComposeError(`delivery ${delivery.id} names no alert`);
  const tenantId = c.tenant.id;
  // As the commit that queued the email read them an instant ago (leased at insert); else the
  // emails of one claim read their alerts, floods and acknowledgements together (TurnBatch), in one statement.
  const atCommit = deps.leasedReads?.get<ImmediateFacts>(delivery.leaseToken, LEASED_KEYS.immediateFacts(alertId));
  const facts = atCommit ?? (await caches.immediateFacts.get(tenantId, alertId));
  if (!facts) throw new ComposeError(`alert ${alertId} no longer exists`);
  const alert = toStoredAlert(facts.alert);
  // Sent late, it is not sent to a reader who has since turned these emails off, unsubscribed
  // from the alert's event or muted it: a retry (maybe hours after its server failed), and a first
  // try that waited in the queue too (its server paused after failing, the worker full), whose
  // attempts count no try. Only the email sent an instant after the commit that decided it (its
  // reads still standing, LeasedReads) spends no reads on it.
  if (!atCommit) {
    const preferences = await preferencesOf(deps, caches, delivery, c.data);
    await stillWants(deps, preferences, delivery, c);
    const { mutes, now } = await mutesOf(deps, caches, delivery, c.data.recipient);
    if (!isSubscribed(preferences, alert.component, alert.event) || isMutedFor(mutes, alert, c.data.recipient, now)) throw new ComposeError(NOTHING_LEFT);
  }
  const { flood, acknowledgement: ack } = facts;
  const language = c.recipient.language;
  const actions = actionsOf(deps, c);
  const view: ImmediateEmailView = {
    recipient: c.recipient,
    tenant: c.tenant,
    alert: {
      id: alert.id,
      severity: alert.severity,
      ...alertFieldsOf(alert, language),
      data: alert.data ?? undefined,
      count: Math.max(1, Number(flood?.n ?? 1)),
      firstAt: alert.occurredAt,
      lastAt: Math.max(alert.occurredAt, Number(flood?.last ?? alert.occurredAt)),
      actions: actions({ alertId: alert.id }),
      acknowledged: ack ? { name: actorName(ack.by, language), at: ack.at } : undefined,
    },
    links: {
      ...c.links,
      // Its flood's alerts, not every component's, robot's, process's or queue's of the same event since then.
      alert: alertListUrl(deps.publicUrl, {
        tenant: c.tenant.id,
        severity: 'Fatal',
        component: alert.component,
        event: alert.event,
        since: alert.createdAt,
        source: sourceView(alert),
      }),
    },
  };
  // The alert's only email of its commit (most Fatal alerts: one person on call) is rendered as it
  // is: rendering it with slots and encoding it once for the recipients that share it (the cache)
  // costs more than rendering and encoding it whole (about 0.55 against 0.35 CPU-ms), for no one to share it.
  const alone = deps.leasedReads?.get<number>(delivery.leaseToken, LEASED_KEYS.alertEmails(alertId)) === 1;
  return addressedTo(c, alone ? renderImmediateEmail(view) : caches.immediate.render(view));
}

/**
 * addressedTo addresses an email to the mailbox it was written for when that is no longer its row's
 * (moveToAddressNow), and returns it untouched otherwise (ImmediateEmailCache's bodies are filled in only when read).
 */
function addressedTo(c: Context, email: RenderedEmail): RenderedEmail {
  return c.readdressed ? { ...email, to: c.readdressed } : email;
}

/** htmlBudgetOf is a report's HTML budget: the usual one, or the shorter one once its reader's server refused it as too large. */
function htmlBudgetOf(delivery: Delivery): number | undefined {
  return delivery.refusedAsTooLarge ? SHORTER_HTML_BUDGET : undefined;
}

/** reportComposers are the outbox's composers of the three alert emails. */
export function reportComposers(deps: ComposerDeps): ComposerRegistry {
  // A claim holds at most a few tenants' rows; 256 entries outlive the batches being rendered.
  const caches: Caches = {
    groups: new WindowCache(),
    lineParts: new WindowCache(1024),
    sourcedCounts: new WindowCache(),
    dailyFacts: new WindowCache(),
    claimed: new WindowCache(256),
    immediate: new ImmediateEmailCache(),
    immediateFacts: new TurnBatch((tenantId, alertIds) => immediateFactsOf(deps.db, tenantId, alertIds)),
    preferences: new TurnBatch((_tenantId, keys) => preferencesOfMany(deps.db, keys)),
    renders: new LoopTurns(deps.urgentSends),
  };
  return {
    summary: (delivery) => composeSummary(deps, caches, delivery),
    daily: (delivery) => composeDaily(deps, caches, delivery),
    immediate: (delivery) => composeImmediate(deps, caches, delivery),
  };
}
