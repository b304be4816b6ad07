/*
 * ROUTE SAMPLES: read this when you add a route.
 *
 * `tenant-isolation.test.ts` (cross-tenant 404s, no leaks in lists) and `malformed-input.test.ts`
 * (no 5xx for any input) walk `app.routeTable`, so every route you register is tested without you
 * writing those tests. To call your route for real they need two things from this file:
 *
 * - PARAM_SAMPLES: for each path parameter other than `:tenant` (`:userId`, `:alertId`, ...), a
 *   function that creates a real object in the given tenant and returns its id. It runs as the
 *   host administrator; `scope.ids` holds the ids made for the parameters left of it in the path
 *   (so `:tokenId` can be made for `scope.ids.userId`).
 * - BODY_SAMPLES: for each route with a body schema, keyed `METHOD /url` exactly as registered
 *   (`POST /api/v1/tenants/:tenant/users`), a body the route accepts. Use `scope.unique()` for
 *   anything that must be unique (names, emails); it embeds the tenant's name, which the leak check
 *   looks for in other tenants' answers.
 *
 * Both walks fail with a message naming what is missing here. Keep the samples small and valid:
 * the isolation walk also calls each route as its own tenant and expects no 404 and no 5xx.
 */
import type { HTTPMethods, LightMyRequestResponse } from 'fastify';

/** SampleScope is what a sample gets: an admin API, the tenant to create in, and earlier ids. */
export interface SampleScope {
  /** call sends a request as the host administrator. */
  call(method: HTTPMethods, url: string, body?: unknown): Promise<LightMyRequestResponse>;
  /** The tenant's name, ready for a path. */
  readonly tenant: string;
  /** Ids already made for the parameters left of this one in the path. */
  readonly ids: Readonly<Record<string, string>>;
  /** unique returns a fresh lower-case word starting with the tenant's name. */
  unique(): string;
}

/** ParamSample creates an object in `scope.tenant` and returns the id its path parameter takes. */
export type ParamSample = (scope: SampleScope) => Promise<string>;

/** BodySample returns a valid body for one route. */
export type BodySample = (scope: SampleScope) => unknown;

/** createdId returns the `id` of a 2xx answer, or throws saying which sample failed and why. */
export async function createdId(what: string, answer: Promise<LightMyRequestResponse>): Promise<string> {
  const res = await answer;
  if (res.statusCode >= 300) throw new Error(`route sample for ${what} failed: ${res.statusCode} ${res.body}`);
  return res.json<{ id: string }>().id;
}

/** PARAM_SAMPLES make a real object for each path parameter kind; see the header comment. */
export const PARAM_SAMPLES: Record<string, ParamSample> = {
  userId: (s) => createdId(':userId', s.call('POST', `/api/v1/tenants/${s.tenant}/users`, { email: `${s.unique()}@example.com`, name: 'Sample user' })),
  groupId: (s) => createdId(':groupId', s.call('POST', `/api/v1/tenants/${s.tenant}/groups`, { name: s.unique() })),
  roleId: (s) => createdId(':roleId', s.call('POST', `/api/v1/tenants/${s.tenant}/roles`, { name: s.unique(), permissions: ['Alerts.View'] })),
  tokenId: (s) => createdId(':tokenId', s.call('POST', `/api/v1/tenants/${s.tenant}/users/${s.ids.userId}/tokens`, { name: s.unique() })),
  alertId: async (s) => {
    const res = await s.call('POST', `/api/v1/tenants/${s.tenant}/alerts`, { severity: 'Error', component: 'Jobs', message: s.unique() });
    if (res.statusCode !== 202) throw new Error(`route sample for :alertId failed: ${res.statusCode} ${res.body}`);
    return res.json<{ ids: string[] }>().ids[0]!;
  },
  sourceId: (s) => createdId(':sourceId', s.call('POST', `/api/v1/tenants/${s.tenant}/sources`, { name: s.unique(), kind: 'webhook' })),
  // A test email is recorded in the delivery log whether it went out or not (the test apps' system server is unreachable).
  deliveryId: async (s) => {
    const test = await s.call('POST', `/api/v1/tenants/${s.tenant}/settings/mail/test`, { sendTo: `${s.unique()}@example.com` });
    if (test.statusCode !== 200) throw new Error(`route sample for :deliveryId failed: ${test.statusCode} ${test.body}`);
    const log = await s.call('GET', `/api/v1/tenants/${s.tenant}/deliveries?kind=test&limit=1`);
    return log.json<{ items: { id: string }[] }>().items[0]!.id;
  },
  muteId: (s) =>
    createdId(':muteId', s.call('POST', `/api/v1/tenants/${s.tenant}/mutes`, { scope: 'tenant', match: { robot: s.unique() }, until: '2999-01-01T00:00:00Z' })),
};

/**
 * WILDCARD_SAMPLES fill the trailing `*` of a route whose wildcard names something every tenant
 * has (keyed by the route's url as registered); other wildcards get `x`.
 */
export const WILDCARD_SAMPLES: Record<string, string> = {
  // Orchestrator's Settings('key'): the rest of the path after `Settings(`.
  '/odata/Settings(*': "'Abp.Timing.TimeZone')",
};

/** BODY_SAMPLES hold a valid body for each route with a body schema; see the header comment. */
export const BODY_SAMPLES: Record<string, BodySample> = {
  'POST /api/v1/auth/login': (s) => ({ tenant: s.tenant, email: `${s.unique()}@example.com`, password: 'not the password' }),
  'POST /api/v1/tenants': (s) => ({ name: s.unique() }),
  'PATCH /api/v1/tenants/:tenant': () => ({ displayName: 'Sample display name' }),
  'POST /api/v1/tenants/:tenant/users': (s) => ({ email: `${s.unique()}@example.com`, name: 'Sample user' }),
  'PATCH /api/v1/tenants/:tenant/users/:userId': () => ({ name: 'Renamed user' }),
  'POST /api/v1/tenants/:tenant/users/:userId/tokens': () => ({ name: 'sample token' }),
  'POST /api/v1/tenants/:tenant/groups': (s) => ({ name: s.unique() }),
  'PATCH /api/v1/tenants/:tenant/groups/:groupId': () => ({ expandMembers: true }),
  'POST /api/v1/tenants/:tenant/roles': (s) => ({ name: s.unique(), permissions: ['Alerts.View'] }),
  'PATCH /api/v1/tenants/:tenant/roles/:roleId': () => ({ permissions: ['Alerts.View', 'Users.View'] }),
  'PUT /api/v1/tenants/:tenant/users/:userId/alert-preferences': () => ({ email: { fatalImmediately: true } }),
  'PUT /api/v1/tenants/:tenant/me/alert-preferences': () => ({ subscriptions: { Robots: false } }),
  'POST /api/v1/tenants/:tenant/me/password': () => ({ currentPassword: 'the current password', newPassword: 'a new sample password' }),
  'PUT /api/v1/tenants/:tenant/groups/:groupId/alert-preferences': () => ({ email: { dailyReport: false } }),
  'PUT /api/v1/tenants/:tenant/settings/mail': () => ({ dailyReportTime: '09:00', sendEmptyDailyReport: true }),
  // The test app's system SMTP (127.0.0.1:1) refuses at once: the answer is a fast 200 {ok: false}.
  'POST /api/v1/tenants/:tenant/settings/mail/test': () => ({ sendTo: 'qa@example.com' }),
  'PUT /api/v1/system/mail-settings': () => ({ fromDisplayName: 'Sample system sender' }),
  'POST /api/v1/system/mail-settings/test': () => ({ sendTo: 'qa@example.com' }),
  'POST /odata/Settings/UiPath.Server.Configuration.OData.UpdateBulk': () => ({ settings: [{ Name: 'Alerts.Email.Enabled', Value: 'true' }] }),
  // The wildcard names Abp.Timing.TimeZone (WILDCARD_SAMPLES).
  'PUT /odata/Settings(*': () => ({ Name: 'Abp.Timing.TimeZone', Value: 'UTC', Scope: 'Tenant' }),
  // Port 1 refuses at once: the answer is a fast 400 naming the SMTP error.
  'POST /odata/Settings/UiPath.Server.Configuration.OData.VerifySmtpSetting': () => ({
    sendTo: 'qa@example.com',
    smtpSettingModel: { Host: '127.0.0.1', Port: 1, EnableSsl: false, DefaultFromAddress: 'sample@example.com' },
  }),
  'POST /api/v1/tenants/:tenant/alerts': (s) => ({ severity: 'Error', component: 'Jobs', message: s.unique() }),
  'POST /api/v1/tenants/:tenant/alerts/mark-read': () => ({ all: true }),
  // Routes that take no body (and every DELETE) refuse any field (noBody): an empty object is the body they accept.
  'POST /api/v1/auth/logout': () => ({}),
  'POST /api/v1/tenants/:tenant/alerts/:alertId/acknowledge': () => ({}),
  'POST /api/v1/tenants/:tenant/sources/:sourceId/rotate-secret': () => ({}),
  'POST /api/v1/tenants/:tenant/sources/:sourceId/test': () => ({}),
  'DELETE /api/v1/tenants/:tenant': () => ({}),
  'DELETE /api/v1/tenants/:tenant/users/:userId': () => ({}),
  'DELETE /api/v1/tenants/:tenant/users/:userId/tokens/:tokenId': () => ({}),
  'DELETE /api/v1/tenants/:tenant/groups/:groupId': () => ({}),
  'DELETE /api/v1/tenants/:tenant/roles/:roleId': () => ({}),
  'DELETE /api/v1/tenants/:tenant/alerts/:alertId': () => ({}),
  'DELETE /api/v1/tenants/:tenant/mutes/:muteId': () => ({}),
  'DELETE /api/v1/tenants/:tenant/sources/:sourceId': () => ({}),
  'DELETE /api/v1/tenants/:tenant/settings/mail/custom': () => ({}),
  'DELETE /api/v1/system/mail-catcher/messages': () => ({}),
  'POST /api/v1/tenants/:tenant/alerts/mark-unread': () => ({ ids: ['no-such-alert'] }),
  'POST /api/v1/tenants/:tenant/sources': (s) => ({ name: s.unique(), kind: 'alertmanager', mapping: { defaultComponent: 'Robots' } }),
  'PATCH /api/v1/tenants/:tenant/sources/:sourceId': () => ({ enabled: true, mapping: { events: { 'Sample.Event': { severity: 'Warn' } } } }),
  // Unsigned, so the receiver answers 401: the walks check it never fails worse than that.
  'POST /api/v1/sources/:sourceId/receive': (s) => ({ severity: 'Error', component: 'Jobs', message: s.unique() }),
  'POST /api/v1/tenants/:tenant/mutes': (s) => ({ scope: 'tenant', match: { robot: s.unique() }, until: '2999-01-01T00:00:00Z' }),
  'POST /api/Account/Authenticate': (s) => ({ tenancyName: s.tenant, usernameOrEmailAddress: `${s.unique()}@example.com`, password: 'not the password' }),
  'POST /odata/Alerts/UiPath.Server.Configuration.OData.MarkAsRead': () => ({ ids: ['no-such-alert'] }),
  'POST /odata/Alerts/UiPath.Server.Configuration.OData.RaiseProcessAlert': (s) => ({
    processAlert: { Message: s.unique(), Severity: 'Error', ProcessName: 'Sample process', RobotName: 'Sample robot' },
  }),
};
