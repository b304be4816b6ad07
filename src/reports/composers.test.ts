import { afterAll, beforeAll, expect, it } from 'vitest';
import { toDelivery } from '../delivery/outbox/delivery.js';
import { DeliveryWorker } from '../delivery/outbox/worker.js';
import { createMailSender } from '../delivery/smtp/sender.js';
import { plainEndpointOf, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports, reportComposersAt } from '../../test/support/report-runs.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect, sqlitePlanOf } from '../../test/support/storage.js';
import { NOT_A_READER, TURNED_OFF, immediateFactsOf, reportComposers } from './composers.js';
import type { Db } from '../storage/database.js';
import { ReadCache } from '../shared/read-cache.js';
import { UnsubscribeLinks } from './unsubscribe/links.js';
import { alertListUrl } from './templates/links.js';

const T0 = Date.parse('2026-06-01T07:59:00Z'); // 09:59 in Paris
const INTERVAL = 600_000;

describeEachDialect('report composers', (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  const base = '/api/v1/tenants/compose';

  const composers = () => {
    const db = t.tocsin.deps.storage.db;
    return reportComposersAt(db, clock, INTERVAL);
  };
  const deliveryRow = (kind: string, address: string) =>
    t.tocsin.deps.storage.db.selectFrom('deliveries').selectAll().where('kind', '=', kind).where('recipient_address', '=', address).executeTakeFirstOrThrow();
  const render = async (kind: string, address: string) => composers()[kind as 'summary']!(toDelivery(await deliveryRow(kind, address)));

  beforeAll(async () => {
    clock = new FakeClock(T0);
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'compose', timeZone: 'Europe/Paris' });
    // New tenants start with alert emails off; the commit-time decider reads that switch.
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    const fr = (await t.call('POST', `${base}/users`, { email: 'fr@example.com', name: 'Élise', language: 'fr', roles: ['Alerts Viewer'] })).json().id;
    await t.call('PUT', `${base}/users/${fr}/alert-preferences`, { subscriptions: { Queues: false }, email: { fatalImmediately: true } });
    clock.advance(30_000);
    // One flood of a process on two robots: its summary line links to both alerts, not to the first one's robot.
    for (const robot of ['R5', 'R6']) {
      await t.call('POST', `${base}/alerts`, {
        severity: 'Error',
        component: 'Jobs',
        event: 'Process.JobExecution.Faulted',
        message: `Payroll failed on ${robot}`,
        dedupKey: 'payroll',
        source: { process: 'Payroll', robot },
      });
    }
    for (let i = 0; i < 3; i++) {
      await t.call('POST', `${base}/alerts`, {
        severity: 'Error',
        component: 'Jobs',
        event: 'Process.JobExecution.Faulted',
        message: 'Invoice <run> failed',
        dedupKey: 'invoice',
      });
    }
    await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Queues', event: 'Queue.Sla.Breached', message: 'SLA missed on Claims' });
    // Robot R2 was available before it went offline: still failing, with one failure of two alerts.
    await t.call('POST', `${base}/alerts`, {
      severity: 'Info',
      component: 'Robots',
      event: 'Robot.StatusChanged.Available',
      message: 'Robot R2 available',
      source: { robot: 'R2' },
    });
    await t.call('POST', `${base}/alerts`, {
      severity: 'Fatal',
      component: 'Robots',
      event: 'Robot.StatusChanged.Offline',
      message: 'Robot R2 offline',
      source: { robot: 'R2', machine: 'VM-2' },
    });
    await t.call('POST', `${base}/alerts`, { severity: 'Info', component: 'Robots', event: 'Robot.StatusChanged.Available', message: 'Robot R3 back' });
    // A neighbour tenant with alerts of its own in the same window, each kind of email too.
    await t.call('POST', '/api/v1/tenants', { name: 'neighbour', timeZone: 'Europe/Paris' });
    await t.call('PUT', '/api/v1/tenants/neighbour/settings/mail', { alertsEmailEnabled: true });
    const next = (await t.call('POST', '/api/v1/tenants/neighbour/users', { email: 'next@example.com', name: 'Next', roles: ['Alerts Viewer'] })).json().id;
    await t.call('PUT', `/api/v1/tenants/neighbour/users/${next}/alert-preferences`, { email: { fatalImmediately: true } });
    for (const severity of ['Error', 'Fatal'])
      await t.call('POST', '/api/v1/tenants/neighbour/alerts', { severity, component: 'Jobs', message: `Neighbour secret ${severity}` });
    // The Fatal alert's immediate email is decided at commit, not by the scheduler's tick.
    await t.tocsin.decisionsSettled();
    clock.set(Math.ceil(T0 / INTERVAL) * INTERVAL + 1_500);
    await decideReports(t.tocsin, clock, INTERVAL);
  });
  afterAll(() => t.close());

  it("renders the summary in the recipient's language with its subscribed Fatal and Error alerts, repeats collapsed", async () => {
    const email = await render('summary', 'fr@example.com');
    expect(email.text).toContain('Invoice <run> failed');
    expect(email.text).toContain('Robot R2 offline');
    expect(email.text).not.toContain('SLA missed');
    expect(email.text).not.toContain('Robot R3 back');
    expect(email.text).toMatch(/×\s?3/);
    expect(email.html).toContain('Invoice &lt;run&gt; failed');
    expect(email.headers['X-Tocsin-Kind']).toBe('summary');
    expect(email.headers['List-Unsubscribe']).toMatch(/^<https:\/\/tocsin\.example\.com\/unsubscribe\/[\w.-]+>$/);
  });

  it("links each summary line to the console's list of its alerts: its event, and its robot, process or queue, in the window", async () => {
    const row = await deliveryRow('summary', 'fr@example.com');
    const email = await render('summary', 'fr@example.com');
    const hrefs = [...email.html.matchAll(/<a href="([^"]+)"[^>]*>([^<]+)<\/a>/g)].map(([, href, text]) => ({
      href: href!.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&'),
      text,
    }));
    const listOf = (component: string, event: string, source?: { robot?: string; process?: string }) =>
      alertListUrl('https://tocsin.example.com', {
        tenant: row.tenant_id,
        severity: 'Error',
        component,
        event,
        since: row.window_start!,
        until: row.window_end!,
        source,
      });
    expect(hrefs).toContainEqual({ href: listOf('Jobs', 'Process.JobExecution.Faulted'), text: 'Échec de l’exécution de la tâche' });
    expect(hrefs).toContainEqual({ href: listOf('Robots', 'Robot.StatusChanged.Offline', { robot: 'R2' }), text: 'Robot hors ligne' });
  });

  it("links a summary line of repeats on several robots to all of them: the parts of the source its alerts share, not the first one's robot", async () => {
    const row = await deliveryRow('summary', 'fr@example.com');
    const email = await render('summary', 'fr@example.com');
    expect(email.text).toMatch(/Payroll failed on R5/);
    const hrefs = [...email.html.matchAll(/<a href="([^"]+)"/g)].map(([, href]) => href!.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&'));
    const payroll = hrefs.filter((href) => href.includes('event=Process.JobExecution.Faulted') && href.includes('process=Payroll'));
    const both = alertListUrl('https://tocsin.example.com', {
      tenant: row.tenant_id,
      severity: 'Error',
      component: 'Jobs',
      event: 'Process.JobExecution.Faulted',
      since: row.window_start!,
      until: row.window_end!,
      source: { process: 'Payroll' },
    });
    expect(payroll).toEqual([both]);
    const listed = await t.call('GET', `${base}/alerts?${new URL(both.replace('/#/alerts', '/')).searchParams.toString().replace(/^tenant=[^&]+&/, '')}`);
    expect(
      listed
        .json()
        .items.map((a: { message: string }) => a.message)
        .sort(),
    ).toEqual(['Payroll failed on R5', 'Payroll failed on R6']);
  });

  it('renders the immediate email of a Fatal alert for those who opted in', async () => {
    const email = await render('immediate', 'fr@example.com');
    expect(email.text).toContain('Robot R2 offline');
    expect(email.headers['X-Tocsin-Kind']).toBe('immediate');
  });

  it("opens the console on the Fatal alert's own robot, process or queue, not on every alert of its event", async () => {
    const row = await deliveryRow('immediate', 'fr@example.com');
    const { alertId } = (JSON.parse(row.payload) as { data: { alertId: string } }).data;
    const alert = await t.tocsin.deps.storage.db.selectFrom('alerts').select('created_at').where('id', '=', alertId).executeTakeFirstOrThrow();
    const email = await render('immediate', 'fr@example.com');
    const list = alertListUrl('https://tocsin.example.com', {
      tenant: row.tenant_id,
      severity: 'Fatal',
      component: 'Robots',
      event: 'Robot.StatusChanged.Offline',
      since: Number(alert.created_at),
      source: { robot: 'R2' },
    });
    expect(email.text).toContain(list);
  });

  it("counts a Fatal flood's repeats so far in its immediate email, and says who acknowledged the flood", async () => {
    const post = async (message: string) =>
      (
        await t.call('POST', `${base}/alerts`, { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message, dedupKey: 'door' })
      ).json().ids[0] as string;
    const first = await post('Door robot offline');
    await t.tocsin.decisionsSettled();
    await post('Door robot offline again');
    await post('Door robot offline once more');
    const rows = await t.tocsin.deps.storage.db.selectFrom('deliveries').selectAll().where('kind', '=', 'immediate').execute();
    const row = rows.find((r) => (JSON.parse(r.payload) as { data: { alertId: string } }).data.alertId === first)!;
    const before = await composers().immediate!(toDelivery(row));
    expect(before.text).toContain('Door robot offline');
    expect(before.text).toMatch(/×\s?3/);
    expect(before.text).not.toContain('Prise en charge');
    expect((await t.call('POST', `${base}/alerts/${first}/acknowledge`)).statusCode).toBe(200);
    const after = await composers().immediate!(toDelivery(row));
    expect(after.text).toMatch(/×\s?3/);
    expect(after.text).toContain('Prise en charge');
  });

  it('names the host administrator who muted or acknowledged in the reader’s language, not in English', async () => {
    const mute = await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { robot: 'R2' }, until: new Date(clock.now() + 3_600_000).toISOString() });
    expect(mute.statusCode).toBe(201);
    const invoice = (await t.call('GET', `${base}/alerts?component=Jobs`)).json().items[0].id as string;
    expect((await t.call('POST', `${base}/alerts/${invoice}/acknowledge`)).statusCode).toBe(200);
    try {
      const email = await render('summary', 'fr@example.com');
      expect(email.text).toMatch(/Prise en charge par Administrateur de l’hôte le /);
      expect(email.text).toMatch(/Robot\u00a0: R2 jusqu’au .* \(par Administrateur de l’hôte\)/);
      expect(`${email.text}${email.html}`).not.toContain('Host administrator');
    } finally {
      await t.call('DELETE', `${base}/mutes/${mute.json().id}`);
    }
  });

  it('links a source still failing in the daily report to the failures it counts, not to its milder alerts too', async () => {
    const email = await render('daily', 'fr@example.com');
    const lines = email.text.split('\n');
    const failing = lines.slice(lines.findIndex((line) => line.trim() === 'Toujours en échec'));
    const at = failing.findIndex((line) => line.includes('Robot\u00a0: R2 ·'));
    expect(failing[at]).toContain('Alertes\u00a0: 1 ·');
    const query = new URL(failing[at + 1]!.replace(/^.*?(https:\S+).*$/, '$1').replace('/#/alerts', '/')).searchParams;
    query.delete('tenant');
    const listed = (await t.call('GET', `${base}/alerts?${query}`)).json().items as { message: string }[];
    expect(listed.map((a) => a.message)).toEqual(['Robot R2 offline']);
  });

  it('says how many alerts mutes kept out of a daily report, and never calls a day whose every alert was muted all quiet', async () => {
    const until = new Date(clock.now() + 3_600_000).toISOString();
    const mutes = [];
    for (const component of ['Jobs', 'Robots']) mutes.push((await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { component }, until })).json().id);
    await t.call('PUT', `${base}/settings/mail`, { sendEmptyDailyReport: true });
    try {
      const email = await render('daily', 'fr@example.com');
      // Élise subscribes to the five Jobs alerts and the three of Robots (not to Queues): all eight muted.
      expect(email.text).toContain('8 alertes de cette période ne sont pas affichées, coupées dans les e-mails par\u00a0:');
      expect(email.html).toContain('8 alertes de cette période ne sont pas affichées');
      for (const part of [email.subject, email.text, email.html]) expect(part).not.toContain('rien à signaler');
      expect(email.subject).toBe('compose\u00a0: récapitulatif quotidien des alertes, 0 alerte (1 juin 2026)');
    } finally {
      for (const id of mutes) await t.call('DELETE', `${base}/mutes/${id}`);
      await t.call('PUT', `${base}/settings/mail`, { sendEmptyDailyReport: false });
    }
  });

  it('puts no alert of another tenant in any email: every summary, daily and immediate email of both tenants', async () => {
    const db = t.tocsin.deps.storage.db;
    const tenants = await db.selectFrom('tenants').select(['id', 'name']).where('name', 'in', ['compose', 'neighbour']).execute();
    const nameOf = new Map(tenants.map((row) => [row.id, row.name]));
    const rows = await db
      .selectFrom('deliveries')
      .selectAll()
      .where('tenant_id', 'in', [...nameOf.keys()])
      .execute();
    const rendered = new Map<string, string[]>([
      ['compose', []],
      ['neighbour', []],
    ]);
    for (const row of rows) {
      const compose = composers()[row.kind as 'summary'];
      if (!compose) continue;
      const email = await compose(toDelivery(row));
      rendered.get(nameOf.get(row.tenant_id)!)!.push(`${email.subject}\n${email.text}\n${email.html}`);
    }
    // Both tenants got emails of their own alerts, so the absence below means something.
    expect(rendered.get('neighbour')!.join('\n')).toContain('Neighbour secret Fatal');
    expect(rendered.get('neighbour')!.join('\n')).toContain('Neighbour secret Error');
    expect(new Set(rows.map((row) => row.kind))).toEqual(new Set(['summary', 'daily', 'immediate']));
    expect(rendered.get('compose')!.join('\n')).toContain('Robot R2 offline');
    expect(rendered.get('compose')!.join('\n')).not.toContain('Neighbour secret');
    for (const own of ['Invoice', 'Robot R2', 'SLA missed', 'Robot R3']) expect(rendered.get('neighbour')!.join('\n')).not.toContain(own);
  });

  it("reads an immediate email's alert for its own tenant only", async () => {
    const row = await deliveryRow('immediate', 'fr@example.com');
    const { alertId } = (JSON.parse(row.payload) as { data: { alertId: string } }).data;
    const db = t.tocsin.deps.storage.db;
    expect((await immediateFactsOf(db, row.tenant_id, [alertId])).get(alertId)?.alert.id).toBe(alertId);
    expect((await immediateFactsOf(db, 'another-tenant', [alertId])).size).toBe(0);
  });

  it.runIf(dialect === 'sqlite')("reads a claim's alerts by their ids however many there are, not by walking the tenant's alerts", async () => {
    const planned: number[] = [];
    for (const count of [64, 128]) {
      const ids = Array.from({ length: count }, (_, i) => `alert-${i}`);
      const plan = await sqlitePlanOf('as flood_repeats', () => immediateFactsOf(t.tocsin.deps.storage.db, 'compose', ids));
      if (!plan) continue;
      planned.push(count);
      expect(
        plan.filter((detail) => detail.startsWith('SEARCH a ') || detail.startsWith('SCAN a')),
        `${count} ids`,
      ).toEqual([expect.stringMatching(/^SEARCH a USING INDEX sqlite_autoindex_alerts_1 \(id=\?\)/)]);
    }
    expect(planned).toEqual([64, 128]);
  });

  it("writes an email sent after its decision (a retry after a mail server outage) in its reader's language, time zone and name of then", async () => {
    const users = (await t.call('GET', `${base}/users`)).json().items as { id: string; email: string }[];
    const elise = users.find((u) => u.email === 'fr@example.com')!.id;
    // Decided for Élise in French on Paris time; she has since moved to Tokyo and reads German.
    await t.call('PATCH', `${base}/users/${elise}`, { language: 'de', timeZone: 'Asia/Tokyo', name: 'Elise M.' });
    try {
      const summary = await render('summary', 'fr@example.com');
      expect(summary.text).toContain('Hallo Elise M.,');
      expect(summary.text).toContain('Asia/Tokyo');
      const immediate = await render('immediate', 'fr@example.com');
      expect(immediate.text).toContain('Hallo Elise M.,');
      expect(immediate.text).toContain('Asia/Tokyo');
    } finally {
      await t.call('PATCH', `${base}/users/${elise}`, { language: 'fr', timeZone: null, name: 'Élise' });
    }
  });

  /** claimComposers are the pipeline's composers (a ReadCache forgotten on every change), over `db`. */
  const claimComposers = (db: Db, kept: ReadCache) =>
    reportComposers({
      db,
      publicUrl: 'https://tocsin.example.com',
      summaryIntervalMs: INTERVAL,
      unsubscribeLinks: new UnsubscribeLinks(db, 'https://tocsin.example.com', clock),
      clock,
      kept,
    });

  it('reads a change made through the API between two emails of one claim: a reader who lost Alerts.View gets the second one no more', async () => {
    // As the pipeline's: what compose reads of access, kept between emails and forgotten on every change through the API.
    const kept = new ReadCache();
    const claimed = claimComposers(t.tocsin.deps.storage.db, kept);
    const users = (await t.call('GET', `${base}/users`)).json().items as { id: string; email: string }[];
    const elise = users.find((u) => u.email === 'fr@example.com')!.id;
    // Two emails of one claim (one lease token), the second rendered once its connection is free, a while later.
    const immediate = { ...toDelivery(await deliveryRow('immediate', 'fr@example.com')), leaseToken: 'one-claim', attempts: 2 };
    const summary = { ...toDelivery(await deliveryRow('summary', 'fr@example.com')), leaseToken: 'one-claim' };
    await claimed.immediate!(immediate);
    await t.call('PATCH', `${base}/users/${elise}`, { roles: [] });
    kept.forget();
    try {
      await expect(claimed.summary!(summary)).rejects.toMatchObject({ name: 'ComposeError', message: NOT_A_READER });
    } finally {
      await t.call('PATCH', `${base}/users/${elise}`, { roles: ['Alerts Viewer'] });
    }
  });

  it("reads a reader's preferences once for all the emails of one claim that waited in the queue, not twice for each", async () => {
    let preferenceReads = 0;
    const counting = t.tocsin.deps.storage.db.withPlugin({
      transformQuery: (args) => {
        if (JSON.stringify(args.node).includes('"user_alert_preferences"')) preferenceReads++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const claimed = claimComposers(counting, new ReadCache());
    // A claim's emails (one lease token) not leased at their commit: each is checked against its reader's preferences of now.
    const immediate = { ...toDelivery(await deliveryRow('immediate', 'fr@example.com')), leaseToken: 'one-claim-of-four' };
    const summary = { ...toDelivery(await deliveryRow('summary', 'fr@example.com')), leaseToken: 'one-claim-of-four' };
    await Promise.all([claimed.immediate!(immediate), claimed.immediate!({ ...immediate, id: 'second' }), claimed.summary!(summary)]);
    await claimed.immediate!({ ...immediate, id: 'fourth' });
    // Her own layer (and her groups' beside it) read once for the claim, not once for each of its four emails.
    expect(preferenceReads).toBe(1);
  });

  it('reads a change of preferences made through the API between two emails of one claim: a reader who turned Fatal emails off gets the second one no more', async () => {
    const kept = new ReadCache();
    const claimed = claimComposers(t.tocsin.deps.storage.db, kept);
    const users = (await t.call('GET', `${base}/users`)).json().items as { id: string; email: string }[];
    const elise = users.find((u) => u.email === 'fr@example.com')!.id;
    const immediate = { ...toDelivery(await deliveryRow('immediate', 'fr@example.com')), leaseToken: 'one-claim-turned-off' };
    await claimed.immediate!(immediate);
    await t.call('PUT', `${base}/users/${elise}/alert-preferences`, { subscriptions: { Queues: false }, email: { fatalImmediately: false } });
    kept.forget();
    try {
      await expect(claimed.immediate!({ ...immediate, id: 'second' })).rejects.toMatchObject({ name: 'ComposeError', message: TURNED_OFF });
    } finally {
      await t.call('PUT', `${base}/users/${elise}/alert-preferences`, { subscriptions: { Queues: false }, email: { fatalImmediately: true } });
    }
  });

  it('fails a summary whose tenant is gone at once: a permanent error, never retried', async () => {
    const delivery = { ...toDelivery(await deliveryRow('summary', 'fr@example.com')), tenantId: 'deleted-tenant' };
    await expect(composers().summary!(delivery)).rejects.toMatchObject({ name: 'ComposeError', retryable: false });
  });

  it('fails the immediate email of a deleted alert after one attempt, sending nothing', async () => {
    const db = t.tocsin.deps.storage.db;
    const row = await deliveryRow('immediate', 'fr@example.com');
    const { alertId } = (JSON.parse(row.payload) as { data: { alertId: string } }).data;
    await db.deleteFrom('alerts').where('id', '=', alertId).execute();
    const smtp = await startTestSmtpServer();
    const sender = createMailSender({ maxConnections: 1 });
    const worker = new DeliveryWorker({
      storage: t.tocsin.deps.storage,
      clock,
      sender,
      resolveEndpoint: async () => plainEndpointOf(smtp),
      composers: composers(),
    });
    try {
      await db.deleteFrom('deliveries').where('id', '!=', row.id).execute();
      expect(await worker.runOnce()).toBe(1);
      const after = await db.selectFrom('deliveries').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
      expect(after).toMatchObject({ status: 'failed', attempts: 1 });
      expect(after.last_error).toContain(`alert ${alertId} no longer exists`);
      expect(smtp.messages).toHaveLength(0);
    } finally {
      await sender.close();
      await smtp.close();
    }
  });
});
