import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import pino from 'pino';
import { describeEachDialect } from '../../test/support/storage.js';
import { loadConfig } from '../config.js';
import { startTocsin } from '../server.js';
import type { ReadCache } from '../shared/read-cache.js';

const ACTIONS = '/odata/Settings/UiPath.Server.Configuration.OData';

// A change to who gets which email, or how, sends the emails of its tenant rendered before it back to the
// queue (ChangeCount): a change named for no tenant, every tenant's. Those that change no tenant's emails
// sent back every tenant's: a tenant created, any sign-in or sign-out, an OData test email; an OData settings
// save (its tenant not in the path) every tenant's instead of its own.
describeEachDialect('what an API change sends back to the queue', (dialect) => {
  let t: TestApp;
  let tenant: { tenantId: string; token: string; email: string };
  beforeAll(async () => {
    t = await startTestApp(dialect);
    tenant = await t.tenantWithUser('changes');
    await t.call('PATCH', `/api/v1/tenants/changes/users/${(await t.call('GET', '/api/v1/tenants/changes/users')).json().items[0].id}`, {
      password: 'a long secret phrase',
    });
  });
  afterAll(() => t?.close());

  /** bumpsOf runs `act` and says which tenants' counts it bumped (undefined: every tenant's). */
  const bumpsOf = async (act: () => Promise<{ statusCode: number; body: string }>, status: number) => {
    const bumps = vi.spyOn(t.tocsin.deps.recipientChanges!, 'bump');
    try {
      const res = await act();
      expect(res.statusCode, res.body).toBe(status);
      return bumps.mock.calls.map(([tenantId]) => tenantId);
    } finally {
      bumps.mockRestore();
    }
  };
  const inject = (url: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    t.tocsin.app.inject({ method: 'POST', url, payload, headers });

  it('sends back none for a tenant created, a sign-in, a sign-out or an OData test email', async () => {
    expect(await bumpsOf(() => t.call('POST', '/api/v1/tenants', { name: 'another' }), 201)).toEqual([]);
    expect(await bumpsOf(() => inject('/api/v1/auth/login', { adminToken: ADMIN_TOKEN }), 200)).toEqual([]);
    const signIn = { tenant: 'changes', email: tenant.email, password: 'a long secret phrase' };
    let session: { cookie: string; csrf: string } | undefined;
    expect(
      await bumpsOf(async () => {
        const res = await inject('/api/v1/auth/login', signIn);
        session = { cookie: String(res.headers['set-cookie']).split(';')[0]!, csrf: res.json().csrfToken };
        return res;
      }, 200),
    ).toEqual([]);
    expect(await bumpsOf(() => inject('/api/v1/auth/logout', {}, { cookie: session!.cookie, 'x-csrf-token': session!.csrf }), 204)).toEqual([]);
    const orchestrator = { tenancyName: 'changes', usernameOrEmailAddress: tenant.email, password: 'a long secret phrase' };
    for (const url of ['/api/Account', '/api/Account/Authenticate']) expect(await bumpsOf(() => inject(url, orchestrator), 200), url).toEqual([]);
    const verify = () =>
      t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'nobody', smtpSettingModel: { Host: '127.0.0.1', Port: 'abc' } }, tenant.token);
    expect(await bumpsOf(verify, 400)).toEqual([]);
  });

  it.runIf(dialect === 'postgres')('is heard by a worker process of its own, which then reads names and permissions again', async () => {
    // Told through PostgreSQL (notifyChanges, heard on the worker's LISTEN connection): with the api side's
    // NOTIFY or the worker's forget dropped (pipeline.ts), every test passed, and a split deployment's worker
    // kept its reads of a changed tenant's access until they expired, and its rendered emails for the old one.
    const { databaseUrl, dataDir } = t.tocsin.deps.config;
    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      TOCSIN_DATA_DIR: dataDir,
      TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
      TOCSIN_ROLE: 'worker',
      LOG_LEVEL: 'silent',
    });
    const worker = await startTocsin(config, { listen: false, logger: pino({ level: 'silent' }), mailCatcher: false });
    try {
      // The pipeline's ReadCache, which the routes know only by its forget.
      const kept = worker.deps.kept as ReadCache;
      const before = kept.generation;
      expect((await t.call('PATCH', '/api/v1/tenants/changes', { displayName: 'Changes heard' })).statusCode).toBe(200);
      await expect.poll(() => kept.generation, { timeout: 10_000 }).toBeGreaterThan(before);
    } finally {
      await worker.close();
    }
  });

  it("sends back its own tenant's for an OData settings save, and every tenant's for the system default", async () => {
    const shown = (await t.call('GET', '/odata/Settings', undefined, tenant.token)).json().value;
    expect(await bumpsOf(() => t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: shown }, tenant.token), 200)).toEqual([tenant.tenantId]);
    expect(await bumpsOf(() => t.call('PATCH', '/api/v1/tenants/changes', { displayName: 'Changes' }), 200)).toEqual([tenant.tenantId]);
    const system = (await t.call('GET', '/api/v1/system/mail-settings')).json();
    expect(await bumpsOf(() => t.call('PUT', '/api/v1/system/mail-settings', { fromDisplayName: system.fromDisplayName ?? 'Tocsin' }), 200)).toEqual([
      undefined,
    ]);
  });
});
