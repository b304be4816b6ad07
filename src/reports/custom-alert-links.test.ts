import { afterAll, beforeAll, expect, it } from 'vitest';
import { toDelivery } from '../delivery/outbox/delivery.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports, reportComposersAt } from '../../test/support/report-runs.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';

const T0 = Date.parse('2026-06-01T07:59:00Z'); // 09:59 in Paris
const INTERVAL = 600_000;

// An alert raised without an event is `Process.RaiseAlert` whatever its component (API.md), as
// `tocsin raise --component Jobs` and the README's first alert are: the event alone does not tell
// one line's alerts from another's.
describeEachDialect('links of custom alerts in emails', (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  const base = '/api/v1/tenants/custom-links';

  const render = async (kind: 'summary' | 'immediate') => {
    const db = t.tocsin.deps.storage.db;
    const row = await db
      .selectFrom('deliveries')
      .selectAll()
      .where('kind', '=', kind)
      .where('recipient_address', '=', 'fr@example.com')
      .executeTakeFirstOrThrow();
    return reportComposersAt(db, clock, INTERVAL)[kind]!(toDelivery(row));
  };
  // The messages of the alerts the console lists at an email's link (its query, less the tenant).
  const listedAt = async (link: string) => {
    const query = new URL(link.replaceAll('&amp;', '&').replace('/#/alerts', '/')).searchParams;
    query.delete('tenant');
    return ((await t.call('GET', `${base}/alerts?${query}`)).json().items as { message: string }[]).map((a) => a.message).sort();
  };
  const linkAfter = (text: string, label: string) => {
    const lines = text.split('\n');
    const at = lines.findIndex((line) => line.includes(label));
    return lines
      .slice(at)
      .find((line) => line.includes('Afficher ces alertes') || line.includes('Ouvrir dans Tocsin'))!
      .replace(/^.*?(https:\S+).*$/, '$1');
  };

  beforeAll(async () => {
    clock = new FakeClock(T0);
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'custom-links', timeZone: 'Europe/Paris' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    const fr = (await t.call('POST', `${base}/users`, { email: 'fr@example.com', name: 'Élise', language: 'fr', roles: ['Alerts Viewer'] })).json().id;
    await t.call('PUT', `${base}/users/${fr}/alert-preferences`, { email: { fatalImmediately: true } });
    // Muted for the whole window: a line of several components' alerts loses the Actions ones (read by parts).
    const until = new Date(T0 + 3_600_000).toISOString();
    expect((await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { component: 'Actions' }, until })).statusCode).toBe(201);
    clock.advance(30_000);
    await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Transactions', message: 'Invoices queue stuck' });
    // One flood (its dedup key) of custom alerts of two components, and one of three whose Actions alert is muted.
    await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Folders', message: 'Folder sync failed', dedupKey: 'sync-42' });
    await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Queues', message: 'Queue sync failed', dedupKey: 'sync-42' });
    for (const component of ['Triggers', 'Tasks', 'Actions'])
      await t.call('POST', `${base}/alerts`, { severity: 'Error', component, message: `${component} export failed`, dedupKey: 'export-7' });
    await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Schedules', message: 'Nightly trigger skipped' });
    await t.call('POST', `${base}/alerts`, { severity: 'Fatal', component: 'Schedules', message: 'Scheduler down' });
    await t.call('POST', `${base}/alerts`, { severity: 'Fatal', component: 'Robots', message: 'Robot farm gone' });
    await t.tocsin.decisionsSettled();
    clock.set(Math.ceil(T0 / INTERVAL) * INTERVAL + 1_500);
    await decideReports(t.tocsin, clock, INTERVAL);
  });
  afterAll(() => t.close());

  it("links each summary line of a custom alert to that alert's component, not to every component's custom alerts", async () => {
    const email = await render('summary');
    expect(await listedAt(linkAfter(email.text, 'Invoices queue stuck'))).toEqual(['Invoices queue stuck']);
    // The Schedules line's link lists that component's Error and Fatal custom alerts of the window, no other's.
    expect(await listedAt(linkAfter(email.text, 'Nightly trigger skipped'))).toEqual(['Nightly trigger skipped', 'Scheduler down']);
  });

  it("links a line whose alerts are of several components to each of them, where the reader's mutes leave them or not", async () => {
    const email = await render('summary');
    expect(email.text).not.toContain('Actions export failed');
    expect(await listedAt(linkAfter(email.text, 'Folder sync failed'))).toEqual(expect.arrayContaining(['Folder sync failed', 'Queue sync failed']));
    expect(await listedAt(linkAfter(email.text, 'Triggers export failed'))).toEqual(expect.arrayContaining(['Tasks export failed', 'Triggers export failed']));
  });

  it("opens the console on a Fatal custom alert's component from its immediate email, not on another component's", async () => {
    const db = t.tocsin.deps.storage.db;
    const rows = await db.selectFrom('deliveries').selectAll().where('kind', '=', 'immediate').where('recipient_address', '=', 'fr@example.com').execute();
    const composers = reportComposersAt(db, clock, INTERVAL);
    const emails = await Promise.all(rows.map((row) => composers.immediate!(toDelivery(row))));
    const scheduler = emails.find((email) => email.text.includes('Scheduler down'))!;
    expect(await listedAt(linkAfter(scheduler.text, 'Ouvrir dans Tocsin'))).toEqual(['Scheduler down']);
  });
});
