/**
 * With private hosts refused (TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS=false), a tenant's SMTP host is looked
 * up before anything connects to it. A resolver that never answers must hold nothing for ever: an
 * email's attempt gives up at the endpoint's own timeout (the connection's), as at a server that
 * never answers, and at the worker's stop; Test Mail Settings answers a failed test at stage
 * connect; a save goes on (a name that does not resolve now may be saved: every connection checks).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect } from '../../test/support/storage.js';
import { unansweredDns } from '../../test/support/unanswered-dns.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { testDelivery } from '../../test/support/outbox-fixtures.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { DeliveryWorker } from '../delivery/outbox/worker.js';
import { createMailSender } from '../delivery/smtp/sender.js';
import { systemClock } from '../shared/clock.js';
import { type EndpointContext, resolveEndpoint } from './endpoint.js';
import type { Resolver } from './host-guard.js';
import { saveMailSettings } from './mail-settings.js';
import { urlSmtp } from './smtp-settings.js';
import { sendTestMail } from './test-mail.js';

describeEachDialect('a tenant SMTP host whose DNS lookup never answers, private hosts refused', (dialect) => {
  // An `api` process runs no delivery worker: the one each test starts is the only one sending.
  let t: TestApp;
  const sender = createMailSender();
  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
  });
  afterAll(async () => {
    await sender.close();
    await t?.close();
  });

  const contextWith = (resolver: Resolver): EndpointContext => ({ systemSmtp: urlSmtp('smtp://127.0.0.1:1'), allowPrivateHosts: false, resolver });

  /** tenantOn makes a tenant with alert emails on, sending through its own server at `host` with the given timeout. */
  async function tenantOn(name: string, host: string, timeoutMs: number): Promise<string> {
    const { tenantId } = await t.tenantWithUser(name);
    await t.enableAlertEmails(name);
    // Written as saved: the API takes no timeout under a second, and no lookup is under test here.
    const custom = {
      host,
      port: 587,
      security: 'starttls',
      domain: null,
      username: null,
      authMethod: 'none',
      fromAddress: 'alerts@example.com',
      fromDisplayName: null,
      timeoutMs,
    };
    await t.tocsin.deps.storage.db
      .updateTable('tenant_mail_settings')
      .set({ use_custom: 1, custom_smtp: JSON.stringify(custom) })
      .where('tenant_id', '=', tenantId)
      .execute();
    return tenantId;
  }

  const workerWith = (resolver: Resolver) => {
    const { storage, secretBox } = t.tocsin.deps;
    return new DeliveryWorker({
      storage,
      clock: systemClock,
      sender,
      resolveEndpoint: (tenantId, _route, _leaseToken, stop) => resolveEndpoint(storage.db, secretBox, tenantId, contextWith(resolver), undefined, stop),
      composers: {},
    });
  };

  it("gives an email's lookup up at the endpoint's timeout: a transient connect failure naming the host, as a server that never answers", async () => {
    const db = t.tocsin.deps.storage.db;
    const tenantId = await tenantOn('slow-dns', 'smtp.slow-dns.example.com', 100);
    await enqueueDeliveries(db, [testDelivery(tenantId, 'ops@example.com')], systemClock);
    const dns = unansweredDns();
    expect(await workerWith(dns.resolver).runOnce()).toBe(1);
    const said = 'connect: could not resolve the SMTP host "smtp.slow-dns.example.com" (no answer within 0.1 s)';
    const row = await db.selectFrom('deliveries').select(['status', 'attempts', 'last_error']).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'retrying', attempts: 1, last_error: expect.stringContaining(said) });
    expect(row.last_error).toContain('trying again later may work');
    const attempts = await db.selectFrom('delivery_attempts').select(['outcome', 'response']).where('tenant_id', '=', tenantId).execute();
    expect(attempts).toEqual([{ outcome: 'retry', response: row.last_error }]);
    expect(dns.asked).toEqual(['smtp.slow-dns.example.com']);
  });

  it('stops at once while a lookup is under way, handing the email back with no attempt recorded', async () => {
    const db = t.tocsin.deps.storage.db;
    // A timeout far longer than the test's: only the stop can end the lookup in time.
    const tenantId = await tenantOn('stopping-dns', 'smtp.stopping-dns.example.com', 600_000);
    await enqueueDeliveries(db, [testDelivery(tenantId, 'ops@example.com')], systemClock);
    const dns = unansweredDns();
    const worker = workerWith(dns.resolver);
    worker.start();
    try {
      await dns.firstLookup;
    } finally {
      await worker.stop();
    }
    const row = await db.selectFrom('deliveries').select(['status', 'last_error', 'lease_owner']).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'pending', last_error: null, lease_owner: null });
    expect(await db.selectFrom('delivery_attempts').select('id').where('tenant_id', '=', tenantId).execute()).toEqual([]);
  });

  it('answers Test Mail Settings as a failed test at stage connect once the timeout passes, or at once when Tocsin stops', async () => {
    const { storage, secretBox, clock } = t.tocsin.deps;
    const tenantId = await tenantOn('testing-dns', 'smtp.testing-dns.example.com', 100);
    const tenant = await storage.db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirstOrThrow();
    const request = { tenant, sendTo: 'qa@example.com', language: 'en', timeZone: 'UTC' } as const;
    const dns = unansweredDns();
    const deps = { db: storage.db, secretBox, sender, clock, context: contextWith(dns.resolver) };
    expect(await sendTestMail(deps, request)).toEqual({
      ok: false,
      stage: 'connect',
      message: expect.stringContaining('could not resolve the SMTP host "smtp.testing-dns.example.com" (no answer within 0.1 s)'),
      transcript: [],
    });
    // A timeout longer than the test's: only the stop can end the lookup in time.
    const stopping = new AbortController();
    const stoppingDns = unansweredDns();
    const long = await tenantOn('testing-dns-long', 'smtp.testing-dns.example.com', 600_000);
    const longTenant = await storage.db.selectFrom('tenants').selectAll().where('id', '=', long).executeTakeFirstOrThrow();
    const answer = sendTestMail({ ...deps, context: contextWith(stoppingDns.resolver), stopping: stopping.signal }, { ...request, tenant: longTenant });
    await stoppingDns.firstLookup;
    stopping.abort();
    expect(await answer).toEqual({ ok: false, stage: 'connect', message: expect.stringContaining('Tocsin is stopping'), transcript: [] });
  });

  it('saves settings whose host does not answer within their timeout (every connection looks it up again)', async () => {
    const { storage, secretBox, clock } = t.tocsin.deps;
    const { tenantId } = await t.tenantWithUser('saving-dns');
    const dns = unansweredDns();
    const custom = { host: 'smtp.saving-dns.example.com', port: 587, security: 'starttls', fromAddress: 'alerts@example.com', timeoutMs: 1_000 } as const;
    const saved = await saveMailSettings(storage.db, secretBox, tenantId, { useCustom: true, custom }, clock, {
      allowPrivateHosts: false,
      resolver: dns.resolver,
    });
    expect(saved).toMatchObject({ useCustom: true, custom: { host: 'smtp.saving-dns.example.com', timeoutMs: 1_000 } });
    expect(dns.asked).toEqual(['smtp.saving-dns.example.com']);
  });
});
