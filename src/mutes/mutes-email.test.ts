/**
 * A muted source mails nobody while its alerts are still stored, listed and counted, and the
 * summaries say what their mutes kept out: the real
 * server with a 2-second summary window, a real SMTP server, and the outbox as the witness that
 * nothing else was even queued.
 */
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ListeningApp, startListeningApp } from '../../test/support/http.js';
import { dailyReportTimeAway } from '../../test/support/report-runs.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';

describeEachDialect('mutes and snoozes in alert emails', (dialect) => {
  let smtp: TestSmtpServer;
  let app: ListeningApp;
  const api: ListeningApp['api'] = (...args) => app.api(...args);
  const to = (mail: ParsedMail) => (Array.isArray(mail.to) ? mail.to[0] : mail.to)!.value[0]!.address!;

  beforeAll(async () => {
    smtp = await startTestSmtpServer();
    app = await startListeningApp(dialect, `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com`);
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
  });

  /** mailingTenant makes a tenant with its alert emails on, and a viewer per address, who snoozes the robot given. */
  async function mailingTenant(name: string, readers: readonly (readonly [string, string | undefined])[], preferences?: object) {
    await api('POST', '', { name, timeZone: 'UTC' });
    await api('PUT', `/${name}/settings/mail`, { alertsEmailEnabled: true, dailyReportTime: dailyReportTimeAway('UTC') });
    const until = new Date(Date.now() + 3_600_000).toISOString();
    for (const [email, robot] of readers) {
      const id = (await api('POST', `/${name}/users`, { email, name: email.split('@')[0], roles: ['Alerts Viewer'] })).id;
      if (preferences) await api('PUT', `/${name}/users/${id}/alert-preferences`, preferences);
      const token = (await api('POST', `/${name}/users/${id}/tokens`, { name: 't' })).token as string;
      if (robot) await api('POST', `/${name}/mutes`, { scope: 'user', match: { robot }, until }, token);
    }
  }

  it('mails nobody about a muted robot, and the snoozer nothing about its snoozed one, saying so in the summaries, while every alert is still listed', async () => {
    await api('POST', '', { name: 'quiet', timeZone: 'UTC' });
    // The daily report far from now: the outbox is counted below, and the real clock could cross 10:00.
    await api('PUT', '/quiet/settings/mail', { alertsEmailEnabled: true, dailyReportTime: dailyReportTimeAway('UTC') });
    const user = async (email: string, role = 'Alerts Viewer') => {
      const id = (await api('POST', '/quiet/users', { email, name: email.split('@')[0], roles: [role] })).id;
      await api('PUT', `/quiet/users/${id}/alert-preferences`, { email: { fatalImmediately: true } });
      return { id, token: (await api('POST', `/quiet/users/${id}/tokens`, { name: 't' })).token as string };
    };
    await user('ana@example.com', 'Administrator');
    const ben = await user('ben@example.com');
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await api('POST', '/quiet/mutes', { scope: 'tenant', match: { robot: 'R-flood' }, until });
    await api('POST', '/quiet/mutes', { scope: 'user', match: { robot: 'R9' }, until }, ben.token);

    const alert = (robot: string, severity: string, message: string) => ({ severity, component: 'Robots', message, source: { robot } });
    await api('POST', '/quiet/alerts', {
      alerts: [
        alert('R-flood', 'Error', 'flood 1'),
        alert('R-flood', 'Error', 'flood 2'),
        alert('R-flood', 'Fatal', 'flood fatal'),
        alert('R9', 'Error', 'snoozed by ben'),
        alert('R1', 'Fatal', 'marker fatal'),
      ],
    });

    // Two immediate emails (the marker, to each) and two summaries.
    await smtp.waitForMessages(4, 20_000);
    const mails = await Promise.all(smtp.messages.map((m) => simpleParser(m.raw)));
    const byKind = (kind: string) => mails.filter((m) => m.headers.get('x-tocsin-kind') === kind);
    expect(
      byKind('immediate')
        .map((m) => m.text)
        .every((text) => text?.includes('marker fatal')),
    ).toBe(true);
    const summaries = new Map(byKind('summary').map((m) => [to(m), m.text ?? '']));
    expect([...summaries.keys()].sort()).toEqual(['ana@example.com', 'ben@example.com']);
    for (const text of summaries.values()) {
      expect(text).toContain('marker fatal');
      for (const muted of ['flood 1', 'flood 2', 'flood fatal']) expect(text).not.toContain(muted);
    }
    expect(summaries.get('ana@example.com')).toContain('snoozed by ben');
    expect(summaries.get('ben@example.com')).not.toContain('snoozed by ben');
    // Each summary says what its mutes kept out, so a source gone quiet is not taken for a recovery.
    expect(summaries.get('ana@example.com')).toContain('3 alerts of this period are not shown, as they are muted in emails by:');
    expect(summaries.get('ana@example.com')).toMatch(/ {2}Robot: R-flood until .+ \(by .+\)/);
    expect(summaries.get('ana@example.com')).not.toContain('R9 until');
    expect(summaries.get('ben@example.com')).toContain('4 alerts of this period are not shown, as they are muted in emails by:');
    expect(summaries.get('ben@example.com')).toMatch(/ {2}Robot: R9 until .+ \(snoozed for you\)/);
    // The outbox holds exactly these four: no muted email was even queued.
    expect((await api('GET', '/quiet/deliveries')).items).toHaveLength(4);
    // The muted alerts are still stored, listed and counted.
    const listed = (await api('GET', '/quiet/alerts', undefined, ben.token)).items.map((a: { message: string }) => a.message);
    expect(listed).toEqual(expect.arrayContaining(['flood 1', 'flood 2', 'flood fatal', 'snoozed by ben']));
    expect((await api('GET', '/quiet/alerts/unread-count', undefined, ben.token)).unread).toBe(5);

    // Two clicks from the summary: Ana (Alerts.Edit) mutes the marker's robot for everyone; Ben,
    // a viewer, is offered snooze and acknowledge but no mute.
    expect(summaries.get('ben@example.com')).not.toContain('Mute for everyone');
    expect(summaries.get('ben@example.com')).toMatch(/Snooze for me: https:\/\/tocsin\.example\.com\/actions\/[\w-]+/);
    const muteUrl = /Mute for everyone: (https:\S+)/.exec(summaries.get('ana@example.com')!)![1]!;
    const local = `${app.url}${new URL(muteUrl).pathname}`;
    const page = await fetch(local);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('R1');
    const done = await fetch(local, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'what=robot&for=1h' });
    expect(done.status).toBe(200);
    const active = (await api('GET', '/quiet/mutes', undefined, ben.token)).items;
    expect(active.map((m: { match: object }) => m.match)).toEqual(expect.arrayContaining([{ robot: 'R-flood' }, { robot: 'R1' }]));
  });

  it('mails the alerts of a flood on several robots that no mute matches, and keeps out those one matches', async () => {
    // One dedup key for a process that fails on two robots: each reader snoozed one of them.
    await mailingTenant('mixed', [
      ['ana@mixed.example.com', 'R1'],
      ['ben@mixed.example.com', 'R2'],
    ]);
    const failed = (robot: string, message: string) => ({
      severity: 'Error',
      component: 'Jobs',
      event: 'Process.JobExecution.Faulted',
      message,
      dedupKey: 'invoice-faulted',
      source: { process: 'Invoice', robot },
    });
    await api('POST', '/mixed/alerts', { alerts: [failed('R1', 'failed on R1'), failed('R2', 'failed on R2'), failed('R2', 'failed on R2 again')] });

    const mails = async () => (await Promise.all(smtp.messages.map((m) => simpleParser(m.raw)))).filter((m) => m.headers.get('x-tocsin-tenant') === 'mixed');
    await expect
      .poll(async () => (await mails()).map(to).sort(), { timeout: 20_000, interval: 100 })
      .toEqual(['ana@mixed.example.com', 'ben@mixed.example.com']);
    const summaries = new Map((await mails()).map((m) => [to(m), m.text ?? '']));
    // Ana snoozed R1: the two alerts of R2 are hers, led by the first of them.
    const ana = summaries.get('ana@mixed.example.com')!;
    expect(ana).toContain('2 new Fatal or Error alerts between');
    expect(ana).toMatch(/^\[Error\] Job execution faulted ×2\n {2}failed on R2\n/m);
    expect(ana).not.toContain('failed on R1');
    expect(ana).toContain('1 alert of this period is not shown, as it is muted in emails by:');
    // Ben snoozed R2: only R1's alert, not counted with the two he snoozed.
    const ben = summaries.get('ben@mixed.example.com')!;
    expect(ben).toContain('1 new Fatal or Error alert between');
    expect(ben).toMatch(/^\[Error\] Job execution faulted\n {2}failed on R1\n/m);
    expect(ben).not.toContain('failed on R2');
    expect(ben).toContain('2 alerts of this period are not shown, as they are muted in emails by:');
  });

  it("mails each reader a Fatal flood on several robots by its first alert the reader's mutes leave", async () => {
    // One dedup key for a robot pool going down in one request: Cy snoozed R1, Dee snoozed nothing.
    await mailingTenant(
      'pool',
      [
        ['cy@pool.example.com', 'R1'],
        ['dee@pool.example.com', undefined],
      ],
      { email: { fatalImmediately: true, tenMinuteSummary: false } },
    );
    const down = (robot: string) => ({
      severity: 'Fatal',
      component: 'Robots',
      event: 'Robot.StatusChanged.Offline',
      message: `down on ${robot}`,
      dedupKey: 'pool-down',
      source: { robot },
    });
    await api('POST', '/pool/alerts', { alerts: [down('R1'), down('R2')] });

    const immediate = async () =>
      (await Promise.all(smtp.messages.map((m) => simpleParser(m.raw))))
        .filter((m) => m.headers.get('x-tocsin-tenant') === 'pool' && m.headers.get('x-tocsin-kind') === 'immediate')
        .map((m) => `${to(m)} ${/down on R\d/.exec(m.text ?? '')?.[0]}`)
        .sort();
    await expect.poll(immediate, { timeout: 20_000, interval: 100 }).toEqual(['cy@pool.example.com down on R2', 'dee@pool.example.com down on R1']);
  });
});
