import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { type Mute, isMutedFor, matchesMute, sourceMatchOf } from './model.js';
import { SNOOZES_PER_USER_MAX, TENANT_MUTES_MAX, createMute } from './store.js';

const T0 = Date.parse('2026-03-01T08:00:00Z');
const HOUR = 3_600_000;

describe('mute decisions', () => {
  const alert = { component: 'Robots', event: 'Robot.StatusChanged.Offline', source: { robot: 'R7', process: 'Invoices' } };
  const mute = (over: Partial<Mute>): Mute => ({
    id: 'm',
    scope: 'tenant',
    ownerId: null,
    match: { robot: 'R7' },
    until: T0 + HOUR,
    createdBy: { userId: 'u', name: 'U' },
    createdAt: T0,
    ...over,
  });
  const ana = { type: 'user', id: 'ana' } as const;
  const ops = { type: 'group', id: 'ops' } as const;

  it('matches an alert having every value given', () => {
    expect(matchesMute({ robot: 'R7' }, alert)).toBe(true);
    expect(matchesMute({ robot: 'R7', process: 'Payroll' }, alert)).toBe(false);
    expect(matchesMute({ component: 'Robots', event: 'Robot.StatusChanged.Offline' }, alert)).toBe(true);
    expect(matchesMute({ queue: 'Q' }, alert)).toBe(false);
  });

  it('matches a source part stored with spaces around it, which POST /mutes trims from the value it is given', () => {
    // An alert keeps its source as sent; the API stores a mute of that robot, named as the alert lists it, trimmed.
    const spaced = { ...alert, source: { robot: '  R7 ', process: 'Invoices' } };
    expect(matchesMute({ robot: 'R7' }, spaced)).toBe(true);
    // A mute from an email's link takes the alert's own value.
    expect(matchesMute(sourceMatchOf(spaced, 'robot')!, spaced)).toBe(true);
    expect(matchesMute({ robot: '  R7 ' }, alert)).toBe(true);
    expect(matchesMute({ robot: 'R 7' }, spaced)).toBe(false);
  });

  it('covers everyone for a tenant mute, only its owner for a snooze, and nobody once ended', () => {
    expect(isMutedFor([mute({})], alert, ops, T0)).toBe(true);
    const snooze = mute({ scope: 'user', ownerId: 'ana' });
    expect(isMutedFor([snooze], alert, ana, T0)).toBe(true);
    expect(isMutedFor([snooze], alert, { type: 'user', id: 'ben' }, T0)).toBe(false);
    expect(isMutedFor([snooze], alert, { type: 'group', id: 'ana' }, T0)).toBe(false);
    expect(isMutedFor([mute({})], alert, ana, T0 + HOUR)).toBe(false);
  });

  it('mutes "this source" by the part chosen, or by its event', () => {
    expect(sourceMatchOf(alert, 'robot')).toEqual({ robot: 'R7' });
    expect(sourceMatchOf(alert, 'queue')).toBeUndefined();
    expect(sourceMatchOf(alert, 'event')).toEqual({ component: 'Robots', event: 'Robot.StatusChanged.Offline' });
  });
});

describeEachDialect('mutes API', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(T0);
  let admin: { userId: string; token: string };
  let viewer: { userId: string; token: string };
  let other: { userId: string; token: string };
  let stranger: string;
  const api = '/api/v1/tenants/mute/mutes';
  const until = (ms: number) => new Date(clock.now() + ms).toISOString();

  beforeAll(async () => {
    t = await startTestApp(dialect, {}, { clock });
    admin = await t.tenantWithUser('mute', ['Administrator']);
    viewer = await t.tenantWithUser('mute', ['Alerts Viewer']);
    other = await t.tenantWithUser('mute', ['Alerts Viewer']);
    stranger = (await t.tenantWithUser('other-mute', ['Administrator'])).token;
  });
  afterAll(() => t.close());

  it('creates a tenant mute with Alerts.Edit, shows it to everyone, and ends it at its time', async () => {
    const res = await t.call('POST', api, { scope: 'tenant', match: { robot: 'R7', component: 'robots' }, until: until(HOUR) }, admin.token);
    expect(res.statusCode).toBe(201);
    const mute = res.json();
    expect(mute).toEqual({
      id: expect.any(String),
      scope: 'tenant',
      match: { robot: 'R7', component: 'Robots' },
      until: until(HOUR),
      createdBy: { userId: admin.userId, name: 'mute user' },
      createdAt: new Date(clock.now()).toISOString(),
    });
    expect((await t.call('GET', api, undefined, viewer.token)).json().items.map((m: { id: string }) => m.id)).toContain(mute.id);
    clock.advance(HOUR);
    expect((await t.call('GET', api, undefined, viewer.token)).json().items.map((m: { id: string }) => m.id)).not.toContain(mute.id);
  });

  it('refuses a tenant mute without Alerts.Edit (403), but lets a viewer snooze for itself only', async () => {
    const body = { scope: 'tenant', match: { process: 'Invoices' }, until: until(HOUR) };
    expect((await t.call('POST', api, body, viewer.token)).statusCode).toBe(403);
    const snooze = (await t.call('POST', api, { ...body, scope: 'user' }, viewer.token)).json();
    expect(snooze.scope).toBe('user');
    expect((await t.call('GET', api, undefined, viewer.token)).json().items.map((m: { id: string }) => m.id)).toContain(snooze.id);
    expect((await t.call('GET', api, undefined, other.token)).json().items.map((m: { id: string }) => m.id)).not.toContain(snooze.id);
    expect((await t.call('DELETE', `${api}/${snooze.id}`, undefined, other.token)).statusCode).toBe(404);
    expect((await t.call('DELETE', `${api}/${snooze.id}`, undefined, viewer.token)).statusCode).toBe(204);
    expect((await t.call('DELETE', `${api}/${snooze.id}`, undefined, viewer.token)).statusCode).toBe(404);
    expect((await t.call('GET', api, undefined, viewer.token)).json().items.map((m: { id: string }) => m.id)).not.toContain(snooze.id);
  });

  it('takes a role holding only Alerts.Edit for tenant mutes, as the permission column says, and only Alerts.View for snoozes', async () => {
    const role = await t.call('POST', '/api/v1/tenants/mute/roles', { name: 'Mute keeper', permissions: ['Alerts.Edit'] });
    expect(role.statusCode).toBe(201);
    const keeper = await t.tenantWithUser('mute', ['Mute keeper']);
    const body = { scope: 'tenant', match: { robot: 'R-keeper' }, until: until(HOUR) };
    const created = await t.call('POST', api, body, keeper.token);
    expect(created.statusCode, created.body).toBe(201);
    // A snooze needs Alerts.View, which this role lacks.
    expect((await t.call('POST', api, { ...body, scope: 'user' }, keeper.token)).statusCode).toBe(403);
    const lifted = await t.call('DELETE', `${api}/${created.json().id}`, undefined, keeper.token);
    expect(lifted.statusCode, lifted.body).toBe(204);
    // Without either permission, both are still 403, whatever the body.
    const nobody = await t.tenantWithUser('mute', []);
    expect((await t.call('POST', api, body, nobody.token)).statusCode).toBe(403);
    expect((await t.call('POST', api, { scope: 'nope' }, nobody.token)).statusCode).toBe(403);
    expect((await t.call('DELETE', `${api}/${created.json().id}`, undefined, nobody.token)).statusCode).toBe(403);
  });

  it("tells a caller without the scope's permission 403 whatever the rest of its body, as for a route of that permission", async () => {
    const invalid = { match: { component: 'Nope' }, until: 'garbage' };
    // An Alerts Viewer asking for a tenant mute learns nothing about the body's fields: 403, not 400 naming until.
    const viewerTenant = await t.call('POST', api, { scope: 'tenant', ...invalid }, viewer.token);
    expect(viewerTenant.statusCode, viewerTenant.body).toBe(403);
    expect(viewerTenant.headers['content-type']).toMatch(/^application\/problem\+json/);
    await t.call('POST', '/api/v1/tenants/mute/roles', { name: 'Mute only', permissions: ['Alerts.Edit'] });
    const keeper = await t.tenantWithUser('mute', ['Mute only']);
    expect((await t.call('POST', api, { scope: 'user', ...invalid }, keeper.token)).statusCode).toBe(403);
    // With the scope's permission the body is judged as before.
    expect((await t.call('POST', api, { scope: 'user', ...invalid }, viewer.token)).statusCode).toBe(400);
    expect((await t.call('POST', api, { scope: 'tenant', ...invalid }, keeper.token)).statusCode).toBe(400);
  });

  it('reads one mute at the Location its POST answered: the tenant mute for everyone, a snooze for its owner, 404 for others and once ended', async () => {
    // The 201's Location answered GET with 405: a script following it (RFC 9110) could not read what it had just made.
    const created = await t.call('POST', api, { scope: 'tenant', match: { robot: 'R-read' }, until: until(HOUR) }, admin.token);
    const location = created.headers.location as string;
    const read = await t.call('GET', location, undefined, viewer.token);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toEqual(created.json());
    const snooze = await t.call('POST', api, { scope: 'user', match: { robot: 'R-read' }, until: until(HOUR) }, viewer.token);
    const snoozeAt = snooze.headers.location as string;
    expect((await t.call('GET', snoozeAt, undefined, viewer.token)).json()).toEqual(snooze.json());
    expect((await t.call('GET', snoozeAt, undefined, other.token)).statusCode).toBe(404);
    expect((await t.call('GET', `/api/v1/tenants/other-mute/mutes/${created.json().id}`, undefined, stranger)).statusCode).toBe(404);
    const nobody = await t.tenantWithUser('mute', []);
    expect((await t.call('GET', location, undefined, nobody.token)).statusCode).toBe(403);
    expect((await t.call('DELETE', location, undefined, admin.token)).statusCode).toBe(204);
    const gone = await t.call('GET', location, undefined, admin.token);
    expect(gone.statusCode).toBe(404);
    expect(gone.headers['content-type']).toMatch(/^application\/problem\+json/);
    clock.advance(HOUR);
    expect((await t.call('GET', snoozeAt, undefined, viewer.token)).statusCode).toBe(404);
  });

  it('lifts a tenant mute with Alerts.Edit only, records every step in the audit list, and hides it from other tenants', async () => {
    const mute = (await t.call('POST', api, { scope: 'tenant', match: { queue: 'Orders' }, until: until(HOUR) }, admin.token)).json();
    expect((await t.call('DELETE', `${api}/${mute.id}`, undefined, viewer.token)).statusCode).toBe(403);
    expect((await t.call('DELETE', `/api/v1/tenants/other-mute/mutes/${mute.id}`, undefined, stranger)).statusCode).toBe(404);
    expect((await t.call('GET', '/api/v1/tenants/other-mute/mutes', undefined, stranger)).json().items).toEqual([]);
    expect((await t.call('DELETE', `${api}/${mute.id}`, undefined, admin.token)).statusCode).toBe(204);
    const audit = (await t.call('GET', '/api/v1/tenants/mute/alert-actions', undefined, admin.token)).json().items;
    expect(audit.slice(0, 2)).toMatchObject([
      { action: 'lift', via: 'api', by: { userId: admin.userId }, detail: { muteId: mute.id } },
      { action: 'mute', via: 'api', by: { userId: admin.userId }, detail: { muteId: mute.id, scope: 'tenant', match: { queue: 'Orders' } } },
    ]);
    expect((await t.call('GET', '/api/v1/tenants/mute/alert-actions', undefined, viewer.token)).statusCode).toBe(403);
  });

  it('lifts a mute once when the same DELETE comes several times at once: one 204, the others 404, one lift in the audit list', async () => {
    // On PostgreSQL each of them found the mute still in force and lifted it again: five 204s, five lifts recorded.
    const mute = (await t.call('POST', api, { scope: 'tenant', match: { queue: 'Twice' }, until: until(HOUR) }, admin.token)).json();
    const answers = await Promise.all(Array.from({ length: 5 }, () => t.call('DELETE', `${api}/${mute.id}`, undefined, admin.token)));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([204, 404, 404, 404, 404]);
    const audit = (await t.call('GET', '/api/v1/tenants/mute/alert-actions', undefined, admin.token)).json().items;
    expect(audit.filter((a: { action: string; detail: { muteId?: string } }) => a.action === 'lift' && a.detail.muteId === mute.id)).toHaveLength(1);
  });

  it('answers 400 naming the field for an empty or unknown match, a component outside the catalogue, a past or malformed until, and a bad scope', async () => {
    const cases: [object, string][] = [
      [{ scope: 'tenant', match: {}, until: until(HOUR) }, 'match'],
      [{ scope: 'tenant', match: { robott: 'R7' }, until: until(HOUR) }, 'match'],
      [{ scope: 'tenant', match: { robot: '' }, until: until(HOUR) }, 'match.robot'],
      [{ scope: 'user', match: { component: 'Robot', robot: 'R7' }, until: until(HOUR) }, 'match.component'],
      [{ scope: 'tenant', match: { robot: 'R7' }, until: until(-1000) }, 'until'],
      // Ending at the very instant it is made: a mute already over, which would hide nothing.
      [{ scope: 'tenant', match: { robot: 'R7' }, until: until(0) }, 'until'],
      [{ scope: 'tenant', match: { robot: 'R7' }, until: 'tomorrow' }, 'until'],
      // In the year 10000 in UTC, which was shown back as +010000-01-01T13:59:59.000Z.
      [{ scope: 'tenant', match: { robot: 'R7' }, until: '9999-12-31T23:59:59-14:00' }, 'until'],
      [{ scope: 'everyone', match: { robot: 'R7' }, until: until(HOUR) }, 'scope'],
      [{ match: { robot: 'R7' }, until: until(HOUR) }, 'scope'],
    ];
    for (const [body, path] of cases) {
      const res = await t.call('POST', api, body, admin.token);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(
        res.json().errors.map((e: { path: string }) => e.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    // Both at once are named at once, not one per try.
    const both = await t.call('POST', api, { scope: 'user', match: { component: 'Robot' }, until: until(-1000) }, admin.token);
    expect(both.json().errors.map((e: { path: string }) => e.path)).toEqual(['match.component', 'until']);
  });

  it('says a mute without until that until is required, as any other missing field reads, not what a date looks like', async () => {
    const res = await t.call('POST', api, { scope: 'tenant', match: { robot: 'R7' } }, admin.token);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ detail: 'until: is required', errors: [{ path: 'until', message: 'is required' }] });
  });

  it('mutes a robot, process or queue named as long as an alert may name it (512 characters), as the email links do', async () => {
    // An alert's source parts take 512 characters, the match took 256: a long process name could
    // be snoozed from an email but not through the API or the console (400 on match.process).
    const long = `Process-${'x'.repeat(504)}`;
    for (const part of ['process', 'robot', 'queue']) {
      const res = await t.call('POST', api, { scope: 'user', match: { [part]: long }, until: until(HOUR) }, viewer.token);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().match).toEqual({ [part]: long });
    }
    const over = await t.call('POST', api, { scope: 'user', match: { process: `${long}x` }, until: until(HOUR) }, viewer.token);
    expect(over.json().errors.map((e: { path: string }) => e.path)).toEqual(['match.process']);
  });

  it('mutes a robot, process or queue as long as an alert may name it in characters of several code points (accents, emoji)', async () => {
    // An alert's source parts take 512 characters as a reader counts them; the match counted UTF-16
    // code units, so a name an alert carried (400 letters with their combining accents, 100 joined
    // emoji) could be snoozed from an email but not through the API or the console (400 on match.robot).
    const names = ['e\u0301'.repeat(400), '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}'.repeat(100)];
    for (const name of names) {
      const raised = await t.call(
        'POST',
        '/api/v1/tenants/mute/alerts',
        { severity: 'Error', component: 'Robots', message: 'm', source: { robot: name } },
        admin.token,
      );
      expect(raised.statusCode, raised.body).toBe(202);
      for (const part of ['process', 'robot', 'queue']) {
        const res = await t.call('POST', api, { scope: 'user', match: { [part]: ` ${name} ` }, until: until(HOUR) }, viewer.token);
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json().match).toEqual({ [part]: name });
      }
    }
    const over = await t.call('POST', api, { scope: 'user', match: { robot: 'e\u0301'.repeat(513) }, until: until(HOUR) }, viewer.token);
    expect(over.json().errors.map((e: { path: string }) => e.path)).toEqual(['match.robot']);
  });

  it('refuses to mute an event name no alert can have (400 on match.event), which would mute nothing, silently', async () => {
    // 'Robot offline' was stored and listed as a mute in force; an alert's event never holds a space.
    const bad = await t.call('POST', api, { scope: 'user', match: { event: 'Robot offline' }, until: until(HOUR) }, viewer.token);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { path: string }) => e.path)).toEqual(['match.event']);
    // An event outside the catalogue (an Alertmanager alertname) is one alerts can have; a catalogue one in any case is its own spelling.
    for (const [event, stored] of [
      ['node_down', 'node_down'],
      ['robot.statuschanged.offline', 'Robot.StatusChanged.Offline'],
    ]) {
      const res = await t.call('POST', api, { scope: 'user', match: { event }, until: until(HOUR) }, viewer.token);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().match).toEqual({ event: stored });
    }
  });

  it('keeps at most 100 snoozes per user and 1,000 mutes and snoozes per tenant in force (409), which every alert is matched against', async () => {
    // A script snoozing in a loop made 20,000 in two minutes: every Fatal alert of the tenant then took 250 ms to store, and another tenant's 22 s behind it.
    const crowd = await t.tenantWithUser('crowded', ['Administrator']);
    const looper = await t.tenantWithUser('crowded', ['Alerts Viewer']);
    const db = t.tocsin.deps.storage.db;
    const store = (n: number, scope: 'user' | 'tenant', ownerId: string | null) =>
      db.transaction().execute(async (tx) => {
        for (let i = 0; i < n; i++)
          await createMute(
            tx,
            crowd.tenantId,
            { scope, ownerId, match: { robot: `R${i}` }, until: clock.now() + HOUR },
            { userId: crowd.userId, name: 'x' },
            clock.now(),
          );
      });
    const crowded = '/api/v1/tenants/crowded/mutes';
    const snooze = () => t.call('POST', crowded, { scope: 'user', match: { queue: 'Q' }, until: until(HOUR) }, looper.token);
    await store(SNOOZES_PER_USER_MAX - 1, 'user', looper.userId);
    const last = await snooze();
    expect(last.statusCode, last.body).toBe(201);
    const refused = await snooze();
    expect(refused.statusCode).toBe(409);
    expect(refused.json().detail).toContain(`${SNOOZES_PER_USER_MAX} snoozes in force`);
    expect((await t.call('DELETE', `${crowded}/${last.json().id}`, undefined, looper.token)).statusCode).toBe(204);
    expect((await snooze()).statusCode).toBe(201);

    await store(TENANT_MUTES_MAX - SNOOZES_PER_USER_MAX, 'tenant', null);
    const full = await t.call('POST', crowded, { scope: 'tenant', match: { queue: 'Q' }, until: until(HOUR) }, crowd.token);
    expect(full.statusCode).toBe(409);
    expect(full.json().detail).toContain(`${TENANT_MUTES_MAX.toLocaleString('en')} mutes and snoozes in force`);
    expect((await t.call('POST', crowded, { scope: 'user', match: { queue: 'Q' }, until: until(HOUR) }, crowd.token)).statusCode).toBe(409);
    // Those that ended leave room.
    clock.advance(HOUR);
    expect((await t.call('POST', crowded, { scope: 'tenant', match: { queue: 'Q' }, until: until(HOUR) }, crowd.token)).statusCode).toBe(201);
  });

  it('keeps to the limits when the last places are asked for at once: one 201, the others 409', async () => {
    // On PostgreSQL each request counted the mutes in force before any of them was stored: six snoozes at once past 99 made 103–105.
    const capped = await t.tenantWithUser('capped', ['Administrator']);
    const snoozer = await t.tenantWithUser('capped', ['Alerts Viewer']);
    // Laid out in one insert each: a request apiece took seconds on PostgreSQL.
    const store = (n: number, scope: 'user' | 'tenant', ownerId: string | null) =>
      t.tocsin.deps.storage.db
        .insertInto('alert_mutes')
        .values(
          Array.from({ length: n }, (_, i) => ({
            id: `${scope}-${i}`,
            tenant_id: capped.tenantId,
            scope,
            owner_id: ownerId,
            match: JSON.stringify({ robot: `R${i}` }),
            until: clock.now() + HOUR,
            created_by_id: capped.userId,
            created_by_name: 'x',
            created_at: clock.now(),
            lifted_at: null,
          })),
        )
        .execute();
    await store(SNOOZES_PER_USER_MAX - 1, 'user', snoozer.userId);
    await store(TENANT_MUTES_MAX - SNOOZES_PER_USER_MAX - 1, 'tenant', null);
    const atOnce = (scope: 'user' | 'tenant', token: string) =>
      Promise.all(
        Array.from({ length: 6 }, (_, i) => t.call('POST', '/api/v1/tenants/capped/mutes', { scope, match: { queue: `Q${i}` }, until: until(HOUR) }, token)),
      );
    const inForce = async () => (await t.call('GET', '/api/v1/tenants/capped/mutes', undefined, snoozer.token)).json().items.length;
    const snoozes = await atOnce('user', snoozer.token);
    expect(snoozes.map((a) => a.statusCode).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await inForce()).toBe(TENANT_MUTES_MAX - SNOOZES_PER_USER_MAX - 1 + SNOOZES_PER_USER_MAX);
    const mutes = await atOnce('tenant', capped.token);
    expect(mutes.map((a) => a.statusCode).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await inForce()).toBe(TENANT_MUTES_MAX);
  });

  it('refuses a snooze for the host administrator, who gets no email (409)', async () => {
    expect((await t.call('POST', api, { scope: 'user', match: { robot: 'R7' }, until: until(HOUR) })).statusCode).toBe(409);
  });
});
