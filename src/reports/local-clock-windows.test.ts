/**
 * PRODUCT.md §3: the 10-minute summary's windows are aligned on the clock (…:00, …:10). The
 * tenant's clock: in Kathmandu (+05:45) a window runs 10:00–10:10 there, not 09:55–10:05, and the
 * scheduler is due at those instants. The real app on both dialects, a fake clock, the emails read
 * back from a real SMTP server.
 */
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports, sendQueuedReports } from '../../test/support/report-runs.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { localeFormat } from '../i18n/format.js';
import { FakeClock } from '../shared/clock.js';

const MINUTE = 60_000;
const INTERVAL = 10 * MINUTE;
const PUBLIC = 'https://tocsin.example.com';
const at = (iso: string) => Date.parse(iso);

describeEachDialect('summary windows on the tenant’s clock', (dialect) => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  let clock: FakeClock;

  beforeAll(async () => {
    // 09:52 in Kathmandu, 04:07 UTC.
    clock = new FakeClock(at('2026-03-29T04:07:00Z'));
    smtp = await startTestSmtpServer();
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  async function ok(method: 'POST' | 'PUT' | 'PATCH', url: string, body?: unknown) {
    const res = await t.call(method, `/api/v1/tenants${url}`, body);
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  }
  async function tenant(name: string, timeZone: string) {
    await ok('POST', '', { name, timeZone });
    await ok('PUT', `/${name}/settings/mail`, { alertsEmailEnabled: true });
    await ok('POST', `/${name}/users`, { name: 'Reader', email: `reader@${name}.example.com`, language: 'en', roles: ['Alerts Viewer'] });
  }
  const raise = (name: string, message: string) => ok('POST', `/${name}/alerts`, { severity: 'Error', component: 'Jobs', message });
  const decideAt = async (iso: string) => {
    clock.set(at(iso));
    await decideReports(t.tocsin, clock, INTERVAL);
  };
  const windowsOf = async (name: string) => {
    const db = t.tocsin.deps.storage.db;
    const rows = await db
      .selectFrom('report_windows')
      .innerJoin('tenants', 'tenants.id', 'report_windows.tenant_id')
      .select(['window_start', 'window_end'])
      .where('tenants.name', '=', name)
      .where('kind', '=', 'summary')
      .orderBy('window_start')
      .execute();
    return rows.map((r) => ({ start: Number(r.window_start), end: Number(r.window_end) }));
  };
  const dueAt = async (name: string) => {
    const row = await t.tocsin.deps.storage.db
      .selectFrom('report_schedule')
      .innerJoin('tenants', 'tenants.id', 'report_schedule.tenant_id')
      .select('due_at')
      .where('tenants.name', '=', name)
      .where('kind', '=', 'summary')
      .executeTakeFirstOrThrow();
    return Number(row.due_at);
  };

  it('sends a Kathmandu tenant the summary of 10:00–10:10 Kathmandu time, decided just after 10:10 there', async () => {
    await tenant('ktm', 'Asia/Kathmandu');
    // The first window, from the creation's (09:50) to 10:00 Kathmandu time, is empty.
    await decideAt('2026-03-29T04:15:01.500Z');
    expect(await windowsOf('ktm')).toEqual([{ start: at('2026-03-29T04:05:00Z'), end: at('2026-03-29T04:15:00Z') }]);
    expect(await dueAt('ktm')).toBe(at('2026-03-29T04:25:01Z'));
    clock.set(at('2026-03-29T04:16:00Z'));
    await raise('ktm', 'failed at 10:01');
    // 10:05 Kathmandu time is a UTC multiple of ten minutes, not the end of a Kathmandu window.
    await decideAt('2026-03-29T04:20:01.500Z');
    expect(await windowsOf('ktm')).toHaveLength(1);
    await decideAt('2026-03-29T04:25:01.500Z');
    const window = { start: at('2026-03-29T04:15:00Z'), end: at('2026-03-29T04:25:00Z') };
    expect((await windowsOf('ktm')).at(-1)).toEqual(window);
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    const message = smtp.messages.find((m) => m.envelope.to[0] === 'reader@ktm.example.com')!;
    const text = (await simpleParser(message.raw)).text!;
    const fmt = localeFormat('en', 'Asia/Kathmandu');
    expect(fmt.clock(window.start)).toContain('10:00');
    expect(text).toContain(fmt.dateTime(window.start));
    expect(text).toContain(fmt.clock(window.end));
    expect(fmt.clock(window.end)).toContain('10:10');
  });

  it('moves a tenant from UTC to Kathmandu time mid-window with a shorter window, no gap and no overlap', async () => {
    clock.set(at('2026-03-29T04:25:30Z'));
    await tenant('moving', 'UTC');
    await decideAt('2026-03-29T04:30:01.500Z');
    expect(await windowsOf('moving')).toEqual([{ start: at('2026-03-29T04:20:00Z'), end: at('2026-03-29T04:30:00Z') }]);
    clock.set(at('2026-03-29T04:31:00Z'));
    await raise('moving', 'in UTC');
    await ok('PATCH', '/moving', { timeZone: 'Asia/Kathmandu' });
    await decideAt('2026-03-29T04:32:00Z');
    clock.set(at('2026-03-29T04:33:00Z'));
    await raise('moving', 'in Kathmandu');
    await decideAt('2026-03-29T04:35:01.500Z');
    await decideAt('2026-03-29T04:40:01.500Z');
    await decideAt('2026-03-29T04:45:01.500Z');
    expect(await windowsOf('moving')).toEqual([
      { start: at('2026-03-29T04:20:00Z'), end: at('2026-03-29T04:30:00Z') },
      { start: at('2026-03-29T04:30:00Z'), end: at('2026-03-29T04:35:00Z') },
      { start: at('2026-03-29T04:35:00Z'), end: at('2026-03-29T04:45:00Z') },
    ]);
    const rows = await t.tocsin.deps.storage.db
      .selectFrom('deliveries')
      .select(['window_start', 'window_end'])
      .where('recipient_address', '=', 'reader@moving.example.com')
      .execute();
    expect(rows.map((r) => [Number(r.window_start), Number(r.window_end)])).toEqual([[at('2026-03-29T04:30:00Z'), at('2026-03-29T04:35:00Z')]]);
  });
});
