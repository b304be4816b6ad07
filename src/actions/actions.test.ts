import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { SecretBox } from '../settings/secret-box.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { type ActionRecipient, type ActionSubject, ActionLinks } from './links.js';
import { addressTag } from '../shared/sealed-token.js';
import { openActionToken, sealActionToken } from './token.js';
import { resolveLink } from './routes.js';
import { SNOOZES_PER_USER_MAX } from '../mutes/store.js';
import { afterReads } from '../../test/support/between-reads.js';
import { whileDeleting } from '../../test/support/lost-race.js';

const T0 = Date.parse('2026-03-01T08:00:00Z');
const DAY = 86_400_000;

describe('action tokens', () => {
  const key = Buffer.alloc(32, 3);
  const grant = {
    tenantId: 'tenant-1',
    userId: 'user-1',
    action: 'mute',
    alertId: 'alert-1',
    expiresAt: T0 + DAY,
    addressTag: addressTag('ann@example.com'),
  } as const;

  it('round-trip a grant, show nothing readable, and refuse a changed, foreign-key or expired token', () => {
    const token = sealActionToken(key, grant);
    expect(openActionToken(key, token, T0)).toMatchObject(grant);
    expect(Buffer.from(token, 'base64url').toString('latin1')).not.toMatch(/tenant-1|user-1|alert-1/);
    const flipped = Buffer.from(token, 'base64url');
    flipped[flipped.length - 1]! ^= 1;
    expect(openActionToken(key, flipped.toString('base64url'), T0)).toBeUndefined();
    expect(openActionToken(Buffer.alloc(32, 4), token, T0)).toBeUndefined();
    expect(openActionToken(key, token, T0 + DAY)).toBeUndefined();
    expect(openActionToken(key, 'garbage', T0)).toBeUndefined();
  });

  it('open the links already sent, sealed before action and unsubscribe tokens shared one module, until they expire', () => {
    // Written by the previous sealing code with this key: a snooze of a daily report's event row.
    const sent = 'Om-meg-R6A6QNDNz5R6rFxdoSSDTk6QxmUgFYNpsBTS5YhDGL2dCyQ7H9jl_g-nNSLu3hmO3hz_YGh4s-pWS_T3YYr99Pld2l5_EFfxGS3StPQQG7NEm9fy8qdFdg5pwyxt3vBEN3yI';
    expect(openActionToken(key, sent, T0)).toEqual({
      tenantId: '019ac5f0-0000-7000-8000-00000000000a',
      userId: '019ac5f0-0000-7000-8000-00000000000b',
      action: 'snooze',
      event: { component: 'Robots', event: 'Robot.StatusChanged.Offline' },
      expiresAt: T0 + DAY,
    });
    expect(openActionToken(key, sent, T0 + DAY)).toBeUndefined();
  });

  it('are sealed with a key of their own, derived from the secret key', () => {
    const box = SecretBox.fromPassphrase('a passphrase of sixteen+');
    expect(box.deriveKey('email-action-links')).toHaveLength(32);
    expect(box.deriveKey('email-action-links').equals(box.deriveKey('other'))).toBe(false);
  });
});

describeEachDialect('email action links', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(T0);
  let links: ActionLinks;
  let tenantId: string;
  let admin: { tenantId: string; userId: string; token: string };
  let viewer: { userId: string; token: string };
  let robot: string;
  let foreignAlert: string;
  const api = '/api/v1/tenants/acts';

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_PUBLIC_URL: 'https://tocsin.example.com' }, { clock });
    links = new ActionLinks(t.tocsin.deps.secretBox, 'https://tocsin.example.com', 7 * DAY, clock);
    admin = await t.tenantWithUser('acts', ['Administrator']);
    viewer = await t.tenantWithUser('acts', ['Alerts Viewer']);
    robot = (await t.tenantWithUser('acts', ['Robot'])).token;
    tenantId = admin.tenantId;
    const other = await t.tenantWithUser('other-acts', ['Robot']);
    foreignAlert = (await t.call('POST', '/api/v1/tenants/other-acts/alerts', { severity: 'Error', component: 'Jobs', message: 'theirs' }, other.token)).json()
      .ids[0];
  });
  afterAll(() => t.close());

  const raise = async (source: object) =>
    (
      await t.call(
        'POST',
        `${api}/alerts`,
        { severity: 'Error', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'R7 offline', source },
        robot,
      )
    ).json().ids[0] as string;
  const path = (url: string | undefined) => new URL(url!).pathname;
  const get = (url: string | undefined) => t.tocsin.app.inject({ method: 'GET', url: path(url) });
  const post = (url: string | undefined, form = '') =>
    t.tocsin.app.inject({ method: 'POST', url: path(url), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form });
  // The links of an email to the user's address now, as the composers make them.
  const linksOf = async (recipient: Omit<ActionRecipient, 'address'>, subject: ActionSubject) => {
    const user = await t.tocsin.deps.storage.db.selectFrom('users').select('email').where('id', '=', recipient.userId).executeTakeFirst();
    return links.urlsFor({ ...recipient, address: user?.email ?? 'nobody@example.com' }, subject);
  };
  const mutes = async (token: string) => (await t.call('GET', `${api}/mutes`, undefined, token)).json().items;

  it('offers mute for everyone only to a holder of Alerts.Edit, and acknowledge only for an alert', async () => {
    const alertLinks = await linksOf({ tenantId, userId: viewer.userId, canMute: false }, { alertId: 'a' });
    expect(alertLinks.mute).toBeUndefined();
    expect(alertLinks.snooze).toMatch(/^https:\/\/tocsin\.example\.com\/actions\/[\w-]+$/);
    expect(await linksOf({ tenantId, userId: admin.userId, canMute: true }, { event: { component: 'Robots', event: 'E' } })).toMatchObject({
      mute: expect.any(String),
      acknowledge: undefined,
    });
  });

  it('shows a confirmation page on GET that changes nothing, and mutes for everyone on POST', async () => {
    const alertId = await raise({ robot: 'R7', process: 'Invoices' });
    const url = (await linksOf({ tenantId, userId: admin.userId, canMute: true }, { alertId })).mute;
    const page = await get(url);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('<form method="post">');
    // Its Confirm applies with no login: no other site may frame it (framing.browser.test.ts).
    expect(page.headers).toMatchObject({ 'x-frame-options': 'DENY', 'content-security-policy': expect.stringContaining("frame-ancestors 'none'") });
    expect(page.body).toContain('value="robot" checked');
    expect(page.body).toContain('value="process"');
    expect(await mutes(admin.token)).toEqual([]);

    const done = await post(url, 'what=process&for=24h');
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('Invoices');
    expect(await mutes(viewer.token)).toMatchObject([
      { scope: 'tenant', match: { process: 'Invoices' }, until: new Date(clock.now() + DAY).toISOString(), createdBy: { userId: admin.userId } },
    ]);
    const audit = (await t.call('GET', `${api}/alert-actions`, undefined, admin.token)).json().items;
    expect(audit[0]).toMatchObject({ action: 'mute', via: 'email', by: { userId: admin.userId } });
  });

  it('snoozes for the clicker only, until a time chosen in its own zone', async () => {
    await t.call('PATCH', `${api}/users/${viewer.userId}`, { timeZone: 'Europe/Paris' });
    const alertId = await raise({ robot: 'R8' });
    const url = (await linksOf({ tenantId, userId: viewer.userId, canMute: false }, { alertId })).snooze;
    expect((await post(url, 'what=robot&for=until&until=2026-03-02T18:00')).statusCode).toBe(200);
    const own = (await mutes(viewer.token)).filter((m: { scope: string }) => m.scope === 'user');
    expect(own).toMatchObject([{ match: { robot: 'R8' }, until: '2026-03-02T17:00:00.000Z', createdBy: { userId: viewer.userId } }]);
    expect((await mutes(admin.token)).filter((m: { scope: string }) => m.scope === 'user')).toEqual([]);
    const bad = await post(url, 'what=robot&for=until&until=2020-01-01T00:00');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('until');
    expect((await post(url, 'what=robot&for=forever')).statusCode).toBe(400);
    // Names every object has are no duration either.
    for (const choice of ['constructor', 'toString', '__proto__']) {
      const odd = await post(url, `what=robot&for=${choice}`);
      expect(odd.statusCode, choice).toBe(400);
      expect(odd.json().errors[0].path, choice).toBe('for');
    }
  });

  it('refuses an end of snooze past the year 9999 in UTC (400 on until), which the list of mutes showed as +010000-…', async () => {
    // 9999-12-31T23:59 in Honolulu is 10000-01-01T09:59Z: stored, it was listed as "+010000-01-01T09:59:00.000Z", no ISO-8601 date-time.
    const honolulu = await t.tenantWithUser('acts', ['Alerts Viewer']);
    await t.call('PATCH', `${api}/users/${honolulu.userId}`, { timeZone: 'Pacific/Honolulu' });
    const alertId = await raise({ robot: 'R-far' });
    const url = (await linksOf({ tenantId, userId: honolulu.userId, canMute: false }, { alertId })).snooze;
    const far = await post(url, 'what=robot&for=until&until=9999-12-31T23:59');
    expect(far.statusCode, far.body).toBe(400);
    expect(far.json().errors[0].path).toBe('until');
    const snoozes = async () => (await mutes(honolulu.token)).filter((m: { scope: string }) => m.scope === 'user');
    expect(await snoozes()).toEqual([]);
    expect((await post(url, 'what=robot&for=until&until=9999-12-31T13:59')).statusCode).toBe(200);
    expect(await snoozes()).toMatchObject([{ match: { robot: 'R-far' }, until: '9999-12-31T23:59:00.000Z' }]);
  });

  it("names the alert on its pages as the emails do: on one line, without its message's bidirectional controls, cut whole", async () => {
    // The message went in as stored: an override left open in it turned the rest of "Done: “…” is acknowledged by Ann on …"
    // backwards, and a cut at 200 UTF-16 units could split an emoji in two.
    const message = `Line one\r\n\u202eline two ${'😀'.repeat(300)}`;
    const raised = await t.call('POST', `${api}/alerts`, { severity: 'Fatal', component: 'Robots', message, source: { robot: 'R-title' } }, robot);
    const url = (await linksOf({ tenantId, userId: viewer.userId, canMute: false }, { alertId: raised.json().ids[0] })).acknowledge;
    for (const page of [await get(url), await post(url)]) {
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain(`Line one line two ${'😀'.repeat(180)}`);
      expect(page.body).toContain('😀…');
      expect(page.body).not.toMatch(/[\u202a-\u202e\u2066-\u2069\ufffd]/);
    }
  });

  it('names the tenant and who took the alert on without their bidirectional controls, as the emails do', async () => {
    // An override left open in the tenant's display name turned the rest of "Tell everyone of {tenant} that…" (and of the
    // mute and snooze sentences) backwards, and one in a user's name the time after "acknowledged by {name} on".
    const bidi = await t.tenantWithUser('acts-bidi', ['Administrator']);
    await t.call('PATCH', '/api/v1/tenants/acts-bidi', { displayName: 'Acme \u202eSpa' });
    await t.call('PATCH', `/api/v1/tenants/acts-bidi/users/${bidi.userId}`, { name: 'Ann \u202eLee' });
    const raised = await t.call(
      'POST',
      '/api/v1/tenants/acts-bidi/alerts',
      { severity: 'Error', component: 'Robots', message: 'down', source: { robot: 'R-bidi' } },
      bidi.token,
    );
    const urls = await linksOf({ tenantId: bidi.tenantId, userId: bidi.userId, canMute: true }, { alertId: raised.json().ids[0] });
    const pages = [
      await get(urls.acknowledge),
      await post(urls.acknowledge),
      await get(urls.acknowledge),
      await get(urls.mute),
      await post(urls.mute),
      await get(urls.snooze),
      await post(urls.snooze),
    ];
    for (const page of pages) {
      expect(page.statusCode).toBe(200);
      expect(page.body).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    }
    expect(pages[0]!.body).toContain('Acme Spa');
    expect(pages[1]!.body).toContain('Ann Lee');
    expect(pages[4]!.body).toContain('Acme Spa');
  });

  it('shows the control characters of the tenant, who took the alert on and its robot as visible symbols, as the emails do', async () => {
    // The API took any one line as a name: the tenant's went raw into "Tell everyone of {tenant} that…", a parse error of the page's HTML.
    // It refuses controls in names now; those stored before are written into the rows as such.
    const ctl = await t.tenantWithUser('acts-controls', ['Administrator']);
    const db = t.tocsin.deps.storage.db;
    await db.updateTable('tenants').set({ display_name: 'Acme\u0007 Spa\u001b[2J' }).where('id', '=', ctl.tenantId).execute();
    await db.updateTable('users').set({ name: 'Ann\u001b[31m Lee' }).where('id', '=', ctl.userId).execute();
    const raised = await t.call(
      'POST',
      '/api/v1/tenants/acts-controls/alerts',
      { severity: 'Error', component: 'Robots', message: 'down\u0007', source: { robot: 'R\u001b[5m' } },
      ctl.token,
    );
    const urls = await linksOf({ tenantId: ctl.tenantId, userId: ctl.userId, canMute: true }, { alertId: raised.json().ids[0] });
    const pages = [await get(urls.acknowledge), await post(urls.acknowledge), await get(urls.mute), await post(urls.mute, 'what=robot&for=1h')];
    for (const page of pages) {
      expect(page.statusCode).toBe(200);
      expect(page.body).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/);
    }
    expect(pages[0]!.body).toContain('Acme\u2407 Spa\u241b[2J');
    expect(pages[0]!.body).toContain('down\u2407');
    expect(pages[1]!.body).toContain('Ann\u241b[31m Lee');
    expect(pages[2]!.body).toContain('R\u241b[5m');
  });

  it('names a tenant whose display name shows nothing by its name, as the emails do', async () => {
    // A display name of bidirectional controls alone (the API takes it) was shown as nothing: "Tell everyone of  that…".
    const blank = await t.tenantWithUser('acts-blank-name', ['Administrator']);
    await t.call('PATCH', '/api/v1/tenants/acts-blank-name', { displayName: '\u202e\u202c' });
    const raised = await t.call(
      'POST',
      '/api/v1/tenants/acts-blank-name/alerts',
      { severity: 'Error', component: 'Robots', message: 'down', source: { robot: 'R-blank' } },
      blank.token,
    );
    const urls = await linksOf({ tenantId: blank.tenantId, userId: blank.userId, canMute: true }, { alertId: raised.json().ids[0] });
    for (const url of [urls.acknowledge, urls.mute]) {
      const page = await get(url);
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('acts-blank-name');
    }
  });

  it('says in which time zone it reads and writes the end of a snooze or mute, the one its reader is in', async () => {
    const tokyo = await t.tenantWithUser('acts', ['Administrator']);
    await t.call('PATCH', `${api}/users/${tokyo.userId}`, { timeZone: 'Asia/Tokyo', language: 'de' });
    const alertId = await raise({ robot: 'R-tokyo' });
    const urls = await linksOf({ tenantId, userId: tokyo.userId, canMute: true }, { alertId });
    for (const url of [urls.snooze, urls.mute]) {
      const page = await get(url);
      expect(page.body).toContain('<input type="datetime-local" name="until"');
      expect(page.body).toContain('Alle Zeiten sind in Asia/Tokyo (UTC+09:00) angegeben.');
      const done = await post(url, 'what=robot&for=until&until=2030-01-02T10:00');
      expect(done.statusCode).toBe(200);
      expect(done.body).toContain('02.01.2030, 10:00');
      expect(done.body).toContain('Alle Zeiten sind in Asia/Tokyo (UTC+09:00) angegeben.');
    }
  });

  it("reads the end of a snooze in the tenant's zone, the one the page names, when its reader's stored zone is one the runtime does not know", async () => {
    // A zone saved by a process whose runtime knew it: the page said 'UTC' and 2030-01-02T10:00 was a 400, 'must be a date and time'.
    const mars = await t.tenantWithUser('acts-mars', ['Administrator']);
    await t.call('PATCH', '/api/v1/tenants/acts-mars', { timeZone: 'Asia/Tokyo' });
    await t.tocsin.deps.storage.db.updateTable('users').set({ time_zone: 'Mars/Olympus_Mons' }).where('id', '=', mars.userId).execute();
    const raised = await t.call('POST', '/api/v1/tenants/acts-mars/alerts', {
      severity: 'Error',
      component: 'Robots',
      message: 'R-mars',
      source: { robot: 'R-mars' },
    });
    const url = (await linksOf({ tenantId: mars.tenantId, userId: mars.userId, canMute: true }, { alertId: raised.json().ids[0] })).snooze;
    expect((await get(url)).body).toContain('Times are shown in Asia/Tokyo (UTC+09:00).');
    const done = await post(url, 'what=robot&for=until&until=2030-01-02T10:00');
    expect(done.statusCode, done.body).toBe(200);
    const own = (await t.call('GET', '/api/v1/tenants/acts-mars/mutes', undefined, mars.token)).json().items;
    expect(own).toMatchObject([{ scope: 'user', match: { robot: 'R-mars' }, until: '2030-01-02T01:00:00.000Z' }]);
  });

  it('reads the same choices from a JSON body as from the form', async () => {
    const alertId = await raise({ robot: 'R-json', process: 'Json' });
    const url = (await linksOf({ tenantId, userId: viewer.userId, canMute: false }, { alertId })).snooze;
    const done = await t.tocsin.app.inject({ method: 'POST', url: path(url), payload: { what: 'process', for: '24h' } });
    expect(done.statusCode).toBe(200);
    expect((await mutes(viewer.token)).filter((m: { match: { process?: string } }) => m.match.process === 'Json')).toMatchObject([
      { scope: 'user', until: new Date(clock.now() + DAY).toISOString() },
    ]);
  });

  it('reads the same choices from a multipart form (as some mail clients and browsers post) as from the form-encoded one', async () => {
    const alertId = await raise({ robot: 'R-multipart', process: 'Multipart' });
    const url = (await linksOf({ tenantId, userId: viewer.userId, canMute: false }, { alertId })).snooze;
    const form = new FormData();
    form.append('what', 'process');
    form.append('for', '24h');
    const request = new Request('https://tocsin.example.com/', { method: 'POST', body: form });
    const done = await t.tocsin.app.inject({
      method: 'POST',
      url: path(url),
      headers: { 'content-type': request.headers.get('content-type')! },
      payload: await request.text(),
    });
    expect(done.statusCode).toBe(200);
    const own = (await mutes(viewer.token)).filter(
      (m: { match: { process?: string; robot?: string } }) => m.match.process === 'Multipart' || m.match.robot === 'R-multipart',
    );
    expect(own).toMatchObject([{ scope: 'user', match: { process: 'Multipart' }, until: new Date(clock.now() + DAY).toISOString() }]);
  });

  it('keeps one snooze when its link is confirmed twice, ending at the later end', async () => {
    const alertId = await raise({ robot: 'R-twice' });
    const url = (await linksOf({ tenantId, userId: viewer.userId, canMute: false }, { alertId })).snooze;
    const twice = async () => (await mutes(viewer.token)).filter((m: { match: { robot?: string } }) => m.match.robot === 'R-twice');
    expect((await post(url, 'what=robot&for=24h')).statusCode).toBe(200);
    expect((await post(url, 'what=robot&for=1h')).statusCode).toBe(200);
    expect(await twice()).toMatchObject([{ until: new Date(clock.now() + DAY).toISOString() }]);
    const longer = await post(url, 'what=robot&for=7d');
    expect(longer.statusCode).toBe(200);
    expect(await twice()).toMatchObject([{ until: new Date(clock.now() + 7 * DAY).toISOString() }]);
  });

  it('snoozes for 7 days until the same time of day a week later on its reader’s clock, across a daylight-saving change', async () => {
    // Friday 27 March 2026, 09:00 in Paris; the clocks go forward on Sunday the 29th. 7 × 24 h ended at 10:00 the next
    // Friday, and the page said so: "7 days" to a person at 09:00 on a Friday is 09:00 the next Friday (167 hours here).
    const before = clock.now();
    clock.set(Date.parse('2026-03-27T08:00:00Z'));
    try {
      await t.call('PATCH', `${api}/users/${viewer.userId}`, { timeZone: 'Europe/Paris', language: 'en' });
      const url = (await linksOf({ tenantId, userId: viewer.userId, canMute: false }, { alertId: await raise({ robot: 'R-week' }) })).snooze;
      const done = await post(url, 'what=robot&for=7d');
      expect(done.statusCode).toBe(200);
      expect(done.body).toContain('until Apr 3, 2026, 09:00.');
      const own = (await mutes(viewer.token)).filter((m: { match: { robot?: string } }) => m.match.robot === 'R-week');
      expect(own).toMatchObject([{ until: '2026-04-03T07:00:00.000Z' }]);
      // "24 hours" stays 24 hours: from 09:00 on the Saturday, 10:00 on the Sunday of the change.
      clock.set(Date.parse('2026-03-28T08:00:00Z'));
      const day = (await linksOf({ tenantId, userId: viewer.userId, canMute: false }, { alertId: await raise({ robot: 'R-day' }) })).snooze;
      expect((await post(day, 'what=robot&for=24h')).body).toContain('until Mar 29, 2026, 10:00.');
    } finally {
      clock.set(before);
    }
  });

  it('keeps one mute when its link is confirmed by several requests at once (a double click, a mail scanner and its person)', async () => {
    const alertId = await raise({ robot: 'R-racing' });
    const url = (await linksOf({ tenantId, userId: admin.userId, canMute: true }, { alertId })).mute;
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(url, 'what=robot&for=24h')));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    expect((await mutes(admin.token)).filter((m: { match: { robot?: string } }) => m.match.robot === 'R-racing')).toHaveLength(1);
  });

  it('acknowledges from the email, visible to every reader, and GET alone acknowledges nothing', async () => {
    const alertId = await raise({ robot: 'R9' });
    const url = (await linksOf({ tenantId, userId: viewer.userId, canMute: false }, { alertId })).acknowledge;
    expect((await get(url)).statusCode).toBe(200);
    expect((await t.call('GET', `${api}/alerts/${alertId}`, undefined, admin.token)).json().acknowledgedBy).toBeNull();
    clock.advance(1000);
    const done = await post(url);
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('acts user');
    expect((await t.call('GET', `${api}/alerts/${alertId}`, undefined, admin.token)).json()).toMatchObject({
      acknowledgedBy: { userId: viewer.userId, name: 'acts user' },
      acknowledgedAt: new Date(clock.now()).toISOString(),
    });
  });

  it("sends back to the queue the waiting emails of the link's tenant alone for a snooze, and none for an acknowledgement", async () => {
    // A change of who gets which email sends the emails rendered before it back to the queue (ChangeCount):
    // an "I'm on it" clicked from every inbox of a flood changes none, and a snooze only its own tenant's.
    const bumps = vi.spyOn(t.tocsin.deps.recipientChanges!, 'bump');
    try {
      const alertId = await raise({ robot: 'R10' });
      const urls = await linksOf({ tenantId, userId: viewer.userId, canMute: false }, { alertId });
      expect((await post(urls.acknowledge)).statusCode).toBe(200);
      expect(bumps).not.toHaveBeenCalled();
      expect((await post(urls.snooze, 'what=robot&for=1h')).statusCode).toBe(200);
      expect(bumps.mock.calls).toEqual([[tenantId]]);
    } finally {
      bumps.mockRestore();
    }
  });

  it('says on GET who took the alert on already, in the reader’s language, with no button that would change nothing', async () => {
    // The page still asked « Tell everyone … that you are taking care of this alert » and its button then answered « Done: … by » someone else.
    const alertId = await raise({ robot: 'R-taken' });
    clock.advance(1000);
    expect((await t.call('POST', `${api}/alerts/${alertId}/acknowledge`, undefined, admin.token)).statusCode).toBe(200);
    const french = await t.tenantWithUser('acts', ['Alerts Viewer']);
    await t.call('PATCH', `${api}/users/${french.userId}`, { language: 'fr', timeZone: 'Europe/Paris' });
    const url = (await linksOf({ tenantId, userId: french.userId, canMute: false }, { alertId })).acknowledge;
    clock.advance(60_000);
    const page = await get(url);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Robot hors ligne\u00a0: R7 offline');
    expect(page.body).toContain('Prise en charge par acts user le ');
    expect(page.body).toContain('fuseau Europe/Paris');
    expect(page.body).not.toContain('<form');
    expect((await t.call('GET', `${api}/alerts/${alertId}`, undefined, admin.token)).json().acknowledgedBy).toMatchObject({ userId: admin.userId });
  });

  it("names the alert to acknowledge as its reader's language writes a label, in French with the space before the colon and « l’alerte … prise en charge »", async () => {
    const french = await t.tenantWithUser('acts', ['Alerts Viewer']);
    await t.call('PATCH', `${api}/users/${french.userId}`, { language: 'fr' });
    const alertId = await raise({ robot: 'R10' });
    const url = (await linksOf({ tenantId, userId: french.userId, canMute: false }, { alertId })).acknowledge;
    const page = await get(url);
    expect(page.body).toContain('Robot hors ligne\u00a0: R7 offline');
    clock.advance(1000);
    const done = (await post(url)).body;
    expect(done).toContain('Robot hors ligne\u00a0: R7 offline');
    // « l’alerte … est prise en charge »: the participle agrees with « alerte », not with the first word of the event's name.
    expect(done).toContain('C’est fait\u00a0: l’alerte «\u00a0Robot hors ligne\u00a0: R7 offline\u00a0» est prise en charge par ');
  });

  it("says in Spanish that the user attends « la alerta » named in quotes, not « la atiende » after the event's name", async () => {
    const spanish = await t.tenantWithUser('acts', ['Alerts Viewer']);
    await t.call('PATCH', `${api}/users/${spanish.userId}`, { language: 'es' });
    const alertId = await raise({ robot: 'R11' });
    const url = (await linksOf({ tenantId, userId: spanish.userId, canMute: false }, { alertId })).acknowledge;
    clock.advance(1000);
    const done = (await post(url)).body;
    // « la atiende » took its « la » from the event's name (« Robot sin conexión », masculine), its inner colon run into the sentence.
    expect(done).toContain('Hecho: acts user atiende la alerta «Robot sin conexión: R7 offline» desde el ');
  });

  it('names the acknowledged alert in quotes in English, German and Japanese too, so that its own colon does not run into the sentence', async () => {
    // The page read 'Done: Robot offline: R7 offline is acknowledged by …', two colons and no telling where the alert's name ends.
    const expected = {
      en: 'Done: “Robot offline: R7 offline” is acknowledged by acts user on ',
      de: 'Erledigt: „Roboter offline: R7 offline“ wurde von acts user am ',
      ja: '完了しました。「ロボットがオフライン: R7 offline」は acts user が ',
    };
    for (const [language, sentence] of Object.entries(expected)) {
      const reader = await t.tenantWithUser('acts', ['Alerts Viewer']);
      await t.call('PATCH', `${api}/users/${reader.userId}`, { language });
      const alertId = await raise({ robot: `R-${language}` });
      const url = (await linksOf({ tenantId, userId: reader.userId, canMute: false }, { alertId })).acknowledge;
      clock.advance(1000);
      expect((await post(url)).body).toContain(sentence);
    }
  });

  it('names the host administrator who took an alert on first in the reader’s language, as the emails do', async () => {
    // The page said « … est prise en charge par Host administrator … » to a French reader.
    const french = await t.tenantWithUser('acts', ['Alerts Viewer']);
    await t.call('PATCH', `${api}/users/${french.userId}`, { language: 'fr' });
    const alertId = await raise({ robot: 'R12' });
    expect((await t.call('POST', `${api}/alerts/${alertId}/acknowledge`)).statusCode).toBe(200);
    const url = (await linksOf({ tenantId, userId: french.userId, canMute: false }, { alertId })).acknowledge;
    clock.advance(1000);
    const done = (await post(url)).body;
    expect(done).toContain('est prise en charge par Administrateur de l’hôte le ');
    expect(done).not.toContain('Host administrator');
  });

  it("answers 404 to a link sent to a user's former address, and changes nothing: that mailbox is no longer the user's", async () => {
    const moved = await t.tenantWithUser('acts', ['Administrator']);
    const alertId = await raise({ robot: 'R-moved' });
    const former = await linksOf({ tenantId, userId: moved.userId, canMute: true }, { alertId });
    await t.call('PATCH', `${api}/users/${moved.userId}`, { email: `moved-${moved.userId}@acts.example.com` });
    for (const url of [former.acknowledge, former.mute, former.snooze]) {
      for (const res of [await get(url), await post(url)]) {
        expect(res.statusCode).toBe(404);
        expect(res.headers['content-type']).toContain('application/problem+json');
      }
    }
    expect((await t.call('GET', `${api}/alerts/${alertId}`, undefined, moved.token)).json().acknowledgedBy).toBeNull();
    expect((await mutes(moved.token)).filter((m: { match: { robot?: string } }) => m.match.robot === 'R-moved')).toEqual([]);
    // The links of an email to the new address, written in another case, work.
    await t.call('PATCH', `${api}/users/${moved.userId}`, { email: `MOVED-${moved.userId}@acts.example.com` });
    const current = links.urlsFor({ tenantId, userId: moved.userId, address: `moved-${moved.userId}@acts.example.com`, canMute: true }, { alertId });
    expect((await post(current.acknowledge)).statusCode).toBe(200);
  });

  it('opens a link sent to a user whose address was spelt again for the same mailbox (its domain in Unicode where punycode was)', async () => {
    const respelt = await t.tenantWithUser('acts', ['Administrator']);
    await t.call('PATCH', `${api}/users/${respelt.userId}`, { email: `r-${respelt.userId}@xn--bcher-kva.example` });
    const alertId = await raise({ robot: 'R-respelt' });
    const sent = await linksOf({ tenantId, userId: respelt.userId, canMute: true }, { alertId });
    await t.call('PATCH', `${api}/users/${respelt.userId}`, { email: `R-${respelt.userId}@Bücher.example` });
    expect((await get(sent.acknowledge)).statusCode).toBe(200);
    expect((await post(sent.acknowledge)).statusCode).toBe(200);
    expect((await t.call('GET', `${api}/alerts/${alertId}`, undefined, respelt.token)).json().acknowledgedBy).toMatchObject({ userId: respelt.userId });
  });

  it('answers 404, not a 500 or a 409, to a link whose recipient is deleted while the link is read or while its action is applied', async () => {
    const db = t.tocsin.deps.storage.db;
    const read = await t.tenantWithUser('acts', ['Administrator']);
    const token = (url: string | undefined) => path(url).split('/').pop()!;
    const first = await linksOf({ tenantId, userId: read.userId, canMute: true }, { alertId: await raise({ robot: 'R31' }) });
    // The recipient's principal is two statements, the page's tenant the third; the user goes before the page reads its name.
    const racing = afterReads(db, 3, () => db.deleteFrom('users').where('id', '=', read.userId).execute());
    await expect(resolveLink(racing, links, token(first.acknowledge))).rejects.toMatchObject({ status: 404, message: 'Action link not found.' });
    // A snooze is its recipient's own (an acknowledgement or a tenant mute outlives its author, and is done first).
    const snoozer = await t.tenantWithUser('acts', ['Administrator']);
    const url = (await linksOf({ tenantId, userId: snoozer.userId, canMute: true }, { alertId: await raise({ robot: 'R32' }) })).snooze;
    const snoozed = await whileDeleting(dialect, db, 'users', snoozer.userId, () => post(url));
    expect(`${snoozed.statusCode} ${snoozed.json().detail}`).toBe('404 Action link not found.');
  });

  it('answers 404 for a tampered, expired or foreign link, and 403 once the recipient lost the permission', async () => {
    const alertId = await raise({ robot: 'R10' });
    const url = (await linksOf({ tenantId, userId: admin.userId, canMute: true }, { alertId })).acknowledge!;
    const tampered = `${url.slice(0, -3)}${url.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    // A link cut short before its token is no link either: 404 like the others, not a 400 about the path.
    // A token padded past any link's length is tampered too: it was a 414 past the router's 500 characters.
    const padded = [`${url}${'A'.repeat(501)}`, `https://tocsin.example.com/actions/${'A'.repeat(1_500)}`];
    for (const bad of [tampered, 'https://tocsin.example.com/actions/nope', 'https://tocsin.example.com/actions/', ...padded]) {
      for (const res of [await get(bad), await post(bad)]) {
        expect(res.statusCode).toBe(404);
        expect(res.headers['content-type']).toContain('application/problem+json');
      }
    }
    // Another tenant's alert, or a token naming this tenant for another tenant's user.
    expect((await post((await linksOf({ tenantId, userId: admin.userId, canMute: true }, { alertId: foreignAlert })).acknowledge)).statusCode).toBe(404);
    const strangerId = (await t.call('GET', '/api/v1/tenants/other-acts/users')).json().items[0].id;
    expect((await get((await linksOf({ tenantId, userId: strangerId, canMute: true }, { alertId })).snooze)).statusCode).toBe(404);

    const muteUrl = (await linksOf({ tenantId, userId: admin.userId, canMute: true }, { alertId })).mute;
    await t.call('PATCH', `${api}/users/${admin.userId}`, { roles: ['Alerts Viewer'] });
    expect((await post(muteUrl)).statusCode).toBe(403);
    expect((await post(url)).statusCode).toBe(200);
    await t.call('PATCH', `${api}/users/${admin.userId}`, { roles: [] });
    expect((await get(url)).statusCode).toBe(403);
    await t.call('PATCH', `${api}/users/${admin.userId}`, { roles: ['Administrator'] });

    clock.advance(7 * DAY + 1);
    expect((await get(url)).statusCode).toBe(404);
    expect((await post(muteUrl)).statusCode).toBe(404);
  });

  it("answers a person's browser with a page in its language, not JSON, for an expired link, a lost permission or a past end", async () => {
    const browser = { accept: 'text/html,application/xhtml+xml', 'accept-language': 'fr-CH, fr;q=0.9' };
    const asBrowser = (method: 'GET' | 'POST', url: string | undefined, form = '') =>
      t.tocsin.app.inject({ method, url: path(url), headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' }, payload: form });
    const alertId = await raise({ robot: 'R-browser' });
    const snooze = (await linksOf({ tenantId, userId: viewer.userId, canMute: false }, { alertId })).snooze;
    const past = await asBrowser('POST', snooze, 'what=robot&for=until&until=2020-01-01T00:00');
    expect(past.statusCode).toBe(400);
    expect(past.headers['content-type']).toContain('text/html');
    // The link is the viewer's: in the language of its confirmation page (the tenant's English), as the next test says.
    expect(past.body).toContain('Choose a date and time in the future');

    const mute = (await linksOf({ tenantId, userId: viewer.userId, canMute: true }, { alertId })).mute;
    const lost = await asBrowser('GET', mute);
    expect(lost.statusCode).toBe(403);
    expect(lost.headers['content-type']).toContain('text/html');
    // The link is the viewer's too: in its language, the tenant's English (a permission lost, below).
    expect(lost.body).toContain('You no longer hold the permission this link needs');

    clock.advance(7 * DAY + 1);
    for (const expired of [await asBrowser('GET', snooze), await asBrowser('POST', snooze)]) {
      expect(expired.statusCode).toBe(404);
      expect(expired.headers['content-type']).toContain('text/html');
      expect(expired.body).toContain('<html lang="fr">');
      expect(expired.body).toContain('Ce lien n’est pas valide ou a expiré');
    }
    // A script asking for JSON still gets the problem.
    expect((await post(snooze)).headers['content-type']).toContain('application/problem+json');
  });

  it('tells a person who already keeps as many snoozes as Tocsin allows so on a page in their language, not in JSON naming an API route', async () => {
    const reader = await t.tenantWithUser('acts', ['Alerts Viewer']);
    await t.call('PATCH', `${api}/users/${reader.userId}`, { language: 'fr' });
    const until = new Date(clock.now() + DAY).toISOString();
    for (let i = 0; i < SNOOZES_PER_USER_MAX; i++) {
      expect((await t.call('POST', `${api}/mutes`, { scope: 'user', match: { robot: `R-full-${i}` }, until }, reader.token)).statusCode).toBe(201);
    }
    const alertId = await raise({ robot: 'R-one-more' });
    const snooze = (await linksOf({ tenantId, userId: reader.userId, canMute: false }, { alertId })).snooze;
    const headers = { accept: 'text/html,application/xhtml+xml', 'accept-language': 'en-US', 'content-type': 'application/x-www-form-urlencoded' };
    const full = await t.tocsin.app.inject({ method: 'POST', url: path(snooze), headers, payload: 'what=robot&for=1h' });
    expect(full.statusCode).toBe(409);
    expect(full.headers['content-type']).toContain('text/html');
    expect(full.body).toContain('<html lang="fr">');
    expect(full.body).toContain('Levez-en dans la console');
    expect(full.body).not.toContain('DELETE /mutes');
    // A script still gets the problem.
    expect((await post(snooze, 'what=robot&for=1h')).headers['content-type']).toContain('application/problem+json');
  });

  // A French ops team's emails and action pages are French; a reader whose browser asks for English (en-US
  // workstations are common) who had lost a permission got « You no longer hold the permission this link needs »,
  // the one page of a genuine link said in the browser's language rather than the recipient's.
  it('tells a recipient who lost a permission so in their language, as the link’s other pages do, not their browser’s', async () => {
    const reader = await t.tenantWithUser('acts', ['Alerts Viewer']);
    await t.call('PATCH', `${api}/users/${reader.userId}`, { language: 'fr' });
    const alertId = await raise({ robot: 'R-lost' });
    const links = await linksOf({ tenantId, userId: reader.userId, canMute: true }, { alertId });
    const headers = { accept: 'text/html', 'accept-language': 'en-US,en;q=0.9', 'content-type': 'application/x-www-form-urlencoded' };
    expect((await t.tocsin.app.inject({ method: 'GET', url: path(links.snooze), headers })).body).toContain('<html lang="fr">');
    // Muting for everyone needs Alerts.Edit, which an Alerts Viewer never held; then Alerts.View goes too.
    const refusals = [await t.tocsin.app.inject({ method: 'GET', url: path(links.mute), headers })];
    await t.call('PATCH', `${api}/users/${reader.userId}`, { roles: [] });
    refusals.push(
      await t.tocsin.app.inject({ method: 'GET', url: path(links.snooze), headers }),
      await t.tocsin.app.inject({ method: 'POST', url: path(links.snooze), headers, payload: 'what=robot&for=1h' }),
    );
    for (const refused of refusals) {
      expect(refused.statusCode).toBe(403);
      expect(refused.body).toContain('<html lang="fr">');
      expect(refused.body).toContain('Vous n’avez plus l’autorisation qu’exige ce lien');
    }
  });

  it('asks a recipient to check a past end in the language of the page their choice came from, not their browser’s', async () => {
    // The link is known to be theirs: its confirmation and done pages are in the recipient's language, so is this one.
    const reader = await t.tenantWithUser('acts', ['Alerts Viewer']);
    await t.call('PATCH', `${api}/users/${reader.userId}`, { language: 'de' });
    const alertId = await raise({ robot: 'R-lang' });
    const snooze = (await linksOf({ tenantId, userId: reader.userId, canMute: false }, { alertId })).snooze;
    const headers = { accept: 'text/html', 'accept-language': 'en-US,en;q=0.9', 'content-type': 'application/x-www-form-urlencoded' };
    expect((await t.tocsin.app.inject({ method: 'GET', url: path(snooze), headers })).body).toContain('<html lang="de">');
    const past = await t.tocsin.app.inject({ method: 'POST', url: path(snooze), headers, payload: 'what=robot&for=until&until=2020-01-01T00:00' });
    expect(past.statusCode).toBe(400);
    expect(past.body).toContain('<html lang="de">');
    expect(past.body).toContain('Wählen Sie ein Datum und eine Uhrzeit in der Zukunft');
  });
});
