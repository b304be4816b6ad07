import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { grantSourcePermissions } from '../storage/migrations/20261130-70-sources.js';
import { describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import { sourceSecretOwner } from './secrets.js';

const PUBLIC_URL = 'https://tocsin.example.com';

describeEachDialect('inbound sources: the model and its API', (dialect) => {
  let t: TestApp;
  const base = '/api/v1/tenants/acme-sources/sources';

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_PUBLIC_URL: PUBLIC_URL });
    await t.call('POST', '/api/v1/tenants', { name: 'acme-sources' });
  });
  afterAll(() => t.close());

  it('refuses a mapping of too many event overrides before reading each one, so one request cannot hold the server for seconds', async () => {
    // Each override (its severity, its component in the catalogue) was read before the count: 400,000 of them held
    // the event loop ~10 s. Counted first, the count alone is the answer, even with a wrong override among them.
    const events = Array.from({ length: 201 }, (_, i) => `"e${i}":{"severity":"${i === 7 ? 'Loud' : 'Error'}"}`).join(',');
    for (const [method, url] of [
      ['POST', base],
      ['PATCH', `${base}/${(await t.call('POST', base, { name: 'flood', kind: 'webhook' })).json().id}`],
    ] as const) {
      const res = await t.tocsin.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        payload: `{"name":"flood","kind":"webhook","mapping":{"events":{${events}}}}`.replace(method === 'PATCH' ? '"kind":"webhook",' : '', ''),
      });
      expect(res.statusCode, method).toBe(400);
      expect(res.json().errors, method).toEqual([{ path: 'mapping.events', message: 'must have at most 200 entries' }]);
    }
    // As many as the bound is taken.
    const most = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`e${i}`, { severity: 'Error' }]));
    const taken = await t.call('POST', base, { name: 'most', kind: 'webhook', mapping: { events: most } });
    expect(taken.statusCode, taken.body).toBe(201);
    expect(Object.keys(taken.json().mapping.events)).toHaveLength(200);
  });

  it('refuses a body field on rotate-secret and test, which take none, by name as every other route does; no body or {} still rotates', async () => {
    const { id } = (await t.call('POST', base, { name: 'bodiless', kind: 'webhook' })).json();
    for (const action of ['rotate-secret', 'test']) {
      const res = await t.call('POST', `${base}/${id}/${action}`, { keepOld: false });
      expect(res.statusCode, action).toBe(400);
      expect(res.json().errors, action).toEqual([{ path: 'keepOld', message: 'is not a known field' }]);
    }
    expect((await t.call('POST', `${base}/${id}/rotate-secret`, {})).statusCode).toBe(200);
    expect((await t.call('POST', `${base}/${id}/rotate-secret`)).statusCode).toBe(200);
  });

  it('lists sources by name as a person reads them, ignoring case, as groups and roles are listed, on both engines', async () => {
    const tenant = '/api/v1/tenants/sources-order/sources';
    await t.call('POST', '/api/v1/tenants', { name: 'sources-order' });
    for (const name of ['zeta', 'Beta', 'b-side', 'Alpha', 'éclair']) expect((await t.call('POST', tenant, { name, kind: 'webhook' })).statusCode).toBe(201);
    const names = (await t.call('GET', tenant)).json<{ items: { name: string }[] }>().items.map((s) => s.name);
    // By code point every capital came first ('Alpha', 'Beta', 'b-side', 'zeta').
    expect(names).toEqual(['Alpha', 'b-side', 'Beta', 'zeta', 'éclair']);
  });

  it('creates a source with its receive URL, the kind default mapping, zero counters and a secret shown once', async () => {
    const res = await t.call('POST', base, { name: 'Prometheus', kind: 'alertmanager' });
    expect(res.statusCode).toBe(201);
    const source = res.json();
    expect(source).toMatchObject({
      name: 'Prometheus',
      kind: 'alertmanager',
      enabled: true,
      url: `${PUBLIC_URL}/api/v1/sources/${source.id}/receive`,
      mapping: {
        severityLabel: 'severity',
        severities: { critical: 'Fatal', page: 'Fatal', error: 'Error', warning: 'Warn', info: 'Info' },
        eventLabel: 'alertname',
      },
      stats: { lastReceivedAt: null, accepted: 0, rejected: 0, lastError: null },
    });
    expect(source.secret.length).toBeGreaterThanOrEqual(40);

    const read = await t.call('GET', `${base}/${source.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.body).not.toContain(source.secret);
    expect(read.json()).not.toHaveProperty('secret');
    expect((await t.call('GET', base)).json().items.map((s: { id: string }) => s.id)).toContain(source.id);
  });

  it('gives each kind its secret format: Orchestrator at most 100 characters, Standard Webhooks whsec_ + Base64 of 24–64 bytes', async () => {
    const orchestrator = (await t.call('POST', base, { name: 'Orchestrator prod', kind: 'orchestrator-webhook' })).json();
    expect(orchestrator.secret.length).toBeLessThanOrEqual(100);
    const webhook = (await t.call('POST', base, { name: 'CI', kind: 'webhook' })).json();
    expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const key = Buffer.from(webhook.secret.slice('whsec_'.length), 'base64');
    expect(key.length).toBeGreaterThanOrEqual(24);
    expect(key.length).toBeLessThanOrEqual(64);
  });

  it('keeps names unique per tenant (409) and names the invalid field in a 400', async () => {
    await t.call('POST', base, { name: 'Twice', kind: 'webhook' });
    expect((await t.call('POST', base, { name: 'Twice', kind: 'webhook' })).statusCode).toBe(409);
    const badKind = await t.call('POST', base, { name: 'Bad', kind: 'carrier-pigeon' });
    expect(badKind.statusCode).toBe(400);
    expect(badKind.json().errors[0].path).toBe('kind');
    const badSeverity = await t.call('POST', base, { name: 'Bad', kind: 'alertmanager', mapping: { severities: { critical: 'Loud' } } });
    expect(badSeverity.json().errors[0].path).toBe('mapping.severities.critical');
    const foreign = await t.call('POST', base, { name: 'Bad', kind: 'webhook', mapping: { severityLabel: 'sev' } });
    expect(foreign.json().errors[0].path).toBe('mapping.severityLabel');
    const pullOnPush = await t.call('POST', base, { name: 'Bad', kind: 'webhook', pull: { baseUrl: 'https://orch.example.com' } });
    expect(pullOnPush.json().errors[0].path).toBe('pull');
  });

  it('says a name is at most 100 characters however long it is, on create and on rename', async () => {
    const source = (await t.call('POST', base, { name: 'Short', kind: 'webhook' })).json();
    for (const length of [101, 201, 1_000]) {
      const created = await t.call('POST', base, { name: 'x'.repeat(length), kind: 'webhook' });
      expect(created.statusCode, `${length}`).toBe(400);
      expect(created.json().errors, `${length}`).toEqual([{ path: 'name', message: expect.stringContaining('100') }]);
      const renamed = await t.call('PATCH', `${base}/${source.id}`, { name: 'x'.repeat(length) });
      expect(renamed.json().errors, `${length}`).toEqual([{ path: 'name', message: expect.stringContaining('100') }]);
    }
    expect((await t.call('POST', base, { name: 'y'.repeat(100), kind: 'webhook' })).statusCode).toBe(201);
  });

  it('keeps names unique ignoring case, as group and role names, on create, on rename and when both are sent at once', async () => {
    // "Billing Prod" and "BILLING PROD" were two sources that read as one in every list.
    const first = (await t.call('POST', base, { name: 'Billing Prod', kind: 'orchestrator-webhook' })).json();
    const upper = await t.call('POST', base, { name: 'BILLING PROD', kind: 'webhook' });
    expect(upper.statusCode).toBe(409);
    expect(upper.json().errors[0].path).toBe('name');
    const other = (await t.call('POST', base, { name: 'Staging', kind: 'webhook' })).json();
    expect((await t.call('PATCH', `${base}/${other.id}`, { name: 'billing prod' })).statusCode).toBe(409);
    // Its own name in another case is a rename, not a conflict.
    expect((await t.call('PATCH', `${base}/${first.id}`, { name: 'billing prod' })).json().name).toBe('billing prod');
    const together = await Promise.all(['Nightly', 'NIGHTLY', 'nightly'].map((name) => t.call('POST', base, { name, kind: 'webhook' })));
    expect(together.map((res) => res.statusCode).sort()).toEqual([201, 409, 409]);
  });

  it('refuses a baseUrl with a query or fragment, which would swallow the /odata/Alerts path and query Tocsin adds to it', async () => {
    for (const baseUrl of ['https://orch.example.com/?tenant=a', 'https://orch.example.com/orchestrator_#top', 'https://orch.example.com?']) {
      const res = await t.call('POST', base, { name: 'Query', kind: 'orchestrator-pull', pull: { baseUrl, username: 'u', password: 'p' } });
      expect(res.statusCode, baseUrl).toBe(400);
      expect(res.json().errors[0].path).toBe('pull.baseUrl');
    }
    const fine = await t.call('POST', base, {
      name: 'Query',
      kind: 'orchestrator-pull',
      pull: { baseUrl: 'https://orch.example.com/', username: 'u', password: 'p' },
    });
    expect(fine.statusCode).toBe(201);
    const patched = await t.call('PATCH', `${base}/${fine.json().id}`, { pull: { baseUrl: 'https://orch.example.com/#x' } });
    expect(patched.statusCode).toBe(400);
    expect(patched.json().errors[0].path).toBe('pull.baseUrl');
  });

  it('stores an orchestrator-pull source with write-only secrets, defaults, and no receive URL', async () => {
    const noAuth = await t.call('POST', base, { name: 'Upstream', kind: 'orchestrator-pull', pull: { baseUrl: 'https://orch.example.com' } });
    expect(noAuth.statusCode).toBe(400);
    expect(noAuth.json().errors[0].path).toBe('pull.username');

    const res = await t.call('POST', base, {
      name: 'Upstream',
      kind: 'orchestrator-pull',
      pull: { baseUrl: 'https://orch.example.com', tenancyName: 'Default', username: 'poller', password: 'upstream-pass-123' },
    });
    expect(res.statusCode).toBe(201);
    const source = res.json();
    expect(res.body).not.toContain('upstream-pass-123');
    expect(source.url).toBeNull();
    expect(source.pull).toMatchObject({
      baseUrl: 'https://orch.example.com',
      username: 'poller',
      passwordSet: true,
      clientSecretSet: false,
      intervalSeconds: 60,
    });
    expect(Date.parse(source.createdAt) - Date.parse(source.pull.since)).toBe(24 * 3_600_000);

    const patched = await t.call('PATCH', `${base}/${source.id}`, { pull: { intervalSeconds: 5 } });
    expect(patched.json().pull).toMatchObject({ intervalSeconds: 5, passwordSet: true, username: 'poller' });
    // null clears a write-only secret, as it does an SMTP password; the poll then says what is missing.
    const cleared = await t.call('PATCH', `${base}/${source.id}`, { pull: { password: null } });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json().pull).toMatchObject({ username: 'poller', passwordSet: false, clientSecretSet: false });
    expect((await t.call('PATCH', `${base}/${source.id}`, { pull: { password: 'upstream-pass-456' } })).json().pull.passwordSet).toBe(true);
    const noWayIn = { baseUrl: 'https://orch.example.com', username: 'poller', password: null };
    expect((await t.call('POST', base, { name: 'No way in', kind: 'orchestrator-pull', pull: noWayIn })).json().errors[0].path).toBe('pull.password');
    expect((await t.call('PATCH', `${base}/${source.id}`, { pull: { intervalSeconds: 0 } })).json().errors[0].path).toBe('pull.intervalSeconds');
  });

  it('patches the other pull settings of a source whose sign-in was cleared, and asks for a whole sign-in only when one is given', async () => {
    const pull = { baseUrl: 'https://orch.example.com', username: 'poller', password: 'upstream-pass-123' };
    const source = (await t.call('POST', base, { name: 'Cleared sign-in', kind: 'orchestrator-pull', pull })).json();
    expect((await t.call('PATCH', `${base}/${source.id}`, { pull: { password: null } })).statusCode).toBe(200);
    // The PATCH names no credential: the cleared sign-in it keeps is the server's own answer to the one before.
    const interval = await t.call('PATCH', `${base}/${source.id}`, { pull: { intervalSeconds: 30, tenancyName: null } });
    expect(interval.statusCode, interval.body).toBe(200);
    expect(interval.json().pull).toMatchObject({ intervalSeconds: 30, tenancyName: null, username: 'poller', passwordSet: false });
    const halfWay = await t.call('PATCH', `${base}/${source.id}`, { pull: { clientId: 'app' } });
    expect(halfWay.statusCode).toBe(400);
    expect(halfWay.json().errors[0].path).toBe('pull.clientSecret');
    const whole = await t.call('PATCH', `${base}/${source.id}`, { pull: { password: 'upstream-pass-456' } });
    expect(whole.json().pull).toMatchObject({ intervalSeconds: 30, passwordSet: true });
  });

  it('names the half of a sign-in that is missing: the password beside a username, the client secret beside a client id, and the other way round', async () => {
    // Every half-given sign-in was a 400 on pull.username, which an external-application form does not show.
    const baseUrl = 'https://orch.example.com';
    const missing = async (given: Record<string, unknown>) =>
      (await t.call('POST', base, { name: 'Half a sign-in', kind: 'orchestrator-pull', pull: { baseUrl, ...given } }))
        .json()
        .errors?.map((e: { path: string }) => e.path);
    expect(await missing({})).toEqual(['pull.username']);
    expect(await missing({ username: 'poller' })).toEqual(['pull.password']);
    expect(await missing({ username: 'poller', password: null })).toEqual(['pull.password']);
    expect(await missing({ password: 'upstream-pass-123' })).toEqual(['pull.username']);
    expect(await missing({ clientId: 'app' })).toEqual(['pull.clientSecret']);
    expect(await missing({ clientId: 'app', clientSecret: null })).toEqual(['pull.clientSecret']);
    expect(await missing({ clientSecret: 'app-secret-123' })).toEqual(['pull.clientId']);
  });

  it('sends a saved pull secret only to the host it was saved for: a PATCH naming another asks for it again', async () => {
    // Both are write-only, yet a Sources.Edit holder who named a server of their own as baseUrl or identityUrl received them with the next poll or test.
    const onPrem = { baseUrl: 'https://orch.example.com', username: 'poller', password: 'upstream-pass-123' };
    const source = (await t.call('POST', base, { name: 'Moved on-prem', kind: 'orchestrator-pull', enabled: false, pull: onPrem })).json();
    const moved = await t.call('PATCH', `${base}/${source.id}`, { pull: { baseUrl: 'https://attacker.example.net' } });
    expect(moved.statusCode, moved.body).toBe(400);
    expect(moved.json().errors).toEqual([{ path: 'pull.password', message: expect.stringContaining('type it again') }]);
    expect((await t.call('GET', `${base}/${source.id}`)).json().pull).toMatchObject({ baseUrl: 'https://orch.example.com', passwordSet: true });
    // The same host in other letters, on another port or path, keeps it; typed again, it goes to the new host.
    const port = await t.call('PATCH', `${base}/${source.id}`, { pull: { baseUrl: 'https://ORCH.example.com:8443/orchestrator' } });
    expect(port.json().pull).toMatchObject({ passwordSet: true });
    const typed = await t.call('PATCH', `${base}/${source.id}`, { pull: { baseUrl: 'https://orch2.example.com', password: 'typed-again' } });
    expect(typed.json().pull).toMatchObject({ baseUrl: 'https://orch2.example.com', passwordSet: true });

    const cloud = { baseUrl: 'https://cloud.uipath.com/org/tenant/orchestrator_', clientId: 'app', clientSecret: 'client-secret-123' };
    const app = (await t.call('POST', base, { name: 'Moved cloud', kind: 'orchestrator-pull', enabled: false, pull: cloud })).json();
    for (const pull of [{ identityUrl: 'https://attacker.example.net/identity' }, { baseUrl: 'https://attacker.example.net/org/tenant/orchestrator_' }]) {
      const answer = await t.call('PATCH', `${base}/${app.id}`, { pull });
      expect(answer.statusCode, answer.body).toBe(400);
      expect(answer.json().errors).toEqual([{ path: 'pull.clientSecret', message: expect.stringContaining('type it again') }]);
    }
    const identity = await t.call('PATCH', `${base}/${app.id}`, { pull: { identityUrl: 'https://cloud.uipath.com/identity_' } });
    expect(identity.json().pull).toMatchObject({ clientSecretSet: true });
  });

  it('sends a saved pull secret over https only, when it was saved for https: a PATCH to http on the same host asks for it again', async () => {
    // Sent in clear to http://, a Sources.Edit holder to whom it is write-only could read it on the way.
    const onPrem = { baseUrl: 'https://orch.example.com', username: 'poller', password: 'upstream-pass-123' };
    const source = (await t.call('POST', base, { name: 'In clear on-prem', kind: 'orchestrator-pull', enabled: false, pull: onPrem })).json();
    const inClear = await t.call('PATCH', `${base}/${source.id}`, { pull: { baseUrl: 'http://orch.example.com' } });
    expect(inClear.statusCode, inClear.body).toBe(400);
    expect(inClear.json().errors).toEqual([{ path: 'pull.password', message: expect.stringContaining('type it again') }]);
    expect((await t.call('GET', `${base}/${source.id}`)).json().pull).toMatchObject({ baseUrl: 'https://orch.example.com', passwordSet: true });
    const typed = await t.call('PATCH', `${base}/${source.id}`, { pull: { baseUrl: 'http://orch.example.com', password: 'typed-again' } });
    expect(typed.json().pull).toMatchObject({ baseUrl: 'http://orch.example.com', passwordSet: true });

    const cloud = { baseUrl: 'https://cloud.uipath.com/org/tenant/orchestrator_', clientId: 'app', clientSecret: 'client-secret-123' };
    const app = (await t.call('POST', base, { name: 'In clear cloud', kind: 'orchestrator-pull', enabled: false, pull: cloud })).json();
    const identity = await t.call('PATCH', `${base}/${app.id}`, { pull: { identityUrl: 'http://cloud.uipath.com/identity_' } });
    expect(identity.statusCode, identity.body).toBe(400);
    expect(identity.json().errors).toEqual([{ path: 'pull.clientSecret', message: expect.stringContaining('type it again') }]);
  });

  it('keeps every field of source PATCHes sent at once, each of one field, the pull settings and the mapping too', async () => {
    // Each PATCH merged the pull settings and the mapping it had read, and wrote them whole: on
    // PostgreSQL, of { pull: { tenancyName } } and { pull: { scope } } sent together one was lost.
    const created = await t.call('POST', base, {
      name: 'pull-race',
      kind: 'orchestrator-pull',
      pull: { baseUrl: 'https://orchestrator.example.com/', username: 'u', password: 'p', intervalSeconds: 3600 },
    });
    expect(created.statusCode, created.body).toBe(201);
    const url = `${base}/${created.json().id}`;
    for (let round = 0; round < 3; round++) {
      await t.call('PATCH', url, { name: 'pull-race', enabled: true, pull: { tenancyName: null, scope: null }, mapping: null });
      const patches = [
        { name: 'pull-race-2' },
        { enabled: false },
        { pull: { tenancyName: 'Default' } },
        { pull: { scope: 'OR.Monitoring' } },
        { mapping: { events: { 'job.faulted': { severity: 'Fatal' } } } },
      ];
      const answers = await Promise.all(patches.map((body) => t.call('PATCH', url, body)));
      expect(answers.map((a) => a.statusCode)).toEqual(patches.map(() => 200));
      expect((await t.call('GET', url)).json(), `round ${round}`).toMatchObject({
        name: 'pull-race-2',
        enabled: false,
        pull: { tenancyName: 'Default', scope: 'OR.Monitoring' },
        mapping: { events: { 'job.faulted': { severity: 'Fatal' } } },
      });
    }
  });

  it('puts intervalSeconds and since back to their defaults when set to null, as null does to any optional field', async () => {
    const pull = { baseUrl: 'https://orch.example.com', username: 'poller', password: 'upstream-pass-123', intervalSeconds: 5, since: '2026-01-02T03:04:05Z' };
    const source = (await t.call('POST', base, { name: 'Defaults again', kind: 'orchestrator-pull', pull })).json();
    expect(source.pull).toMatchObject({ intervalSeconds: 5, since: '2026-01-02T03:04:05Z' });
    const patched = await t.call('PATCH', `${base}/${source.id}`, { pull: { intervalSeconds: null, since: null } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().pull).toMatchObject({ intervalSeconds: 60, passwordSet: true });
    expect(Date.parse(source.createdAt) - Date.parse(patched.json().pull.since)).toBe(24 * 3_600_000);
    const created = await t.call('POST', base, {
      name: 'Defaults given as null',
      kind: 'orchestrator-pull',
      pull: { ...pull, intervalSeconds: null, since: null },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().pull.intervalSeconds).toBe(60);
    expect(Date.parse(created.json().createdAt) - Date.parse(created.json().pull.since)).toBe(24 * 3_600_000);
  });

  it("reads a pull's since as an alert's occurredAt is read: a space for the T, no seconds, +0100, and refuses it without an offset", async () => {
    const pull = { baseUrl: 'https://orch.example.com', username: 'poller', password: 'upstream-pass-123' };
    const written = [
      ['2026-01-02 03:04:05+01:00', '2026-01-02T03:04:05+01:00'],
      ['2026-01-02T03:04+0100', '2026-01-02T03:04:00+01:00'],
      ['2026-01-02t02:04:05z', '2026-01-02T02:04:05Z'],
    ];
    for (const [i, [since, read]] of written.entries()) {
      const created = await t.call('POST', base, { name: `Since ${i}`, kind: 'orchestrator-pull', pull: { ...pull, since } });
      expect(created.statusCode, since).toBe(201);
      expect(Date.parse(created.json().pull.since), since).toBe(Date.parse(read!));
      const patched = await t.call('PATCH', `${base}/${created.json().id}`, { pull: { since } });
      expect(Date.parse(patched.json().pull.since), since).toBe(Date.parse(read!));
    }
    const local = await t.call('POST', base, { name: 'Since local', kind: 'orchestrator-pull', pull: { ...pull, since: '2026-01-02T03:04:05' } });
    expect(local.json()).toMatchObject({ status: 400, errors: [{ path: 'pull.since', message: expect.stringMatching(/offset from UTC/) }] });
  });

  it('takes the folder id (organizationUnitId) as a number or as its digits in a string, as ids are written, and refuses other text', async () => {
    const pull = { baseUrl: 'https://orch.example.com', clientId: 'app', clientSecret: 'app-secret-123' };
    const created = await t.call('POST', base, { name: 'Folder as text', kind: 'orchestrator-pull', pull: { ...pull, organizationUnitId: '12' } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().pull.organizationUnitId).toBe(12);
    const patched = await t.call('PATCH', `${base}/${created.json().id}`, { pull: { organizationUnitId: '7' } });
    expect(patched.json().pull.organizationUnitId).toBe(7);
    const wrong = await t.call('PATCH', `${base}/${created.json().id}`, { pull: { organizationUnitId: 'Finance' } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().errors[0].path).toBe('pull.organizationUnitId');
  });

  it('refuses a user name or password inside the upstream URLs, which would show in every answer and never sign in', async () => {
    const pull = { baseUrl: 'https://orch.example.com', tenancyName: 'Default', username: 'poller', password: 'upstream-pass-123' };
    for (const [field, url] of [
      ['baseUrl', 'https://poller:url-pass-456@orch.example.com'],
      ['baseUrl', 'https://poller@orch.example.com'],
      ['identityUrl', 'https://:url-pass-456@id.example.com/connect/token'],
    ] as const) {
      const res = await t.call('POST', base, { name: `Creds ${field}`, kind: 'orchestrator-pull', pull: { ...pull, [field]: url } });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().errors[0].path).toBe(`pull.${field}`);
    }
    const source = (await t.call('POST', base, { name: 'Creds later', kind: 'orchestrator-pull', pull })).json();
    const patched = await t.call('PATCH', `${base}/${source.id}`, { pull: { baseUrl: 'https://poller:url-pass-456@orch.example.com' } });
    expect(patched.statusCode, patched.body).toBe(400);
    expect(patched.json().errors[0].path).toBe('pull.baseUrl');
    expect((await t.call('GET', base)).body).not.toContain('url-pass-456');
  });
  it('patches name, enabled and mapping (null restores the default) and deletes', async () => {
    const source = (await t.call('POST', base, { name: 'To change', kind: 'orchestrator-webhook' })).json();
    const patched = await t.call('PATCH', `${base}/${source.id}`, {
      name: 'Changed',
      enabled: false,
      mapping: { events: { 'queueItem.added': { alert: true, severity: 'Warning' } } },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Changed', enabled: false, mapping: { events: { 'queueItem.added': { alert: true, severity: 'Warn' } } } });
    expect((await t.call('PATCH', `${base}/${source.id}`, { mapping: null })).json().mapping).toEqual({ events: {} });
    expect((await t.call('PATCH', `${base}/${source.id}`, { kind: 'webhook' })).statusCode).toBe(400);
    expect((await t.call('DELETE', `${base}/${source.id}`)).statusCode).toBe(204);
    expect((await t.call('GET', `${base}/${source.id}`)).statusCode).toBe(404);
    expect((await t.call('DELETE', `${base}/${source.id}`)).statusCode).toBe(404);
  });

  it('changes nothing, not even updatedAt, for a PATCH of a source with no field to set ({}, its own kind, or its fields as read)', async () => {
    const { id } = (await t.call('POST', base, { name: 'untouched', kind: 'webhook' })).json();
    const before = (await t.call('GET', `${base}/${id}`)).json();
    // The clock has moved on since the source was written, so a rewrite would show in updatedAt.
    await expect.poll(() => Date.now() > Date.parse(before.updatedAt) + 2, { timeout: 10_000 }).toBe(true);
    // Every field sent back as it was read (a form saved unchanged) is no change either.
    for (const body of [{}, { kind: 'webhook' }, before, { name: 'untouched', enabled: true, mapping: before.mapping }]) {
      const patched = await t.call('PATCH', `${base}/${id}`, body);
      expect(patched.statusCode, patched.body).toBe(200);
      expect(patched.json()).toEqual(before);
    }
    expect((await t.call('GET', `${base}/${id}`)).json()).toEqual(before);
    const disabled = (await t.call('PATCH', `${base}/${id}`, { ...before, enabled: false })).json();
    expect(Date.parse(disabled.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));
  });

  it('takes back the answer of a GET as a PATCH of a source, its read-only fields ignored (pull.passwordSet too), as a user or group', async () => {
    const { id } = (await t.call('POST', base, { name: 'echoed', kind: 'webhook' })).json();
    const read = (await t.call('GET', `${base}/${id}`)).json();
    const patched = await t.call('PATCH', `${base}/${id}`, { ...read, name: 'echoed again' });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ id, name: 'echoed again', url: read.url, createdAt: read.createdAt });
    const pull = { baseUrl: 'https://orchestrator.example.com', username: 'u', password: 'kept-secret', intervalSeconds: 120 };
    const created = (await t.call('POST', base, { name: 'echoed pull', kind: 'orchestrator-pull', enabled: false, pull })).json();
    const readPull = (await t.call('GET', `${base}/${created.id}`)).json();
    const patchedPull = await t.call('PATCH', `${base}/${created.id}`, { ...readPull, pull: { ...readPull.pull, intervalSeconds: 300 } });
    expect(patchedPull.statusCode, patchedPull.body).toBe(200);
    expect(patchedPull.json().pull).toMatchObject({ intervalSeconds: 300, username: 'u', passwordSet: true });
    // A mistyped field is still refused: only the answer's own names are let through.
    expect((await t.call('PATCH', `${base}/${id}`, { enable: false })).json().errors).toEqual([{ path: 'enable', message: 'is not a known field' }]);
    expect((await t.call('PATCH', `${base}/${created.id}`, { pull: { interval: 5 } })).json().errors).toEqual([
      { path: 'pull.interval', message: 'is not a known field' },
    ]);
  });

  it('refuses to change the kind of a source, saying it cannot change, and takes the kind it has as no change', async () => {
    // `kind` in a PATCH was "is not a known field", although every answer about the source names it.
    const source = (await t.call('POST', base, { name: 'Kind kept', kind: 'orchestrator-webhook' })).json();
    const other = await t.call('PATCH', `${base}/${source.id}`, { kind: 'webhook', name: 'Kind changed' });
    expect(other.statusCode).toBe(400);
    expect(other.json().errors).toEqual([{ path: 'kind', message: 'cannot change (orchestrator-webhook): create a new source of kind webhook' }]);
    const read = (await t.call('GET', `${base}/${source.id}`)).json();
    expect(read).toMatchObject({ name: 'Kind kept', kind: 'orchestrator-webhook' });
    const same = await t.call('PATCH', `${base}/${source.id}`, { kind: 'orchestrator-webhook', name: 'Kind kept, renamed' });
    expect(same.statusCode, same.body).toBe(200);
    expect(same.json()).toMatchObject({ name: 'Kind kept, renamed', kind: 'orchestrator-webhook' });
  });

  it("patches a mapping's fields one by one: those left out keep their value", async () => {
    const source = (await t.call('POST', base, { name: 'Prometheus, mapped', kind: 'alertmanager' })).json();
    await t.call('PATCH', `${base}/${source.id}`, { mapping: { severityLabel: 'priority', severities: { P1: 'Fatal' } } });
    const patched = await t.call('PATCH', `${base}/${source.id}`, { mapping: { events: { Watchdog: { alert: false } } } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().mapping).toMatchObject({ severityLabel: 'priority', severities: { P1: 'Fatal' }, events: { Watchdog: { alert: false } } });
    expect((await t.call('PATCH', `${base}/${source.id}`, { mapping: null })).json().mapping).toMatchObject({ severityLabel: 'severity', events: {} });
  });

  it('sets one field of a mapping back to its default on null, keeping the others, as null in a PATCH clears any optional field', async () => {
    const source = (await t.call('POST', base, { name: 'Prometheus, one by one', kind: 'alertmanager' })).json();
    await t.call('PATCH', `${base}/${source.id}`, {
      mapping: { severityLabel: 'priority', defaultComponent: 'Jobs', events: { Watchdog: { alert: false } } },
    });
    const cleared = await t.call('PATCH', `${base}/${source.id}`, { mapping: { severityLabel: null, events: null } });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json().mapping).toMatchObject({ severityLabel: 'severity', defaultComponent: 'Jobs', events: {} });
    // A field only alertmanager sources take may be cleared on any kind: it is not there to begin with.
    const webhook = (await t.call('POST', base, { name: 'Plain webhook', kind: 'webhook' })).json();
    const none = await t.call('PATCH', `${base}/${webhook.id}`, { mapping: { severityLabel: null } });
    expect(none.statusCode, none.body).toBe(200);
    expect(none.json().mapping).toEqual({ events: {} });
  });

  it('takes enabled null as its default, enabled, as active null is for a user: null in a PATCH clears an optional field', async () => {
    const source = (await t.call('POST', base, { name: 'Off then default', kind: 'webhook', enabled: false })).json();
    expect(source.enabled).toBe(false);
    const cleared = await t.call('PATCH', `${base}/${source.id}`, { enabled: null });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json().enabled).toBe(true);
    const created = await t.call('POST', base, { name: 'Enabled by null', kind: 'webhook', enabled: null });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().enabled).toBe(true);
  });

  it('takes pull null as none for a push kind, as enabled and mapping take null, and as missing for an orchestrator-pull source', async () => {
    // A client that sends every field (null for those without a value) creates and patches a push source as one that leaves pull out.
    const created = await t.call('POST', base, { name: 'Pull null', kind: 'webhook', enabled: null, mapping: null, pull: null });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).not.toHaveProperty('pull');
    const patched = await t.call('PATCH', `${base}/${created.json().id}`, { name: 'Pull null, renamed', pull: null });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Pull null, renamed', kind: 'webhook' });
    // An orchestrator-pull source cannot be without its pull settings: null is a 400 naming pull.
    const missing = await t.call('POST', base, { name: 'Pull none', kind: 'orchestrator-pull', pull: null });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors).toEqual([{ path: 'pull', message: 'is required for kind orchestrator-pull' }]);
    const pull = { baseUrl: 'https://orchestrator.example.com', username: 'robot', password: 'pw' };
    const puller = (await t.call('POST', base, { name: 'Pull kept', kind: 'orchestrator-pull', enabled: false, pull })).json();
    const cleared = await t.call('PATCH', `${base}/${puller.id}`, { pull: null });
    expect(cleared.statusCode).toBe(400);
    expect(cleared.json().errors).toEqual([{ path: 'pull', message: 'is required for kind orchestrator-pull' }]);
  });

  it('rotates the secret: two active at a time, sealed at rest', async () => {
    const source = (await t.call('POST', base, { name: 'Rotating', kind: 'webhook' })).json();
    const second = (await t.call('POST', `${base}/${source.id}/rotate-secret`)).json().secret;
    const third = (await t.call('POST', `${base}/${source.id}/rotate-secret`)).json().secret;
    const rows = await t.tocsin.deps.storage.db.selectFrom('source_secrets').selectAll().where('source_id', '=', source.id).execute();
    expect(rows).toHaveLength(2);
    const opened = rows.map((r) => t.tocsin.deps.secretBox.open(r.sealed, sourceSecretOwner(source.id))).sort();
    expect(opened).toEqual([second, third].sort());
    for (const row of rows) expect(row.sealed).not.toContain(second);
  });

  it('lets Sources.View read but not change, and gives the Administrator role both permissions', async () => {
    const viewer = await t.call('POST', '/api/v1/tenants/acme-sources/roles', { name: 'Source readers', permissions: ['Sources.View'] });
    expect(viewer.statusCode).toBe(201);
    const { token } = await t.tenantWithUser('acme-sources', ['Source readers']);
    expect((await t.call('GET', base, undefined, token)).statusCode).toBe(200);
    expect((await t.call('POST', base, { name: 'Nope', kind: 'webhook' }, token)).statusCode).toBe(403);
    const admin = await t.tenantWithUser('acme-sources', ['Administrator']);
    const me = (await t.call('GET', '/api/v1/tenants/acme-sources/me', undefined, admin.token)).json();
    expect(me.permissions).toEqual(expect.arrayContaining(['Sources.View', 'Sources.Edit']));
  });
});

describeEachDialect('the sources migration', (dialect) => {
  it("gives existing tenants' Administrator role Sources.View and Sources.Edit", async () => {
    const storage = await openTestStorage(dialect);
    try {
      const db = storage.db;
      await db
        .insertInto('tenants')
        .values({ id: 't-old', name: 'old-tenant', display_name: 'Old', time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 0 })
        .execute();
      await db
        .insertInto('roles')
        .values({ id: 'r-old', tenant_id: 't-old', name: 'Administrator', permissions: JSON.stringify(['Alerts.View']), built_in: 1 })
        .execute();
      await db
        .insertInto('roles')
        .values({ id: 'r-own', tenant_id: 't-old', name: 'Custom', permissions: JSON.stringify(['Alerts.View']), built_in: 0 })
        .execute();
      await grantSourcePermissions(db);
      await grantSourcePermissions(db);
      const rows = await db.selectFrom('roles').select(['id', 'permissions']).where('tenant_id', '=', 't-old').orderBy('id').execute();
      expect(rows.map((r) => JSON.parse(r.permissions))).toEqual([['Alerts.View', 'Sources.View', 'Sources.Edit'], ['Alerts.View']]);
    } finally {
      await storage.close();
    }
  });
});
