/**
 * Acceptance test of issue 10's Alertmanager source with the real part: Debian's
 * prometheus-alertmanager started as a plain process on loopback, its webhook receiver pointing
 * at a Tocsin listening in-process with the configuration README gives operators. Alerts posted
 * to Alertmanager's API reach Tocsin as alerts, and a Fatal one reaches the SMTP sink at once;
 * an alert that Alertmanager sends again with its group when another joins it is stored once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type TestSmtpServer, startTestSmtpServer } from '../support/smtp-servers.js';
import { type ListeningApp, startListeningApp } from '../support/http.js';
import { freePort } from '../support/ports.js';
import { describeEachDialect, isCi } from '../support/storage.js';

const ALERTMANAGER = process.env.TOCSIN_ALERTMANAGER ?? '/usr/bin/prometheus-alertmanager';
const HOW_TO_RUN = `install Debian's prometheus-alertmanager (apt-get install prometheus-alertmanager) or set TOCSIN_ALERTMANAGER to its path`;
const available = fs.existsSync(ALERTMANAGER);
if (!available) {
  if (isCi(process.env)) throw new Error(`CI must run the Alertmanager test: ${ALERTMANAGER} is missing (.ci/run installs it with apt-get).`);
  process.stderr.write(`\n[tocsin] Alertmanager test skipped: ${HOW_TO_RUN}.\n\n`);
}

/** The receivers block README tells operators to write, with the source's URL and secret. */
const alertmanagerYaml = (url: string, secret: string) => `route:
  receiver: tocsin
  group_by: ['alertname']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: tocsin
    webhook_configs:
      - url: '${url}'
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: '${secret}'
`;

describeEachDialect('Alertmanager to Tocsin, end to end', (dialect) => {
  let smtp: TestSmtpServer;
  let app: ListeningApp;
  // Every Alertmanager a test starts, stopped after the tests.
  const alertmanagers: ChildProcess[] = [];
  let amUrl = '';
  let amLog = '';
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-am-acceptance-'));
  const api: ListeningApp['api'] = (...args) => app.api(...args);

  beforeAll(async () => {
    smtp = await startTestSmtpServer();
    // Summaries at the default interval, as before: the first email the sink takes is the Fatal one's.
    app = await startListeningApp(dialect, `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com`, { TOCSIN_SUMMARY_INTERVAL_SECONDS: '600' });
  });
  afterAll(async () => {
    for (const am of alertmanagers) am.kill('SIGTERM');
    await app?.close();
    await smtp?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it.skipIf(!available)(
    'turns alerts posted to Alertmanager into Tocsin alerts and a Fatal email, and a resolved one into Success',
    async () => {
      // 1. A tenant with someone who wants Fatal alerts at once, and an alertmanager source.
      await api('POST', '', { name: 'acme-am' });
      await api('PUT', '/acme-am/settings/mail', { alertsEmailEnabled: true });
      const ops = (await api('POST', '/acme-am/users', { email: 'oncall@example.com', name: 'On call', roles: ['Alerts Viewer'] })).id;
      await api('PUT', `/acme-am/users/${ops}/alert-preferences`, { email: { fatalImmediately: true } });
      const source = await api('POST', '/acme-am/sources', { name: 'Prometheus', kind: 'alertmanager' });
      const receiveUrl = app.url + new URL(source.url).pathname;

      // 2. Alertmanager, configured as README says, on loopback without clustering.
      amUrl = await startAlertmanager(dataDir, receiveUrl, source.secret);

      // 3. Prometheus (here: the test) posts a critical alert to Alertmanager.
      const alert = { labels: { alertname: 'RobotHostDown', instance: 'vm1', severity: 'critical' }, annotations: { summary: 'vm1 is down' } };
      const posted = await fetch(`${amUrl}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([alert]) });
      expect(posted.status).toBe(200);

      const stored = async () => (await api('GET', '/acme-am/alerts?event=RobotHostDown')).items as Record<string, any>[];
      await vi.waitFor(async () => expect(await stored(), amLog).toHaveLength(1), { timeout: 20_000, interval: 100 });
      const [fatal] = await stored();
      expect(fatal).toMatchObject({ severity: 'Fatal', component: 'Process', message: 'vm1 is down', source: { machine: 'vm1' } });
      expect(fatal!.data.labels).toMatchObject({ alertname: 'RobotHostDown' });

      // 4. The on-call person gets the immediate email.
      await vi.waitFor(() => expect(smtp.messages.length).toBeGreaterThan(0), { timeout: 20_000, interval: 100 });
      const mail = await simpleParser(smtp.messages[0]!.raw);
      expect(mail.text).toContain('vm1 is down');

      // 5. Another host goes down: Alertmanager sends the group again, the first alert in it; it stays one alert.
      const second = { labels: { ...alert.labels, instance: 'vm2' }, annotations: { summary: 'vm2 is down' } };
      await fetch(`${amUrl}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([second]) });
      await vi.waitFor(async () => expect((await stored()).map((a) => a.message)).toContain('vm2 is down'), { timeout: 20_000, interval: 100 });
      expect((await stored()).filter((a) => a.message === 'vm1 is down')).toHaveLength(1);

      // 6. The alert ends: Alertmanager sends it resolved, which becomes a Success for the same key.
      const ended = { ...alert, endsAt: new Date(Date.now() - 1_000).toISOString() };
      await fetch(`${amUrl}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([ended]) });
      await vi.waitFor(async () => expect((await stored()).map((a) => a.severity)).toContain('Success'), { timeout: 20_000, interval: 100 });
      const success = (await stored()).find((a) => a.severity === 'Success')!;
      expect(success.dedupKey).toBe(fatal!.dedupKey);

      const counters = (await api('GET', `/acme-am/sources/${source.id}`)).stats;
      expect(counters).toMatchObject({ rejected: 0, lastError: null });
      expect(counters.accepted).toBeGreaterThanOrEqual(2);
    },
    90_000,
  );

  // Alertmanager's users' first complaint is duplicate notifications from an HA pair (#1718, #2222),
  // and its default mail has no start time (#2275) and times in UTC only (#3874). Two Alertmanagers
  // that do not gossip, as many HA setups run, each send the alert Prometheus posted to both.
  it.skipIf(!available)(
    'sends one Fatal email, with the start time in the reader’s zone, when both Alertmanagers of an HA pair send the alert',
    async () => {
      await api('POST', '', { name: 'acme-am-ha' });
      await api('PUT', '/acme-am-ha/settings/mail', { alertsEmailEnabled: true });
      const oncall = (
        await api('POST', '/acme-am-ha/users', { email: 'ha-oncall@example.com', name: 'On call', roles: ['Alerts Viewer'], timeZone: 'Asia/Kolkata' })
      ).id;
      await api('PUT', `/acme-am-ha/users/${oncall}/alert-preferences`, { email: { fatalImmediately: true } });
      const source = await api('POST', '/acme-am-ha/sources', { name: 'Prometheus HA', kind: 'alertmanager' });
      const pair = await Promise.all(
        ['a', 'b'].map((name) => startAlertmanager(path.join(dataDir, `ha-${name}`), app.url + new URL(source.url).pathname, source.secret)),
      );
      // Prometheus posts the same alert, with the time it started firing, to each of the pair.
      const startsAt = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000);
      const alert = {
        labels: { alertname: 'PairHostDown', instance: 'vm9', severity: 'critical' },
        annotations: { summary: 'vm9 is down' },
        startsAt: startsAt.toISOString(),
      };
      for (const url of pair) {
        const posted = await fetch(`${url}/api/v2/alerts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify([alert]),
        });
        expect(posted.status).toBe(200);
      }
      // Both deliveries are in: each is a reception of the source.
      await vi.waitFor(async () => expect((await api('GET', `/acme-am-ha/sources/${source.id}`)).stats.accepted, amLog).toBe(2), {
        timeout: 20_000,
        interval: 100,
      });
      expect((await api('GET', '/acme-am-ha/alerts?event=PairHostDown')).items).toHaveLength(1);
      const fatalEmails = async () => smtp.messages.filter((m) => m.envelope.to.includes('ha-oncall@example.com'));
      await vi.waitFor(async () => expect(await fatalEmails()).toHaveLength(1), { timeout: 20_000, interval: 100 });
      // The second delivery stored nothing, so nothing more is queued for it.
      const queued = (await api('GET', '/acme-am-ha/deliveries?limit=100')).items as Record<string, any>[];
      expect(queued.filter((d) => d.kind === 'immediate' && d.recipient === 'ha-oncall@example.com')).toHaveLength(1);
      const mail = await simpleParser((await fatalEmails())[0]!.raw);
      const local = new Intl.DateTimeFormat('en', { timeZone: 'Asia/Kolkata', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(startsAt);
      expect(mail.text).toContain(local);
      expect(mail.text).toContain('UTC+05:30');
    },
    90_000,
  );

  /** startAlertmanager runs one Alertmanager, not clustered, whose receiver is Tocsin's source as README configures it, and gives its URL. */
  async function startAlertmanager(dir: string, receiveUrl: string, secret: string): Promise<string> {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'alertmanager.yml'), alertmanagerYaml(receiveUrl, secret));
    const port = await freePort();
    const child = spawn(
      ALERTMANAGER,
      [
        `--config.file=${path.join(dir, 'alertmanager.yml')}`,
        `--storage.path=${path.join(dir, 'am-data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    alertmanagers.push(child);
    child.stderr!.on('data', (chunk: Buffer) => (amLog += chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    await vi.waitFor(
      async () => {
        expect(child.exitCode, amLog).toBeNull();
        expect((await fetch(`${url}/-/ready`)).ok).toBe(true);
      },
      { timeout: 20_000, interval: 100 },
    );
    return url;
  }
});
