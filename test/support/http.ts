import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, expect } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type StartOptions, type Tocsin, startTocsin } from '../../src/server.js';
import type { Dialect } from '../../src/storage/dialect.js';
import { type TestSmtpOptions, type TestSmtpServer, startTestSmtpServer } from './smtp-servers.js';
import { type IcuLocale, type TestDatabase, createTestDatabase } from './storage.js';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';

/** ADMIN_TOKEN is the host administrator's token in every test app. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** TestApp is an in-process Tocsin on a fresh database, driven through `inject`. */
export interface TestApp {
  readonly tocsin: Tocsin;
  /** call sends a request with a bearer token (the admin's unless another is given). */
  call(method: InjectOptions['method'], url: string, body?: unknown, token?: string): Promise<LightMyRequestResponse>;
  /** tenantWithUser creates the tenant if needed and a user with the given roles (Administrator by default), returning its id, token and address. */
  tenantWithUser(name: string, roles?: string[]): Promise<{ tenantId: string; userId: string; token: string; email: string }>;
  /** enableAlertEmails switches a tenant's alert emails on, as the guide's first step does (new tenants start with them off). */
  enableAlertEmails(tenant: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * startTestApp starts Tocsin in-process on a new database of the given dialect, without listening
 * and without the mail catcher unless asked; `env` adds configuration.
 */
export async function startTestApp(
  dialect: Dialect,
  env: Record<string, string> = {},
  options: StartOptions = {},
  /**
   * `reach` rewrites the test database's URL, e.g. to go through a TcpProxy that can cut it;
   * `icuLocale` gives a PostgreSQL database that collation (createTestDatabase); `prepare` lays out
   * the database and the data folder before Tocsin starts on them (an older version's installation).
   */
  {
    reach = (url: string) => url,
    icuLocale,
    prepare,
  }: { reach?: (url: string) => string; icuLocale?: IcuLocale; prepare?: (database: TestDatabase, dataDir: string) => Promise<void> } = {},
): Promise<TestApp> {
  // An older version's installation (prepare) starts from an empty database; the rest start migrated.
  const database = await createTestDatabase(dialect, { icuLocale, migrated: !prepare });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-data-'));
  await prepare?.(database, dataDir);
  const config = loadConfig({
    DATABASE_URL: reach(database.url),
    TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
    TOCSIN_DATA_DIR: dataDir,
    TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const tocsin = await startTocsin(config, { listen: false, logger: pino({ level: 'silent' }), ...options });
  const call: TestApp['call'] = (method, url, body, token = ADMIN_TOKEN) =>
    tocsin.app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body === undefined ? {} : { payload: body as object }),
    });
  return {
    tocsin,
    call,
    async tenantWithUser(name, roles = ['Administrator']) {
      let tenant = await call('GET', `/api/v1/tenants/${name}`);
      if (tenant.statusCode === 404) tenant = await call('POST', '/api/v1/tenants', { name });
      const tenantId = tenant.json<{ id: string }>().id;
      const user = await call('POST', `/api/v1/tenants/${name}/users`, {
        email: `${roles.join('-').replace(/\W/g, '').toLowerCase() || 'nobody'}-${Math.random().toString(36).slice(2, 8)}@${name}.example.com`,
        name: `${name} user`,
        roles,
      });
      const { id: userId, email } = user.json<{ id: string; email: string }>();
      const token = (await call('POST', `/api/v1/tenants/${name}/users/${userId}/tokens`, { name: 'test' })).json<{
        token: string;
      }>().token;
      return { tenantId, userId, token, email };
    },
    async enableAlertEmails(tenant) {
      const res = await call('PUT', `/api/v1/tenants/${tenant}/settings/mail`, { alertsEmailEnabled: true });
      if (res.statusCode !== 200) throw new Error(`enabling alert emails of ${tenant}: ${res.statusCode} ${res.body}`);
    },
    async close() {
      await tocsin.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** ListeningApp is a TestApp listening on a port of 127.0.0.1, driven over HTTP as a client drives Tocsin. */
export interface ListeningApp extends TestApp {
  /** The base URL it listens on. */
  readonly url: string;
  /**
   * api calls `/api/v1/tenants{path}` over HTTP, as the admin unless `token` is given, with `body`
   * as JSON; it expects a 2xx and returns the parsed answer (undefined for a 204).
   */
  api(method: string, path: string, body?: unknown, token?: string): Promise<any>;
}

/**
 * REPORTS_SOON has the report scheduler look for due windows every 100 ms and judge one 100 ms
 * after its end, not 1 s and 1 s (LoopTimings): a test waiting for a summary gets it that much sooner.
 */
export const REPORTS_SOON: StartOptions = Object.freeze({ timings: Object.freeze({ reportTickMs: 100, reportSettleMs: 100 }) });

/**
 * startListeningApp is startTestApp listening on a port, as the end-to-end tests want it: emails
 * go to `smtpUrl` (a test SMTP server's), summaries are decided every 2 seconds (REPORTS_SOON after
 * a window's end) and links point at https://tocsin.example.com; `env` adds or overrides configuration.
 */
export async function startListeningApp(dialect: Dialect, smtpUrl: string, env: Record<string, string> = {}): Promise<ListeningApp> {
  const app = await startTestApp(
    dialect,
    { TOCSIN_SMTP_URL: smtpUrl, TOCSIN_SUMMARY_INTERVAL_SECONDS: '2', TOCSIN_PUBLIC_URL: 'https://tocsin.example.com', ...env },
    { ...REPORTS_SOON, listen: true },
  );
  const url = app.tocsin.url!;
  return { ...app, url, api: tenantsApi(url) };
}

/** ListeningAppWithServers is what useListeningApp sets up for a describe block. */
export interface ListeningAppWithServers {
  /** api is the app's (ListeningApp.api), callable once the block's beforeAll has run. */
  readonly api: TenantsApi;
  /** serverOfTenant starts another test SMTP server (a tenant's own), closed after the block's tests. */
  serverOfTenant(options?: TestSmtpOptions): Promise<TestSmtpServer>;
}

/**
 * useListeningApp sets up the enclosing describe block of an end-to-end test: before its tests, a
 * test SMTP server as the system's default (from alerts@example.com) and a ListeningApp sending
 * through it; after them, the app, the tenants' servers started by serverOfTenant and the default
 * server closed, in that order.
 */
export function useListeningApp(dialect: Dialect): ListeningAppWithServers {
  let system: TestSmtpServer | undefined;
  let app: ListeningApp | undefined;
  const servers: TestSmtpServer[] = [];
  beforeAll(async () => {
    system = await startTestSmtpServer();
    app = await startListeningApp(dialect, `smtp://127.0.0.1:${system.port}?from=alerts@example.com`);
  });
  afterAll(async () => {
    await app?.close();
    for (const server of servers) await server.close();
    await system?.close();
  });
  return {
    api: (...args) => app!.api(...args),
    async serverOfTenant(options) {
      const server = await startTestSmtpServer(options);
      servers.push(server);
      return server;
    },
  };
}

/** TenantsApi sends a request under /api/v1/tenants and returns its JSON answer (undefined for an empty one). */
export type TenantsApi = (method: string, path: string, body?: unknown, token?: string) => Promise<any>;

/** TenantsRequest sends a request under /api/v1/tenants and returns its status and JSON answer, whatever the status. */
export type TenantsRequest = (method: string, path: string, body?: unknown, token?: string) => Promise<{ status: number; json: any }>;

/**
 * tenantsRequest drives a Tocsin listening at `url` over HTTP as a client does: each request goes
 * under /api/v1/tenants with a bearer token (`token` unless another is given), for a test that
 * looks at the status, such as a refusal's.
 */
export function tenantsRequest(url: string, token: string = ADMIN_TOKEN): TenantsRequest {
  return async (method, path, body, as = token) => {
    const res = await fetch(`${url}/api/v1/tenants${path}`, {
      method,
      headers: { authorization: `Bearer ${as}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? jsonOrText(text) : undefined };
  };
}

// An answer that is not JSON (a proxy's page, a crash) is kept as text, for the assertion to show.
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * tenantsApi is tenantsRequest for the requests that must succeed: each must answer below 300,
 * the assertion showing the answer's body when it does not.
 */
export function tenantsApi(url: string, token: string = ADMIN_TOKEN): TenantsApi {
  const request = tenantsRequest(url, token);
  return async (method, path, body, as) => {
    const { status, json } = await request(method, path, body, as);
    expect(status, `${method} ${path}: ${JSON.stringify(json)}`).toBeLessThan(300);
    return json;
  };
}

/**
 * tenantWithFatalReader creates `tenant`, sending its alert emails through the SMTP server on
 * `port` (plain, no login), with one reader, Ann (ann@acme.example), who wants Fatal alerts at once
 * and nothing else; it returns her user id.
 */
export async function tenantWithFatalReader(api: TenantsApi, tenant: string, port: number): Promise<string> {
  await api('POST', '', { name: tenant });
  await api('PUT', `/${tenant}/settings/mail`, {
    alertsEmailEnabled: true,
    useCustom: true,
    custom: { host: '127.0.0.1', port, security: 'none', fromAddress: 'alerts@acme.example' },
  });
  const { id } = await api('POST', `/${tenant}/users`, { email: 'ann@acme.example', name: 'Ann', roles: ['Alerts Viewer'] });
  await api('PUT', `/${tenant}/users/${id}/alert-preferences`, { email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false } });
  return id;
}
