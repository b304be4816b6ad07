import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { COMPONENTS, EVENTS } from '../alerts/catalogue.js';
import { systemClock } from '../shared/clock.js';
import { saveLayer } from './store.js';

describeEachDialect('alert preferences API', (dialect) => {
  let t: TestApp;
  let viewer: { userId: string; token: string };
  let other: { userId: string; token: string };
  const base = '/api/v1/tenants/prefs';
  beforeAll(async () => {
    t = await startTestApp(dialect);
    viewer = await t.tenantWithUser('prefs', ['Alerts Viewer']);
    other = await t.tenantWithUser('prefs', ['Alerts Viewer']);
  });
  afterAll(() => t.close());

  it("answers the host administrator's /me/alert-preferences with a 404 whose detail reads as a sentence", async () => {
    for (const method of ['GET', 'PUT'] as const) {
      const res = await t.call(method, `${base}/me/alert-preferences`, method === 'PUT' ? { email: { dailyReport: false } } : undefined);
      expect(res.statusCode).toBe(404);
      expect(res.json().detail).toBe("The host administrator has no alert preferences: only a tenant's users have them.");
    }
  });

  it('refuses a body of too many subscriptions before reading each name, so one request cannot hold the server for seconds', async () => {
    // Each name was looked up in the catalogue before the count: any viewer's PUT of 300,000 names held the event loop
    // for half a minute. Counted first, the count alone is the answer, even with a malformed name among them.
    const names = Array.from({ length: 501 }, (_, i) => `"${i === 7 ? 'not a name!' : `c${i}`}":true`).join(',');
    const res = await t.tocsin.app.inject({
      method: 'PUT',
      url: `${base}/me/alert-preferences`,
      headers: { authorization: `Bearer ${viewer.token}`, 'content-type': 'application/json' },
      payload: `{"subscriptions":{${names}}}`,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ path: 'subscriptions', message: 'must have at most 500 entries' }]);
  });

  it('keeps at most 500 subscriptions stored however many PUTs add them, refusing the one that would pass it (400 naming subscriptions)', async () => {
    // Only each body was counted: three PUTs of 450 new names stored 1,350, and so on without end,
    // all read again for every email decided for that user.
    const someone = await t.tenantWithUser('prefs', ['Alerts Viewer']);
    const put = (from: number, count: number) =>
      t.call(
        'PUT',
        `${base}/me/alert-preferences`,
        { subscriptions: Object.fromEntries(Array.from({ length: count }, (_, i) => [`ev${from + i}`, true])) },
        someone.token,
      );
    expect((await put(0, 450)).statusCode).toBe(200);
    const over = await put(450, 51);
    expect(over.statusCode).toBe(400);
    expect(over.json().errors.map((e: { path: string }) => e.path)).toEqual(['subscriptions']);
    const own = (await t.call('GET', `${base}/me/alert-preferences`, undefined, someone.token)).json().own.subscriptions;
    expect(Object.keys(own)).toHaveLength(450);
    // Entries already stored, or cleared in the same PUT, make room.
    expect((await put(400, 100)).statusCode).toBe(200);
    const clearAndAdd = { ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`ev${i}`, null])), extra: true };
    expect((await t.call('PUT', `${base}/me/alert-preferences`, { subscriptions: clearAndAdd }, someone.token)).statusCode).toBe(200);
    // A layer stored over the bound before it held can still be changed, as long as the change adds no entry.
    const grown = { subscriptions: Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`old${i}`, true])), email: {} };
    await saveLayer(t.tocsin.deps.storage.db, 'user_alert_preferences', someone.tenantId, someone.userId, grown, systemClock);
    const choice = await t.call('PUT', `${base}/me/alert-preferences`, { email: { dailyReport: false }, subscriptions: { old0: null } }, someone.token);
    expect(choice.statusCode, choice.body).toBe(200);
    expect((await put(0, 1)).statusCode).toBe(400);
  });

  it('starts from the defaults: every component and event subscribed, both reports on, Fatal-immediately off', async () => {
    const res = await t.call('GET', `${base}/me/alert-preferences`, undefined, viewer.token);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.email).toEqual({ tenMinuteSummary: true, dailyReport: true, fatalImmediately: false });
    expect(body.subscriptions.Robots).toBe(true);
    expect(body.subscriptions['Process.JobExecution.Faulted']).toBe(true);
    expect(Object.values(body.subscriptions).every((v) => v === true)).toBe(true);
  });

  it("stores a user's own choices, event over component, and keeps what a later PUT leaves out", async () => {
    const put = await t.call(
      'PUT',
      `${base}/me/alert-preferences`,
      { subscriptions: { robots: false, 'Robot.StatusChanged.Offline': true }, email: { fatalImmediately: true } },
      viewer.token,
    );
    expect(put.statusCode).toBe(200);
    expect(put.json().subscriptions).toMatchObject({ Robots: false, 'Robot.StatusChanged.Offline': true, 'Robot.StatusChanged.Available': false });
    const again = await t.call('PUT', `${base}/me/alert-preferences`, { email: { dailyReport: false } }, viewer.token);
    expect(again.json()).toMatchObject({
      email: { tenMinuteSummary: true, dailyReport: false, fatalImmediately: true },
      own: { subscriptions: { Robots: false, 'Robot.StatusChanged.Offline': true } },
    });
    const cleared = await t.call('PUT', `${base}/me/alert-preferences`, { subscriptions: { Robots: null } }, viewer.token);
    expect(cleared.json().subscriptions['Robot.StatusChanged.Available']).toBe(true);
  });

  it('clears all of its own email choices with email: null, as subscriptions: null clears its subscriptions', async () => {
    const someone = await t.tenantWithUser('prefs', ['Alerts Viewer']);
    await t.call('PUT', `${base}/me/alert-preferences`, { email: { dailyReport: false, fatalImmediately: true } }, someone.token);
    const cleared = await t.call('PUT', `${base}/me/alert-preferences`, { email: null }, someone.token);
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json()).toMatchObject({ email: { tenMinuteSummary: true, dailyReport: true, fatalImmediately: false }, own: { email: {} } });
  });

  it("takes back API.md's two parts of its GET answer (subscriptions and email, no own): a component turned off turns its events off", async () => {
    // A script sending back `subscriptions` and `email` as API.md shows them pinned every event it
    // listed: Robots turned off left each Robots event on, and its alerts were still emailed.
    const someone = await t.tenantWithUser('prefs', ['Alerts Viewer']);
    const { subscriptions, email } = (await t.call('GET', `${base}/me/alert-preferences`, undefined, someone.token)).json();
    const res = await t.call('PUT', `${base}/me/alert-preferences`, { subscriptions: { ...subscriptions, Robots: false }, email }, someone.token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().subscriptions).toMatchObject({ Robots: false, 'Robot.StatusChanged.Offline': false, Jobs: true });
    expect(res.json().own).toEqual({ subscriptions: { Robots: false }, email: {} });
    // A map naming only some entries is still taken as it is: an event set on beside its component off.
    const pinned = await t.call('PUT', `${base}/me/alert-preferences`, { subscriptions: { 'Robot.StatusChanged.Offline': true } }, someone.token);
    expect(pinned.json().subscriptions).toMatchObject({ Robots: false, 'Robot.StatusChanged.Offline': true });
  });

  it('takes a map naming every component but not every event, or every event but not every component, as it is: each entry its own', async () => {
    // Only a map naming the whole catalogue is a GET answer sent back; a script choosing every component (or every event) pins each.
    const components = await t.tenantWithUser('prefs', ['Alerts Viewer']);
    const everyComponent = Object.fromEntries(COMPONENTS.map((c) => [c.name, c.name !== 'Robots']));
    const byComponent = await t.call('PUT', `${base}/me/alert-preferences`, { subscriptions: everyComponent }, components.token);
    expect(byComponent.statusCode, byComponent.body).toBe(200);
    expect(byComponent.json().own.subscriptions).toEqual(everyComponent);
    const events = await t.tenantWithUser('prefs', ['Alerts Viewer']);
    const everyEvent = Object.fromEntries(EVENTS.map((e) => [e.name, true]));
    const byEvent = await t.call('PUT', `${base}/me/alert-preferences`, { subscriptions: everyEvent }, events.token);
    expect(byEvent.statusCode, byEvent.body).toBe(200);
    expect(byEvent.json().own.subscriptions).toEqual(everyEvent);
  });

  it('takes back what its GET answered with switches changed, setting only what changed, its own part not read', async () => {
    // The answer's `own` (what the user set itself) made the PUT of that very answer a 400 "own: is not a known field".
    const someone = await t.tenantWithUser('prefs', ['Alerts Viewer']);
    const group = (await t.call('POST', `${base}/groups`, { name: 'Round trip', members: [someone.userId] })).json();
    await t.call('PUT', `${base}/groups/${group.id}/alert-preferences`, { subscriptions: { Queues: false } });
    const read = async () => (await t.call('GET', `${base}/me/alert-preferences`, undefined, someone.token)).json();
    const sendBack = async (changed: (answer: any) => void) => {
      const answer = await read();
      changed(answer);
      const res = await t.call('PUT', `${base}/me/alert-preferences`, answer, someone.token);
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    const before = await read();
    const daily = await sendBack((answer) => {
      answer.email.dailyReport = false;
    });
    expect(daily).toMatchObject({ subscriptions: before.subscriptions, email: { ...before.email, dailyReport: false } });
    // Only the switch changed is the user's own: the group's Queues rule still decides for it.
    expect(daily.own).toEqual({ subscriptions: {}, email: { dailyReport: false } });
    // A component turned off in the answer turns its events off too: they were sent back as read, not pinned on.
    const robots = await sendBack((answer) => {
      answer.subscriptions.Robots = false;
    });
    expect(robots.subscriptions).toMatchObject({ Robots: false, 'Robot.StatusChanged.Offline': false, Jobs: true });
    expect(robots.own.subscriptions).toEqual({ Robots: false });
    // `own` says what the user set, not what a body claims it set; anything but an object there is a 400 naming it.
    const claimed = await t.call('PUT', `${base}/me/alert-preferences`, { own: { subscriptions: {}, email: { fatalImmediately: true } } }, someone.token);
    expect(claimed.statusCode, claimed.body).toBe(200);
    expect(claimed.json().email.fatalImmediately).toBe(false);
    expect((await t.call('PUT', `${base}/me/alert-preferences`, { own: 'all' }, someone.token)).json().errors).toEqual([
      { path: 'own', message: expect.any(String) },
    ]);
  });

  it('takes back a GET answer with an event outside the catalogue added and turned off, setting it off', async () => {
    // Not listed (no layer names it) is subscribed, as by default: an event added off to the answer is a change to set, not a repeat.
    const someone = await t.tenantWithUser('prefs', ['Alerts Viewer']);
    const answer = (await t.call('GET', `${base}/me/alert-preferences`, undefined, someone.token)).json();
    expect(answer.subscriptions).not.toHaveProperty('disk_full');
    answer.subscriptions.disk_full = false;
    const res = await t.call('PUT', `${base}/me/alert-preferences`, answer, someone.token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().own.subscriptions).toEqual({ disk_full: false });
    expect(res.json().subscriptions).toMatchObject({ disk_full: false });
  });

  it('says what a subscription name must be when one is not a name, naming it', async () => {
    const res = await t.call('PUT', `${base}/me/alert-preferences`, { subscriptions: { 'Queue SLA': false } }, viewer.token);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ path: 'subscriptions.Queue SLA', message: expect.stringContaining('must be a component or event name') }]);
  });

  it('drops an event outside the catalogue by the very name its alerts carry (an Alertmanager alertname, a webhook event)', async () => {
    const someone = await t.tenantWithUser('prefs', ['Alerts Viewer']);
    // Names that POST /alerts and the sources store as events: underscores, colons, dashes.
    const raised = await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Process', event: 'node_down', message: 'host-3 down' });
    expect(raised.statusCode).toBe(202);
    const res = await t.call('PUT', `${base}/me/alert-preferences`, { subscriptions: { node_down: false, 'ci:build-failed': false } }, someone.token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().subscriptions).toMatchObject({ node_down: false, 'ci:build-failed': false, Process: true });
  });
  it("lets an admin set anyone's preferences but not a plain user or one holding only Users.View someone else's", async () => {
    const denied = await t.call('PUT', `${base}/users/${other.userId}/alert-preferences`, { email: { dailyReport: false } }, viewer.token);
    expect(denied.statusCode).toBe(403);
    // Users.View lists people; only Users.Edit (API.md) reads or changes someone else's alert preferences.
    expect((await t.call('POST', `${base}/roles`, { name: 'People Viewer', permissions: ['Users.View'] })).statusCode).toBe(201);
    const lister = await t.tenantWithUser('prefs', ['People Viewer']);
    for (const method of ['GET', 'PUT'] as const) {
      const res = await t.call(
        method,
        `${base}/users/${other.userId}/alert-preferences`,
        method === 'PUT' ? { email: { dailyReport: true } } : undefined,
        lister.token,
      );
      expect(res.statusCode, `${method} ${res.body}`).toBe(403);
    }
    const byAdmin = await t.call('PUT', `${base}/users/${other.userId}/alert-preferences`, { email: { dailyReport: false } });
    expect(byAdmin.statusCode).toBe(200);
    const seen = await t.call('GET', `${base}/users/${other.userId}/alert-preferences`, undefined, other.token);
    expect(seen.json().email.dailyReport).toBe(false);
  });

  it("applies a group's default rules to members who have not set their own", async () => {
    const member = await t.tenantWithUser('prefs', ['Alerts Viewer']);
    const group = (await t.call('POST', `${base}/groups`, { name: 'Night shift', members: [member.userId, viewer.userId] })).json();
    const rules = await t.call('PUT', `${base}/groups/${group.id}/alert-preferences`, {
      subscriptions: { Queues: false },
      email: { fatalImmediately: true, dailyReport: true },
    });
    expect(rules.statusCode).toBe(200);
    const memberView = (await t.call('GET', `${base}/me/alert-preferences`, undefined, member.token)).json();
    expect(memberView.subscriptions.Queues).toBe(false);
    expect(memberView.email.fatalImmediately).toBe(true);
    expect(memberView.own).toEqual({ subscriptions: {}, email: {} });
    // The viewer turned the daily report off itself: its own choice wins over the group's.
    const viewerView = (await t.call('GET', `${base}/me/alert-preferences`, undefined, viewer.token)).json();
    expect(viewerView.email.dailyReport).toBe(false);
  });

  it("answers 404 for the default rules of a group not in the tenant, another tenant's included, on GET as on PUT", async () => {
    // Read without the group looked up, an unknown id answered the defaults (200), and another tenant's
    // group its rules: the path's tenant is the one whose groups are read.
    const elsewhere = await t.tenantWithUser('prefs-other');
    const foreign = (await t.call('POST', '/api/v1/tenants/prefs-other/groups', { name: 'Theirs' }, elsewhere.token)).json();
    await t.call('PUT', `/api/v1/tenants/prefs-other/groups/${foreign.id}/alert-preferences`, { subscriptions: { Queues: false } }, elsewhere.token);
    for (const id of ['no-such-group', foreign.id]) {
      for (const method of ['GET', 'PUT'] as const) {
        const res = await t.call(method, `${base}/groups/${id}/alert-preferences`, method === 'PUT' ? { email: { dailyReport: false } } : undefined);
        expect(res.statusCode, `${method} ${id} ${res.body}`).toBe(404);
      }
    }
    const theirs = await t.call('GET', `/api/v1/tenants/prefs-other/groups/${foreign.id}/alert-preferences`, undefined, elsewhere.token);
    expect(theirs.json()).toMatchObject({ subscriptions: { Queues: false }, own: { subscriptions: { Queues: false }, email: {} } });
  });

  it("shows a group's default rules to holders of Users.View, and to no one else (403), as the group itself", async () => {
    const group = (await t.call('POST', `${base}/groups`, { name: 'Rules readers', members: [viewer.userId] })).json();
    // A member is no reader of its groups' rules: it sees them applied in its own preferences.
    const denied = await t.call('GET', `${base}/groups/${group.id}/alert-preferences`, undefined, viewer.token);
    expect(denied.statusCode, denied.body).toBe(403);
    expect((await t.call('GET', `${base}/groups/${group.id}`, undefined, viewer.token)).statusCode).toBe(403);
    expect((await t.call('POST', `${base}/roles`, { name: 'Group Reader', permissions: ['Users.View'] })).statusCode).toBe(201);
    const reader = await t.tenantWithUser('prefs', ['Group Reader']);
    expect((await t.call('GET', `${base}/groups/${group.id}/alert-preferences`, undefined, reader.token)).statusCode).toBe(200);
    expect((await t.call('PUT', `${base}/groups/${group.id}/alert-preferences`, { email: { dailyReport: false } }, reader.token)).statusCode).toBe(403);
  });

  it("answers 400 naming the field for a bad body, and 404 for another tenant's user", async () => {
    const bad = await t.call('PUT', `${base}/me/alert-preferences`, { email: { dailyReport: 'yes' }, subscriptions: { 'bad name!': true } }, viewer.token);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['email.dailyReport']));
    const stranger = await t.tenantWithUser('elsewhere', ['Administrator']);
    expect((await t.call('GET', `${base}/users/${viewer.userId}/alert-preferences`, undefined, stranger.token)).statusCode).toBe(404);
    const foreign = await t.call('GET', `/api/v1/tenants/elsewhere/users/${viewer.userId}/alert-preferences`, undefined, stranger.token);
    expect(foreign.statusCode).toBe(404);
    expect((await t.call('GET', `${base}/me/alert-preferences`)).statusCode).toBe(404);
  });
  it('keeps every choice of PUTs sent at once, each of one field, as the console sends a toggle each', async () => {
    const someone = await t.tenantWithUser('prefs', ['Alerts Viewer']);
    const puts = [
      { subscriptions: { Robots: false } },
      { subscriptions: { Jobs: false } },
      { subscriptions: { Queues: false } },
      { email: { dailyReport: false } },
      { email: { fatalImmediately: true } },
      { email: { tenMinuteSummary: false } },
    ];
    const answers = await Promise.all(puts.map((body) => t.call('PUT', `${base}/me/alert-preferences`, body, someone.token)));
    expect(answers.map((a) => a.statusCode)).toEqual(puts.map(() => 200));
    const after = await t.call('GET', `${base}/me/alert-preferences`, undefined, someone.token);
    expect(after.json().own).toEqual({
      subscriptions: { Robots: false, Jobs: false, Queues: false },
      email: { dailyReport: false, fatalImmediately: true, tenMinuteSummary: false },
    });
  });
});
