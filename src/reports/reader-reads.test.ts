/**
 * What composing an email reads of its tenant and reader, read from the database (a claimed email)
 * or taken from the decision's facts of the commit that leased a Fatal alert's emails to this
 * process: the same values either way, and no read for the email sent right after that commit.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActionLinks } from '../actions/links.js';
import type { NewAlert } from '../alerts/input.js';
import { writeAlerts } from '../alerts/store.js';
import { LeasedReads } from '../delivery/outbox/leased-reads.js';
import type { ClaimedBatch } from '../delivery/outbox/leases.js';
import type { Delivery } from '../delivery/outbox/delivery.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect, recordingStatements } from '../../test/support/storage.js';
import { ReadCache } from '../shared/read-cache.js';
import { systemClock } from '../shared/clock.js';
import type { Db } from '../storage/database.js';
import { NOT_A_READER, reportComposers } from './composers.js';
import { decisionFacts } from './decision-facts.js';
import { decideInCommit } from './immediate.js';
import { READER_READS, readPermissions, readTenantNames, readUserNow, readerReadsOf } from './reader-reads.js';
import { UnsubscribeLinks } from './unsubscribe/links.js';

const PUBLIC_URL = 'https://tocsin.example.com';

describeEachDialect("an email's reads of its tenant and reader", (dialect) => {
  let t: TestApp;
  let tenantId: string;
  const base = '/api/v1/tenants/readers';
  const db = (): Db => t.tocsin.deps.storage.db;
  const user = async (email: string, extra: Record<string, unknown>) => {
    const res = await t.call('POST', `${base}/users`, { email, name: email.split('@')[0], ...extra });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  };
  const immediately = (id: string) => t.call('PUT', `${base}/users/${id}/alert-preferences`, { email: { fatalImmediately: true } });
  /** leaseFatal stores a Fatal alert and decides it in one commit, as the group commit does, its rows leased to a sender that keeps them. */
  const leaseFatal = async (leasedReads: LeasedReads, message: string, afterFacts?: () => void): Promise<ClaimedBatch> => {
    let leased: ClaimedBatch | undefined;
    const sender = {
      // Asked once the decision has read its facts, before it leaves its reads (readForSending).
      leaseForInsert: (now: number) => {
        afterFacts?.();
        return { workerId: 'test', token: `lease-${message}-${now}`, now, until: now + 60_000 };
      },
      adopt: async (batch: ClaimedBatch) => {
        leased = batch;
      },
    };
    const decide = decideInCommit({ clock: systemClock, sender, leasedReads });
    const alert: NewAlert = {
      severity: 'Fatal',
      component: 'Robots',
      event: 'Robot.StatusChanged.Offline',
      message,
      data: null,
      source: null,
      folder: null,
      dedupKey: message,
      occurredAt: undefined,
    };
    const adopt = await db()
      .transaction()
      .execute(async (tx) => decide(tx, [{ tenantId, alertIds: await writeAlerts(tx, tenantId, [alert], Date.now(), undefined, { undecided: false }) }]));
    await adopt();
    return leased!;
  };
  const composersOf = (on: Db, kept: ReadCache, leasedReads?: LeasedReads) =>
    reportComposers({
      db: on,
      publicUrl: PUBLIC_URL,
      summaryIntervalMs: 600_000,
      unsubscribeLinks: new UnsubscribeLinks(db(), PUBLIC_URL, systemClock),
      actionLinks: new ActionLinks(t.tocsin.deps.secretBox, PUBLIC_URL, 86_400_000, systemClock),
      clock: systemClock,
      kept,
      leasedReads,
    });

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'readers', displayName: 'Readers Europe', timeZone: 'Europe/Paris', language: 'en' })).json()
      .id;
    await t.enableAlertEmails('readers');
    const viewer = await user('viewer@example.com', { roles: ['Alerts Viewer'], language: 'en', timeZone: 'Asia/Tokyo' });
    const admin = await user('admin@example.com', { roles: ['Administrator'] });
    const viaGroup = await user('viagroup@example.com', { roles: [] });
    const both = await user('both@example.com', { roles: ['Alerts Viewer'] });
    await user('inactive@example.com', { roles: ['Administrator'], active: false });
    await user('noroles@example.com', { roles: [] });
    await t.call('POST', `${base}/groups`, { name: 'Admins', roles: ['Administrator'], members: [viaGroup, both], expandMembers: true });
    for (const id of [viewer, admin, viaGroup, both]) await immediately(id);
  });
  afterAll(() => t.close());

  it("answers from a decision's facts what the reads answer: the tenant's names, and each user's address and permissions however granted", async () => {
    const [facts] = await decisionFacts(db(), [tenantId], ['no-such-alert'], Date.now());
    const users = facts!.readers!.users;
    expect(users.size).toBe(6);
    for (const [id, u] of users) {
      const expected = {
        [READER_READS.tenant(tenantId)]: await readTenantNames(db(), tenantId),
        [READER_READS.user(id)]: await readUserNow(db(), id),
        [READER_READS.permissions(id)]: await readPermissions(db(), id),
      };
      expect(Object.fromEntries(readerReadsOf(facts!.names, u, facts!.readers!.access)), u.email).toEqual(expected);
    }
    // Each way of holding a permission is there: none, own roles, a group's, both, and an inactive user's none.
    const permissions = new Map([...users.values()].map((u) => [u.email, readerReadsOf(facts!.names, u, facts!.readers!.access)[2]![1] as Set<string>]));
    expect(permissions.get('viewer@example.com')).toContain('Alerts.View');
    expect(permissions.get('viewer@example.com')).not.toContain('Alerts.Edit');
    expect(permissions.get('viagroup@example.com')).toContain('Alerts.Edit');
    expect(permissions.get('both@example.com')).toContain('Alerts.Edit');
    expect(permissions.get('admin@example.com')).toContain('Alerts.Edit');
    expect(permissions.get('inactive@example.com')!.size).toBe(0);
    expect(permissions.get('noroles@example.com')!.size).toBe(0);
    expect(facts!.names).toMatchObject({ display_name: 'Readers Europe', time_zone: 'Europe/Paris', language: 'en' });
  });

  it('composes a Fatal email sent right after the commit that queued it with no read of its tenant or reader, as a claim composes it', async () => {
    const leasedReads = new LeasedReads();
    const leased = await leaseFatal(leasedReads, 'R1 is offline');
    expect(leased.deliveries.map((d) => d.recipient.address).sort()).toEqual([
      'admin@example.com',
      'both@example.com',
      'viagroup@example.com',
      'viewer@example.com',
    ]);

    // What the composers read, by the statements' text.
    const { db: counted, texts } = recordingStatements(db());
    // Links are sealed anew each time: compared without their tokens.
    const unsealed = (text: string) => text.replace(/https:\/\/tocsin\.example\.com\/\S+/g, 'LINK');
    const compose = async (composers: ReturnType<typeof composersOf>, delivery: Delivery) => {
      const email = await composers.immediate!(delivery);
      return { to: email.to, subject: email.subject, text: unsealed(email.text) };
    };
    const atCommit = composersOf(counted, new ReadCache(), leasedReads);
    const claimed = composersOf(counted, new ReadCache());
    const readsOf = /\b(tenants|users|user_roles|group_members|roles)\b/;
    for (const delivery of leased.deliveries) {
      texts.length = 0;
      const sent = await compose(atCommit, delivery);
      expect(
        texts.filter((text) => readsOf.test(text)),
        delivery.recipient.address,
      ).toEqual([]);
      // A claim's email of the same row reads them all, and writes the same email.
      texts.length = 0;
      expect(await compose(claimed, { ...delivery, leaseToken: null })).toEqual(sent);
      expect(texts.filter((text) => readsOf.test(text)).length).toBeGreaterThan(0);
      // Who may mute for everyone is the permissions' to say, from the commit's facts as from the reads.
      expect(sent.text.includes('Mute for everyone'), delivery.recipient.address).toBe(delivery.recipient.address !== 'viewer@example.com');
    }
  });

  it('reads its reader again when a change through the API came after the commit: a reader deleted since gets no email', async () => {
    const leaver = await user('leaver@example.com', { roles: ['Alerts Viewer'] });
    await immediately(leaver);
    // What the API forgets after each change (ReadCache's forget), as the pipeline's leasedReads counts it.
    const kept = new ReadCache();
    const leasedReads = new LeasedReads(undefined, () => kept.generation);
    const delivery = (await leaseFatal(leasedReads, 'R2 is offline')).deliveries.find((d) => d.recipient.address === 'leaver@example.com');
    expect(delivery).toBeDefined();
    // Deleted in the instant between the commit and the send, through the API (which forgets what was kept).
    expect((await t.call('DELETE', `${base}/users/${leaver}`)).statusCode).toBe(204);
    kept.forget();
    await expect(composersOf(db(), kept, leasedReads).immediate!(delivery!)).rejects.toThrow(NOT_A_READER);
  });

  it('reads its reader again when a change through the API was forgotten while the commit read its facts', async () => {
    // A change committed by another connection (PostgreSQL) after the decision read the readers, forgotten before its reads were left.
    const kept = new ReadCache();
    const leasedReads = new LeasedReads(undefined, () => kept.generation);
    const delivery = (await leaseFatal(leasedReads, 'R3 is offline', () => kept.forget())).deliveries.find((d) => d.recipient.address === 'viewer@example.com');
    const { db: counted, texts } = recordingStatements(db());
    await composersOf(counted, kept, leasedReads).immediate!(delivery!);
    expect(texts.filter((text) => /\busers\b/.test(text)).length).toBeGreaterThan(0);
  });
});
