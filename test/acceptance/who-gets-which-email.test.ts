/**
 * Who gets which email, against a model written from the spec (test/support/recipient-model.ts):
 * seeded random scenarios of a few people and groups, alerts over a few summary windows and a
 * daily report, with preferences, rules, mutes, snoozes, roles and activity changing between the
 * alerts, repeats of dedup keys and stops of the server over window ends, run through the real
 * server (HTTP in, a real SMTP server out) on a fake clock, and every email received compared with
 * the model's: its recipient, kind, language and the alerts in it (a flood's line by its count).
 * TOCSIN_MODEL_SEEDS=1-300 runs other seeds (a range or a comma list) than the committed handful.
 */
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Tocsin, startTocsin } from '../../src/server.js';
import { FakeClock } from '../../src/shared/clock.js';
import { ADMIN_TOKEN, REPORTS_SOON, tenantsRequest } from '../support/http.js';
import {
  CUSTOM_ROLES,
  type ExpectedEmail,
  type Language,
  type Plan,
  type StepAnswer,
  expectedEmails,
  messageOf,
  processOf,
} from '../support/recipient-model.js';
import { scenarioPlan } from '../support/recipient-scenarios.js';
import { type TestSmtpServer, startTestSmtpServer } from '../support/smtp-servers.js';
import { type TestDatabase, createTestDatabase, describeEachDialect } from '../support/storage.js';
import { until } from '../support/until.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';

const SEEDS = seedsFrom(process.env.TOCSIN_MODEL_SEEDS ?? '137,192,485');

/** seedsFrom reads a list of seeds and ranges, in ascending order: each scenario lives days after the one before, on one clock that only goes forward. */
function seedsFrom(text: string): number[] {
  const seeds = text.split(',').flatMap((part) => {
    const [low, high = low] = part.split('-').map(Number);
    return Array.from({ length: high! - low! + 1 }, (_, i) => low! + i);
  });
  return [...new Set(seeds)].sort((a, b) => a - b);
}

/** Lines by which an email says its language: the reports' footer, and the mail-health notices' unsubscribe line. */
const LANGUAGE_LINES: Record<Language, readonly string[]> = {
  en: ['Sent by Tocsin', 'Unsubscribe from notices about the mail server'],
  fr: ['Envoyé par Tocsin', 'Se désabonner des avis sur le serveur de messagerie'],
  de: ['Gesendet von Tocsin', 'Hinweise zum Mailserver abbestellen'],
  es: ['Enviado por Tocsin', 'Cancelar la suscripción a los avisos sobre el servidor de correo'],
  ja: ['Tocsin から送信', 'メール サーバーに関するお知らせの配信を停止'],
};

/**
 * received reads what an email says in the model's terms: an alert by the key in its message, or
 * by its dedup key (`dedupKeys`, by alert key), with in a summary the count its line gives (`×N`).
 */
function received(mail: ParsedMail, to: string, dedupKeys: ReadonlyMap<string, string>): Omit<ExpectedEmail, 'at'> {
  const text = mail.text ?? '';
  const kind = mail.headers.get('x-tocsin-kind') as ExpectedEmail['kind'];
  const language = (Object.entries(LANGUAGE_LINES).find(([, lines]) => lines.some((l) => text.includes(l)))?.[0] ?? '?') as Language;
  if (kind === 'mail-health') return { to, kind, language };
  if (kind === 'daily') {
    const rows = [...text.matchAll(/^ +(\d+) {2}\[/gm)].map((m) => Number(m[1])).sort((x, y) => y - x);
    return { to, kind, language, rows };
  }
  const lines = text.split('\n');
  const alerts = [
    ...new Set(
      lines.flatMap((l, i) => {
        const key = l.match(/^ {2}msg-(a\d+) /)?.[1];
        if (key === undefined) return [];
        const dedupKey = dedupKeys.get(key);
        if (dedupKey === undefined) return [key];
        return kind === 'summary' ? [`${dedupKey}×${lines[i - 1]?.match(/ ×(\d+)$/)?.[1] ?? 1}`] : [dedupKey];
      }),
    ),
  ];
  // Tocsin's own alert of a mail incident, by its event in the lines' links.
  if (text.includes('event=Mail.DeliveryFailing')) alerts.push('health');
  alerts.sort();
  return { to, kind, language, alerts };
}

const line = (e: Omit<ExpectedEmail, 'at'>) => `${e.kind} ${e.to} ${e.language} ${e.alerts ? `[${e.alerts.join(' ')}]` : `rows ${JSON.stringify(e.rows)}`}`;

/** story tells a plan one line a step, for a failure's message. */
const story = (plan: Plan) =>
  [
    `${plan.tenant} ${plan.timeZone} ${plan.language} email ${plan.alertsEmailEnabled} empty-daily ${plan.sendEmptyDailyReport} windows ${plan.windows}`,
    ...plan.users.map((u, i) => `user ${i}: ${JSON.stringify(u)}`),
    ...plan.groups.map((g, i) => `group ${i}: ${JSON.stringify(g)}`),
    ...plan.steps.map((s) => `+${Math.round((s.at - plan.start) / 1000)}s ${JSON.stringify({ ...s, at: undefined })}`),
  ].join('\n');

describeEachDialect('who gets which email, against the spec’s model', (dialect) => {
  let smtp: TestSmtpServer;
  /** A tenant's own server refusing every email for good, as a rejected sender or a suspended account is. */
  let refusing: TestSmtpServer;
  let database: TestDatabase;
  let tocsin: Tocsin;
  let dataDir: string;
  let config: ReturnType<typeof loadConfig>;
  const clock = new FakeClock(Date.parse('2027-01-01T00:00:00Z'));
  let request: ReturnType<typeof tenantsRequest>;

  beforeAll(async () => {
    smtp = await startTestSmtpServer();
    refusing = await startTestSmtpServer({ failures: [{ at: 'mail', code: 554, message: '5.7.1 Sender refused' }] });
    database = await createTestDatabase(dialect, { migrated: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-model-'));
    config = loadConfig({
      DATABASE_URL: database.url,
      TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
      TOCSIN_DATA_DIR: dataDir,
      TOCSIN_SMTP_URL: `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com`,
      TOCSIN_PUBLIC_URL: 'https://tocsin.example.com',
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    await start();
  });
  /** start starts Tocsin on the scenarios' database and clock (again after a stop). */
  async function start() {
    tocsin = await startTocsin(config, { ...REPORTS_SOON, listen: true, clock, logger: pino({ level: 'silent' }) });
    request = tenantsRequest(tocsin.url!, ADMIN_TOKEN);
  }
  afterAll(async () => {
    await tocsin?.close();
    await smtp?.close();
    await refusing?.close();
    await database?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** run drives the real server through a plan and returns the emails it sent, in the model's terms. */
  async function run(plan: Plan, answers: readonly StepAnswer[]): Promise<Omit<ExpectedEmail, 'at'>[]> {
    const t = `/${plan.tenant}`;
    const ok = async (method: string, url: string, body?: unknown, token?: string) => {
      const res = await request(method, url, body, token);
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}: ${JSON.stringify(res.json)}`).toBeLessThan(300);
      return res.json as any;
    };
    clock.set(plan.start + 30_000);
    const tenantId = (await ok('POST', '', { name: plan.tenant, timeZone: plan.timeZone, language: plan.language })).id as string;
    const dailyTime = new Intl.DateTimeFormat('en-GB', {
      timeZone: plan.timeZone,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }).format(plan.dailyAt);
    await ok('PUT', `${t}/settings/mail`, {
      alertsEmailEnabled: plan.alertsEmailEnabled,
      dailyReportTime: dailyTime,
      sendEmptyDailyReport: plan.sendEmptyDailyReport,
    });
    const ownServer = (port: number) => ({
      useCustom: true,
      custom: { host: '127.0.0.1', port, security: 'none', fromAddress: `alerts@${plan.tenant}.example.com` },
    });
    if (plan.ownSmtp) await ok('PUT', `${t}/settings/mail`, ownServer(smtp.port));
    const roleIds = new Map<string, string>();
    for (const [name, permissions] of Object.entries(CUSTOM_ROLES)) roleIds.set(name, (await ok('POST', `${t}/roles`, { name, permissions })).id);
    const userIds: string[] = [];
    const tokens: string[] = [];
    for (const u of plan.users) {
      const { preferences, ...fields } = u;
      const id = (await ok('POST', `${t}/users`, { ...fields, name: u.email.split('@')[0] })).id as string;
      userIds.push(id);
      tokens.push((await ok('POST', `${t}/users/${id}/tokens`, { name: 'model' })).token);
      if (preferences) await ok('PUT', `${t}/users/${id}/alert-preferences`, preferences);
    }
    const groupIds: string[] = [];
    for (const g of plan.groups) {
      const { rules, members, ...fields } = g;
      const id = (await ok('POST', `${t}/groups`, { ...fields, members: members.map((m) => userIds[m]) })).id as string;
      groupIds.push(id);
      if (rules) await ok('PUT', `${t}/groups/${id}/alert-preferences`, rules);
    }
    const alertIds = new Map<string, string>();
    /** The mutes and snoozes made, by the plan's key: their id, end and (a snooze) owner. */
    const mutesMade = new Map<string, { id: string; until: number; owner?: number }>();

    const decided = (kind: string, end: number) => async () =>
      (
        await tocsin.deps.storage.db
          .selectFrom('report_windows')
          .select('window_end')
          .where('tenant_id', '=', tenantId)
          .where('kind', '=', kind)
          .where('window_end', '>=', end)
          .execute()
      ).length > 0;
    const mailOf = async () => {
      const mails = smtp.messages.filter((m) => m.raw.includes(`X-Tocsin-Tenant: ${plan.tenant}\r\n`));
      return mails;
    };
    const drained = async () => {
      await until(async () => {
        const rows = await tocsin.deps.storage.db.selectFrom('deliveries').select('status').where('tenant_id', '=', tenantId).execute();
        const sent = rows.filter((r) => r.status === 'sent').length;
        return rows.every((r) => r.status === 'sent' || r.status === 'failed') && (await mailOf()).length >= sent;
      }, `the emails of ${plan.tenant} sent`);
    };

    let window = 0;
    const windowEnd = (w: number) => plan.start + (w + 1) * plan.windowMs;
    const closeWindow = async () => {
      clock.set(windowEnd(window) + 1_500);
      await until(decided('summary', windowEnd(window)), `the summary window ending ${new Date(windowEnd(window)).toISOString()} decided`);
      await drained();
      window += 1;
    };
    for (const [i, step] of plan.steps.entries()) {
      while (step.at >= windowEnd(window)) await closeWindow();
      clock.set(step.at);
      const want = answers[i];
      const expectAnswer = async (method: string, url: string, body?: unknown, token?: string) => {
        const res = await request(method, url, body, token);
        const got = res.status < 300 ? 'ok' : res.status < 500 ? 'refused' : `${res.status}`;
        expect(got, `step ${i} ${JSON.stringify(step)}: ${res.status} ${JSON.stringify(res.json)}`).toBe(want);
        return res.json as any;
      };
      switch (step.do) {
        case 'raise': {
          const alerts = step.alerts.map((a) => ({
            severity: a.severity,
            component: a.component,
            event: a.event,
            message: messageOf(a),
            source: { process: processOf(a), ...(a.robot ? { robot: a.robot } : {}), ...(a.queue ? { queue: a.queue } : {}) },
            ...(a.dedupKey ? { dedupKey: a.dedupKey } : {}),
            ...(a.lateMs ? { occurredAt: new Date(step.at - a.lateMs).toISOString() } : {}),
          }));
          const { ids } = await expectAnswer('POST', `${t}/alerts`, { alerts });
          step.alerts.forEach((a, n) => {
            alertIds.set(a.key, ids[n]);
          });
          await tocsin.decisionsSettled();
          await drained();
          break;
        }
        case 'preferences':
          await expectAnswer('PUT', `${t}/users/${userIds[step.user]}/alert-preferences`, step.body);
          break;
        case 'group-rules':
          await expectAnswer('PUT', `${t}/groups/${groupIds[step.group]}/alert-preferences`, step.body);
          break;
        case 'mute':
          mutesMade.set(step.key, {
            id: (await expectAnswer('POST', `${t}/mutes`, { scope: 'tenant', match: step.match, until: new Date(step.until).toISOString() })).id,
            until: step.until,
          });
          break;
        case 'snooze': {
          const made = await expectAnswer(
            'POST',
            `${t}/mutes`,
            { scope: 'user', match: step.match, until: new Date(step.until).toISOString() },
            tokens[step.user],
          );
          if (want === 'ok') mutesMade.set(step.key, { id: made.id, until: step.until, owner: step.user });
          break;
        }
        case 'unmute': {
          // A mute that ended (or was never made, a snooze refused, or went with its owner) is nothing to delete.
          const made = mutesMade.get(step.key);
          if (made && step.at < made.until) await expectAnswer('DELETE', `${t}/mutes/${made.id}`);
          mutesMade.delete(step.key);
          break;
        }
        case 'acknowledge':
          await expectAnswer('POST', `${t}/alerts/${alertIds.get(step.alert)}/acknowledge`, {}, tokens[step.user]);
          break;
        case 'read':
          await expectAnswer('POST', `${t}/alerts/mark-read`, { ids: [alertIds.get(step.alert)] }, tokens[step.user]);
          break;
        case 'patch-user':
          await expectAnswer('PATCH', `${t}/users/${userIds[step.user]}`, step.patch);
          break;
        case 'members':
          await expectAnswer('PATCH', `${t}/groups/${groupIds[step.group]}`, { members: step.members.map((m) => userIds[m]) });
          break;
        case 'alerts-email':
          await expectAnswer('PUT', `${t}/settings/mail`, { alertsEmailEnabled: step.enabled });
          break;
        case 'delete-alert':
          await expectAnswer('DELETE', `${t}/alerts/${alertIds.get(step.alert)}`);
          break;
        case 'delete-user':
          await expectAnswer('DELETE', `${t}/users/${userIds[step.user]}`);
          // Its snoozes went with it.
          for (const [key, made] of mutesMade) if (made.owner === step.user) mutesMade.delete(key);
          break;
        case 'delete-group':
          await expectAnswer('DELETE', `${t}/groups/${groupIds[step.group]}`);
          break;
        case 'role-permissions':
          await expectAnswer('PATCH', `${t}/roles/${roleIds.get(step.role)}`, { permissions: step.permissions });
          break;
        case 'tenant-language':
          await expectAnswer('PATCH', t, { language: step.language });
          break;
        case 'patch-group':
          await expectAnswer('PATCH', `${t}/groups/${groupIds[step.group]}`, step.patch);
          break;
        case 'smtp':
          await expectAnswer('PUT', `${t}/settings/mail`, ownServer(step.failing ? refusing.port : smtp.port));
          break;
        case 'restart': {
          await tocsin.close();
          clock.set(step.until);
          await start();
          // The windows that ended while it was stopped: one catch-up, decided as it starts.
          const first = window;
          while (window < plan.windows && windowEnd(window) <= step.until) window += 1;
          if (window > first) {
            await until(decided('summary', windowEnd(window - 1)), `the catch-up summary to ${new Date(windowEnd(window - 1)).toISOString()} decided`);
            await drained();
          }
          break;
        }
        case 'unsubscribe': {
          const last = (await mailOf()).filter((m) => m.envelope.to[0] === step.to && m.raw.includes(`X-Tocsin-Kind: ${step.kind}\r\n`)).at(-1);
          const link = last?.raw.match(/^List-Unsubscribe:\s+<https:\/\/tocsin\.example\.com(\/unsubscribe\/[^>]+)>/m)?.[1];
          if (last) expect(link, 'a List-Unsubscribe link').toBeTruthy();
          if (link) {
            const res = await fetch(`${tocsin.url}${link}`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: 'List-Unsubscribe=One-Click',
            });
            expect(res.status, `unsubscribe ${step.to} from ${step.kind}`).toBe(200);
          }
          break;
        }
      }
    }
    while (window < plan.windows) await closeWindow();
    // Unless a restart after the report's time sent it (and the clock is there already).
    clock.set(Math.max(clock.now(), plan.dailyAt + 1_500));
    await until(decided('daily', plan.dailyAt), `the daily report at ${new Date(plan.dailyAt).toISOString()} decided`);
    await drained();
    const dedupKeys = new Map(plan.steps.flatMap((s) => (s.do === 'raise' ? s.alerts.flatMap((a) => (a.dedupKey ? [[a.key, a.dedupKey] as const] : [])) : [])));
    const mails = await Promise.all((await mailOf()).map(async (m) => received(await simpleParser(m.raw), m.envelope.to[0]!, dedupKeys)));
    await ok('DELETE', t);
    return mails;
  }

  it.each(SEEDS)('scenario %i: every email as the model says', async (seed) => {
    const plan = scenarioPlan(seed);
    const { emails, answers } = expectedEmails(plan);
    const got = await run(plan, answers);
    const expected = emails.map(({ at, ...e }) => e);
    const [gotLines, expectedLines] = [got.map(line).sort(), expected.map(line).sort()];
    const only = (a: string[], b: string[]) => a.filter((x) => !b.includes(x));
    expect(
      gotLines,
      `Tocsin only: ${only(gotLines, expectedLines).join('; ')}\nmodel only: ${only(expectedLines, gotLines).join('; ')}\n${story(plan)}`,
    ).toEqual(expectedLines);
  });
});
