/**
 * A mute or snooze ending exactly when a summary window (or the daily report's period) ends was in
 * force for all of the window it reaches: the window's email, decided and written an instant after
 * that end, must still leave its alerts out, as it would for a mute ending a second later.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports, reportComposersAt } from '../../test/support/report-runs.js';
import { toDelivery } from '../delivery/outbox/delivery.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';

const INTERVAL = 600_000;
// 10:00 UTC: the end of the 09:50 summary window and of the daily report's period (report time 10:00, tenant in UTC).
const END = Date.parse('2026-06-01T10:00:00Z');

/** rowsOf lists the summary and daily report queued for an address, daily first. */
const rowsOf = (t: TestApp, address: string) =>
  t.tocsin.deps.storage.db
    .selectFrom('deliveries')
    .selectAll()
    .where('recipient_address', '=', address)
    .where('kind', 'in', ['summary', 'daily'])
    .orderBy('kind')
    .execute();

/** render writes the queued summary or daily report of an address as it is sent at the clock's time. */
async function render(t: TestApp, clock: FakeClock, kind: 'summary' | 'daily', address: string) {
  const db = t.tocsin.deps.storage.db;
  const composers = reportComposersAt(db, clock, INTERVAL);
  const row = (await rowsOf(t, address)).find((r) => r.kind === kind)!;
  return composers[kind]!(toDelivery(row));
}

/** viewer adds an Alerts Viewer to a tenant and returns a token of theirs. */
async function viewer(t: TestApp, base: string, email: string): Promise<string> {
  const id = (await t.call('POST', `${base}/users`, { email, name: email.split('@')[0], roles: ['Alerts Viewer'] })).json().id as string;
  return (await t.call('POST', `${base}/users/${id}/tokens`, { name: 't' })).json().token as string;
}

describeEachDialect('a mute ending at the end of a window', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(END - 60_000);
  const base = '/api/v1/tenants/edge';

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'edge', timeZone: 'UTC' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    await viewer(t, base, 'vera@example.com');
    const walt = await viewer(t, base, 'walt@example.com');
    const until = new Date(END).toISOString();
    expect((await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { robot: 'R-muted' }, until })).statusCode).toBe(201);
    // Walt snoozes the only other robot: every alert of the window is muted for him.
    const snooze = await t.call('POST', `${base}/mutes`, { scope: 'user', match: { robot: 'R-other' }, until }, walt);
    expect(snooze.statusCode).toBe(201);
    for (const robot of ['R-muted', 'R-other'])
      await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Robots', message: `failure on ${robot}`, source: { robot } });
    clock.set(END + 1_500);
    await decideReports(t.tocsin, clock, INTERVAL);
  });
  afterAll(() => t?.close());

  it("leaves the muted robot out of the window's summary and daily report, saying it was muted", async () => {
    expect((await rowsOf(t, 'vera@example.com')).map((r) => r.kind)).toEqual(['daily', 'summary']);
    const summary = await render(t, clock, 'summary', 'vera@example.com');
    expect(summary.text).toContain('failure on R-other');
    expect(summary.text).not.toContain('failure on R-muted');
    expect(summary.text).toMatch(/Robot: R-muted until/);
    const daily = await render(t, clock, 'daily', 'vera@example.com');
    expect(daily.text).toContain('1 alert of this period is not shown');
  });

  it('queues no summary or daily report for a reader whose every alert of the window was muted or snoozed until its end', async () => {
    expect(await rowsOf(t, 'walt@example.com')).toEqual([]);
  });
});

/**
 * A mute or snooze that ends inside a window, expiring at its `until` or lifted by DELETE, keeps
 * out of the window's summary and daily report the alerts stored while it was in force, and only
 * those: the alerts stored after its end are mailed. Judged only at the window's end, it let out
 * every alert it had kept out.
 */
describeEachDialect('a mute ending inside a window', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(END - 5 * 60_000);
  // 09:56: inside the 09:50 summary window and the daily period ending at 10:00.
  const ENDED = END - 4 * 60_000;
  const until = new Date(ENDED).toISOString();
  const alert = (base: string, robot: string, message: string) =>
    t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Robots', message, source: { robot }, dedupKey: `flood-${robot}` });

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    // `inside` has alerts before and after the mutes' end; `quiet` only before it.
    const lifted = new Map<string, string>();
    for (const name of ['inside', 'quiet']) {
      const base = `/api/v1/tenants/${name}`;
      await t.call('POST', '/api/v1/tenants', { name, timeZone: 'UTC' });
      await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
      await viewer(t, base, `vera@${name}.example.com`);
      const walt = await viewer(t, base, `walt@${name}.example.com`);
      expect((await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { robot: 'R-expired' }, until })).statusCode).toBe(201);
      const later = new Date(END + 3_600_000).toISOString();
      const mute = await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { robot: 'R-lifted' }, until: later });
      expect(mute.statusCode).toBe(201);
      lifted.set(base, mute.json().id as string);
      // Walt snoozes a robot until 09:56: only his emails leave its alerts of before then out.
      expect((await t.call('POST', `${base}/mutes`, { scope: 'user', match: { robot: 'R-snoozed' }, until }, walt)).statusCode).toBe(201);
      for (const robot of ['R-expired', 'R-lifted', 'R-snoozed']) await alert(base, robot, `early ${robot}`);
    }
    clock.set(ENDED);
    for (const [base, id] of lifted) expect((await t.call('DELETE', `${base}/mutes/${id}`)).statusCode).toBe(204);
    clock.set(ENDED + 60_000);
    // The same floods go on after the end: one line of the summary each, partly muted.
    for (const robot of ['R-expired', 'R-lifted', 'R-snoozed']) await alert('/api/v1/tenants/inside', robot, `late ${robot}`);
    clock.set(END + 1_500);
    await decideReports(t.tocsin, clock, INTERVAL);
  });
  afterAll(() => t?.close());

  it("leaves out of the window's summary the alerts stored before a tenant mute expired or was lifted, and mails those stored after", async () => {
    const summary = (await render(t, clock, 'summary', 'vera@inside.example.com')).text;
    for (const shown of ['late R-expired', 'late R-lifted', 'early R-snoozed']) expect(summary).toContain(shown);
    for (const hidden of ['early R-expired', 'early R-lifted']) expect(summary).not.toContain(hidden);
    expect(summary).toMatch(/Robot: R-expired until/);
    expect(summary).toMatch(/Robot: R-lifted until/);
  });

  it("leaves out of the snoozer's summary only the alerts stored before the snooze ended", async () => {
    const summary = (await render(t, clock, 'summary', 'walt@inside.example.com')).text;
    expect(summary).toContain('late R-snoozed');
    expect(summary).not.toContain('early R-snoozed');
    expect(summary).not.toContain('early R-expired');
  });

  it('counts as muted in the daily report the alerts stored before the mutes ended', async () => {
    expect((await render(t, clock, 'daily', 'vera@inside.example.com')).text).toContain('2 alerts of this period are not shown');
    expect((await render(t, clock, 'daily', 'walt@inside.example.com')).text).toContain('3 alerts of this period are not shown');
  });

  it('queues no summary or daily report for a reader whose every alert of the window was stored while a since-ended mute or snooze was in force', async () => {
    expect(await rowsOf(t, 'walt@quiet.example.com')).toEqual([]);
    const summary = (await render(t, clock, 'summary', 'vera@quiet.example.com')).text;
    expect(summary).toContain('early R-snoozed');
    expect(summary).not.toMatch(/early R-(expired|lifted)/);
  });
});

/**
 * A mute that ended inside a window covers the alerts stored while it was in force, not those
 * stored before it was made: a mute made by mistake and lifted ten seconds later kept out of the
 * window's summary (and the reader got none) an alert stored minutes before anyone muted it.
 */
describeEachDialect('a mute made and ended inside a window', (dialect) => {
  let t: TestApp;
  // 09:51, inside the 09:50 summary window and the daily period ending at 10:00.
  const clock = new FakeClock(END - 9 * 60_000);
  const base = '/api/v1/tenants/brief';
  const alert = (robot: string, message: string) =>
    t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Robots', message, source: { robot }, dedupKey: `flood-${robot}` });
  const mute = async (robot: string, until: number) => {
    const made = await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { robot }, until: new Date(until).toISOString() });
    expect(made.statusCode).toBe(201);
    return made.json().id as string;
  };

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'brief', timeZone: 'UTC' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    await viewer(t, base, 'vera@brief.example.com');
    for (const robot of ['R-mistake', 'R-short']) await alert(robot, `before ${robot}`);
    // 09:55: one mute made by mistake, lifted ten seconds later; one made until 09:57.
    clock.set(END - 5 * 60_000);
    const mistake = await mute('R-mistake', END + 3_600_000);
    await mute('R-short', END - 3 * 60_000);
    // A mute in force at the window's end that hides nothing: the daily report lists it, as always.
    await mute('R-idle', END + 3_600_000);
    clock.advance(10_000);
    expect((await t.call('DELETE', `${base}/mutes/${mistake}`)).statusCode).toBe(204);
    await alert('R-short', 'during R-short');
    clock.set(END + 1_500);
    await decideReports(t.tocsin, clock, INTERVAL);
  });
  afterAll(() => t?.close());

  it('mails in the summary the alerts stored before the mute was made, leaving out only those stored while it was in force', async () => {
    expect((await rowsOf(t, 'vera@brief.example.com')).map((r) => r.kind)).toEqual(['daily', 'summary']);
    const summary = (await render(t, clock, 'summary', 'vera@brief.example.com')).text;
    for (const shown of ['before R-mistake', 'before R-short']) expect(summary).toContain(shown);
    expect(summary).not.toContain('during R-short');
  });

  it('counts as muted in the daily report only the alerts stored while the mute was in force', async () => {
    expect((await render(t, clock, 'daily', 'vera@brief.example.com')).text).toContain('1 alert of this period is not shown');
  });

  it('lists an ended mute in the daily report and the summary only when it hid something there, not one made by mistake and lifted at once', async () => {
    const daily = (await render(t, clock, 'daily', 'vera@brief.example.com')).text;
    expect(daily).toMatch(/Robot: R-short until/);
    expect(daily).toMatch(/Robot: R-idle until/);
    expect(daily).not.toMatch(/R-mistake until/);
    const summary = (await render(t, clock, 'summary', 'vera@brief.example.com')).text;
    expect(summary).toMatch(/Robot: R-short until/);
    expect(summary).not.toMatch(/R-mistake until/);
  });
});

/**
 * A mute made after a window's email was decided, and lifted again before that email went out (its
 * mail server was down, say), was never in force for any alert of the window: the late email still
 * mails them.
 */
describeEachDialect('a mute made after a window and lifted before its late email', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(END - 5 * 60_000);
  const base = '/api/v1/tenants/late';

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'late', timeZone: 'UTC' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    await viewer(t, base, 'vera@late.example.com');
    await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Robots', message: 'failure on R-late', source: { robot: 'R-late' } });
    clock.set(END + 1_500);
    await decideReports(t.tocsin, clock, INTERVAL);
    clock.set(END + 2 * 60_000);
    const mute = await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { robot: 'R-late' }, until: new Date(END + 3_600_000).toISOString() });
    expect(mute.statusCode).toBe(201);
    clock.set(END + 3 * 60_000);
    expect((await t.call('DELETE', `${base}/mutes/${mute.json().id}`)).statusCode).toBe(204);
    clock.set(END + 4 * 60_000);
  });
  afterAll(() => t?.close());

  it("mails the window's alerts in its summary, naming no mute", async () => {
    const summary = await render(t, clock, 'summary', 'vera@late.example.com');
    expect(summary.text).toContain('failure on R-late');
    expect(summary.text).not.toMatch(/Robot: R-late until/);
  });
});

/**
 * A mute ending at the last millisecond of a window (…:59.999) ended inside it: it keeps out the
 * alerts stored while it was in force, and the window's emails list it only when it hid some.
 */
describeEachDialect('a mute ending at the last millisecond of a window', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(END - 5 * 60_000);
  const base = '/api/v1/tenants/lastms';

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'lastms', timeZone: 'UTC' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    await viewer(t, base, 'vera@lastms.example.com');
    const until = new Date(END - 1).toISOString();
    for (const robot of ['R-hidden', 'R-idle'])
      expect((await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { robot }, until })).statusCode).toBe(201);
    for (const robot of ['R-hidden', 'R-other'])
      await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Robots', message: `failure on ${robot}`, source: { robot } });
    clock.set(END + 1_500);
    await decideReports(t.tocsin, clock, INTERVAL);
  });
  afterAll(() => t?.close());

  it('leaves out the alerts stored while it was in force, listing it in the summary and the daily report, and not the mute that hid nothing', async () => {
    const summary = await render(t, clock, 'summary', 'vera@lastms.example.com');
    expect(summary.text).toContain('failure on R-other');
    expect(summary.text).not.toContain('failure on R-hidden');
    expect(summary.text).toMatch(/Robot: R-hidden until/);
    expect(summary.text).not.toMatch(/Robot: R-idle/);
    const daily = await render(t, clock, 'daily', 'vera@lastms.example.com');
    expect(daily.text).toContain('1 alert of this period is not shown');
    expect(daily.text).toMatch(/Robot: R-hidden until/);
    expect(daily.text).not.toMatch(/Robot: R-idle/);
  });
});

/**
 * A flood whose alerts straddle a mute's end, the last stored at the very instant it ended: the
 * alerts stored while the mute was in force stay out, that last one is mailed alone.
 */
describeEachDialect('an alert stored at the very instant a mute ends', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(END - 5 * 60_000);
  const base = '/api/v1/tenants/straddle';
  const ENDED = END - 2 * 60_000;

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'straddle', timeZone: 'UTC' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    await viewer(t, base, 'vera@straddle.example.com');
    const until = new Date(ENDED).toISOString();
    expect((await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { robot: 'R-flood' }, until })).statusCode).toBe(201);
    const flood = (message: string) =>
      t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Robots', message, source: { robot: 'R-flood' }, dedupKey: 'flood' });
    await flood('while muted');
    await flood('while muted again');
    clock.set(ENDED);
    await flood('as the mute ends');
    clock.set(END + 1_500);
    await decideReports(t.tocsin, clock, INTERVAL);
  });
  afterAll(() => t?.close());

  it('mails that last alert alone, counting the others as muted', async () => {
    const summary = await render(t, clock, 'summary', 'vera@straddle.example.com');
    expect(summary.text).toContain('1 new Fatal or Error alert between');
    expect(summary.text).toContain('as the mute ends');
    expect(summary.text).toContain('2 alerts of this period are not shown');
  });
});
