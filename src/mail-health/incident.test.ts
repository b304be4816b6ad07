/**
 * The SMTP-health incident with real SMTP servers on both databases (issue 13): the tenant's server
 * refuses a changed password (535), then answers 451 for 20 minutes of simulated time, and
 * recovers. Each incident raises one alert and sends the administrator exactly one warning and one
 * recovery notice, through the system default, even when the worker restarts in the middle.
 */
import fs from 'node:fs';
import os from 'node:os';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { AttemptRecorder } from '../delivery/outbox/attempt-recorder.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { testDelivery } from '../../test/support/outbox-fixtures.js';
import { DeliveryWorker } from '../delivery/outbox/worker.js';
import { DEFAULT_BREAKER_POLICY } from '../delivery/outbox/circuit-breaker.js';
import { createMailSender } from '../delivery/smtp/sender.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { startTcpProxy } from '../../test/support/tcp-proxy.js';
import { until } from '../../test/support/until.js';
import { type EndpointContext, endpointContext, resolveEndpoint, resolveSystemEndpoint } from '../settings/endpoint.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { FALLBACK_NOTE, FALLBACK_REFUSED_NOTE } from '../delivery/outbox/attempt.js';
import { mailHealthAfterRecord, mailHealthHeldOut } from './store.js';
import { SecretBox } from '../settings/secret-box.js';

const T0 = Date.UTC(2026, 10, 30, 9);
const PASSWORD = 'n3w-passw0rd-after-rotation';
const MINUTE = 60_000;

describeEachDialect('the SMTP-health incident', (dialect) => {
  let t: TestApp;
  let system: TestSmtpServer;
  let own: TestSmtpServer;
  let busy: TestSmtpServer;
  let acme: { tenantId: string; token: string };
  const clock = new FakeClock(T0);
  const sender = createMailSender();

  beforeAll(async () => {
    system = await startTestSmtpServer();
    own = await startTestSmtpServer({ auth: { username: 'robot', password: PASSWORD } });
    busy = await startTestSmtpServer({ failures: [{ at: 'mail', code: 451, message: '4.3.0 mailbox busy, try later' }] });
    // An api-only app: the test's workers, on a fake clock, are the only ones that send.
    t = await startTestApp(dialect, {
      TOCSIN_ROLE: 'api',
      TOCSIN_SMTP_URL: `smtp://127.0.0.1:${system.port}?from=tocsin@example.com`,
      TOCSIN_PUBLIC_URL: 'https://tocsin.example.com',
    });
    acme = await t.tenantWithUser('acme');
    await t.enableAlertEmails('acme');
  });
  afterAll(async () => {
    await sender.close();
    await t.close();
    await Promise.all([system.close(), own.close(), busy.close()]);
  });

  const useServer = async (server: { readonly port: number }, extra: Record<string, unknown> = {}, tenant = 'acme') => {
    const custom = { host: '127.0.0.1', port: server.port, security: 'none', allowPlaintextAuth: true, fromAddress: `alerts@${tenant}.example.com`, ...extra };
    const res = await t.call('PUT', `/api/v1/tenants/${tenant}/settings/mail`, { useCustom: true, custom });
    expect(res.statusCode, res.body).toBe(200);
  };

  /** A worker as the pipeline builds one; a new one is a restarted process (its breakers and caches forgotten). */
  const startWorker = (breaker = { ...DEFAULT_BREAKER_POLICY, failureThreshold: 1_000 }, contextChanges: Partial<EndpointContext> = {}) => {
    const { storage, secretBox, config, systemSmtp } = t.tocsin.deps;
    const context = { ...endpointContext(config, systemSmtp, clock), ...contextChanges };
    return new DeliveryWorker({
      storage,
      clock,
      sender,
      resolveEndpoint: (tenantId, route) =>
        route === 'system' ? resolveSystemEndpoint(storage.db, secretBox, context) : resolveEndpoint(storage.db, secretBox, tenantId, context),
      composers: {},
      recorder: new AttemptRecorder(storage, 0, mailHealthAfterRecord(storage.dialect, { publicUrl: config.publicUrl })),
      heldOut: mailHealthHeldOut(storage, { publicUrl: config.publicUrl }),
      // By default a breaker that never opens, so that it is the 15 minutes of transient failures that count here.
      settings: { breaker },
      random: () => 0.5,
    });
  };

  /**
   * failingNoticeText sends one immediate email of `tenant`'s through its (failing) server for 16 minutes of the
   * fake clock, the incident's 15 and one more, and returns the text part of the failing notice its administrator got.
   */
  const failingNoticeText = async (tenant: string, tenantId: string): Promise<string> => {
    const worker = startWorker();
    const noticesOf = () => notices().filter((m) => new RegExp(`^X-Tocsin-Tenant: ${tenant}`, 'im').test(m.raw));
    await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(tenantId, `ops@${tenant}.example.com`, { kind: 'immediate' })], clock);
    const start = clock.now();
    await worker.runOnce();
    while (clock.now() - start <= 16 * MINUTE) {
      clock.advance(MINUTE);
      await worker.runOnce();
    }
    await worker.runOnce();
    await until(() => noticesOf().length === 1, 'the failing notice');
    return (await simpleParser(noticesOf()[0]!.raw)).text!;
  };

  /** The refused email, retried at once, and the next one both leave through the system default (fallbackToDefault). */
  const sendsBothThroughTheDefault = async (
    worker: ReturnType<typeof startWorker>,
    email: () => Promise<unknown>,
    log: () => Promise<{ status: string; attempts: number; smtpResponse: string }[]>,
  ) => {
    await worker.runOnce();
    await email();
    await worker.runOnce();
    const [second, first] = await log();
    expect(first).toMatchObject({ status: 'sent', attempts: 2 });
    expect(second).toMatchObject({ status: 'sent', attempts: 1 });
    for (const item of [first!, second!]) expect(item.smtpResponse.startsWith(FALLBACK_NOTE)).toBe(true);
  };
  const alertEmail = () => enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(acme.tenantId, 'ops@acme.example.com', { kind: 'immediate' })], clock);
  const health = async () => (await t.call('GET', '/api/v1/tenants/acme/settings/mail/health', undefined, acme.token)).json();
  const notices = () => system.messages.filter((m) => /^X-Tocsin-Kind: mail-health/im.test(m.raw));
  const failingAlerts = async () =>
    await t.tocsin.deps.storage.db
      .selectFrom('alerts')
      .selectAll()
      .where('tenant_id', '=', acme.tenantId)
      .where('event', '=', 'Mail.DeliveryFailing')
      .execute();

  it('warns once through the system server when the password is refused, and once more when mail works again', async () => {
    await useServer(own, { username: 'robot', password: 'the-password-before-rotation' });
    let worker = startWorker();
    await alertEmail();
    await worker.runOnce();
    expect(await health()).toMatchObject({ state: 'failing', lastCode: 535 });
    const [alert] = await failingAlerts();
    expect(alert).toMatchObject({ component: 'Tocsin', severity: expect.anything() });
    expect(alert!.message).toMatch(/535/);
    // The warning is queued in the same commit and leaves through the system default.
    await worker.runOnce();
    await system.waitForMessages(1);
    const [warning] = notices();
    expect(warning!.envelope.to).toEqual([expect.stringMatching(/@acme\.example\.com$/)]);
    expect(warning!.raw).toMatch(/^X-Tocsin-Tenant: acme/im);
    expect(warning!.raw).toMatch(/^Message-ID: <.+@example\.com>/im);
    const text = (await simpleParser(warning!.raw)).text!;
    expect(text).toContain(`https://tocsin.example.com/#/settings/mail?tenant=${acme.tenantId}`);
    expect(text).toContain('535');

    // More refusals, and a restart: the same incident, no second warning.
    for (let i = 0; i < 3; i++) {
      clock.advance(5 * MINUTE);
      if (i === 1) worker = startWorker();
      await alertEmail();
      await worker.runOnce();
    }
    expect(notices()).toHaveLength(1);
    expect(await failingAlerts()).toHaveLength(1);

    // The administrator enters the new password: the next email gets through and mail works again.
    await useServer(own, { username: 'robot', password: PASSWORD });
    clock.advance(MINUTE);
    await alertEmail();
    await worker.runOnce();
    expect(await health()).toEqual({ state: 'ok', since: new Date(clock.now()).toISOString() });
    await worker.runOnce();
    await system.waitForMessages(2);
    expect(notices()).toHaveLength(2);
    expect((await simpleParser(notices()[1]!.raw)).subject).toMatch(/work again/);
  });

  it('warns after more than 15 minutes of 451, once across a restart, and recovers once', async () => {
    await useServer(busy);
    let worker = startWorker();
    const start = clock.now();
    for (let minute = 0; minute <= 20; minute += 5) {
      await alertEmail();
      await worker.runOnce();
      if (clock.now() - start <= 15 * MINUTE) expect((await health()).state, `minute ${minute}`).toBe('ok');
      if (minute === 10) worker = startWorker();
      clock.advance(5 * MINUTE + 1);
    }
    expect(await health()).toMatchObject({ state: 'failing', since: new Date(start).toISOString(), lastCode: 451 });
    await worker.runOnce();
    await system.waitForMessages(3);
    expect(notices()).toHaveLength(3);
    expect(await failingAlerts()).toHaveLength(2);

    await useServer(own);
    await alertEmail();
    await worker.runOnce();
    await worker.runOnce();
    await system.waitForMessages(4);
    expect(notices()).toHaveLength(4);
    expect((await health()).state).toBe('ok');
  });

  it('warns when one email has failed for now for more than 15 minutes, with no other email to tell it, not at its retry half an hour later', async () => {
    // A quiet tenant: one alert email, greylisted. Its retries (30 s, 2 min, 10 min, then every 30
    // min) found the run 12.5 minutes long, then 42.5: the mail was failing unseen for half an hour.
    const vandelay = await t.tenantWithUser('vandelay');
    await t.enableAlertEmails('vandelay');
    const greylisting = await startTestSmtpServer({ failures: [{ at: 'mail', code: 451, message: '4.7.1 Greylisted, try again later' }] });
    try {
      await useServer(greylisting, {}, 'vandelay');
      const worker = startWorker();
      const state = async () => (await t.call('GET', '/api/v1/tenants/vandelay/settings/mail/health', undefined, vandelay.token)).json();
      const noticesOf = () => notices().filter((m) => /^X-Tocsin-Tenant: vandelay/im.test(m.raw));
      await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(vandelay.tenantId, 'ops@vandelay.example.com', { kind: 'immediate' })], clock);
      const start = clock.now();
      await worker.runOnce();
      while (clock.now() - start <= 16 * MINUTE) {
        if (clock.now() - start <= 15 * MINUTE) expect((await state()).state, `at ${clock.now() - start} ms`).toBe('ok');
        clock.advance(MINUTE);
        await worker.runOnce();
      }
      expect(await state()).toMatchObject({ state: 'failing', since: new Date(start).toISOString(), lastCode: 451 });
      await worker.runOnce();
      await until(() => noticesOf().length === 1, 'the failing notice');
      // One try more than the ladder's, when the run passed 15 minutes.
      expect(greylisting.mailFromSeen).toHaveLength(5);
    } finally {
      await greylisting.close();
    }
  });

  it("words its Mail.DeliveryFailing alert in the tenant's language, as the console and the emails show it to its people", async () => {
    const gaumont = await t.tenantWithUser('gaumont');
    await t.enableAlertEmails('gaumont');
    expect((await t.call('PATCH', '/api/v1/tenants/gaumont', { language: 'fr' })).statusCode).toBe(200);
    await useServer(own, { username: 'robot', password: 'un-ancien-mot-de-passe' }, 'gaumont');
    await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(gaumont.tenantId, 'ops@gaumont.example.com', { kind: 'immediate' })], clock);
    await startWorker().runOnce();
    const [alert] = await t.tocsin.deps.storage.db
      .selectFrom('alerts')
      .select('message')
      .where('tenant_id', '=', gaumont.tenantId)
      .where('event', '=', 'Mail.DeliveryFailing')
      .execute();
    expect(alert!.message).toMatch(/^Les e-mails d’alerte échouent\. Dernière réponse du serveur de messagerie\u202f: 535 /);
  });

  it("explains to a French administrator, in French, that no server answered when the connection is refused, with Node's own words", async () => {
    const pathe = await t.tenantWithUser('pathe');
    await t.enableAlertEmails('pathe');
    expect((await t.call('PATCH', '/api/v1/tenants/pathe', { language: 'fr' })).statusCode).toBe(200);
    // A loopback port that nothing listens on any more: every connection is refused (ECONNREFUSED).
    const gone = await startTestSmtpServer();
    const port = gone.port;
    await gone.close();
    await useServer({ port }, {}, 'pathe');
    // Refused connections fail for now: the incident begins once they have gone on for more than 15 minutes.
    const text = await failingNoticeText('pathe', pathe.tenantId);
    expect(text).toContain(
      `Dernière erreur\u202f: le serveur a refusé la connexion\u202f: rien n’accepte de connexion sur cet hôte et ce port (vérifiez l’hôte, le port et le pare-feu) (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
    expect(text).not.toContain('Dernière réponse');
    expect(text).not.toContain('the server refused the connection');
    // The API keeps Tocsin's English sentence, as before.
    const state = (await t.call('GET', '/api/v1/tenants/pathe/settings/mail/health', undefined, pathe.token)).json();
    expect(state.lastError).toContain(`connect ECONNREFUSED 127.0.0.1:${port}: the server refused the connection`);
  });

  it('explains to a French administrator, in French, that the server greeted and then hung up without a word, not under its last reply', async () => {
    const lumiere = await t.tenantWithUser('lumiere');
    await t.enableAlertEmails('lumiere');
    expect((await t.call('PATCH', '/api/v1/tenants/lumiere', { language: 'fr' })).statusCode).toBe(200);
    // A server that greets, then closes every connection at MAIL FROM without replying.
    const hangingUp = await startTestSmtpServer({ dropAtMailFrom: Number.POSITIVE_INFINITY });
    try {
      await useServer(hangingUp, {}, 'lumiere');
      // Hang-ups fail for now: the incident begins once they have gone on for more than 15 minutes.
      const text = await failingNoticeText('lumiere', lumiere.tenantId);
      expect(text).toContain('Dernière erreur\u202f: le serveur a accueilli la connexion, puis l’a fermée sans répondre (MAIL FROM: ');
      expect(text).not.toContain('Dernière réponse');
      expect(text).not.toContain('the server closed the connection');
    } finally {
      await hangingUp.close();
    }
  });

  it('sends the emails waiting for a retry as soon as mail works again, not at their next try up to 30 minutes later', async () => {
    const wayne = await t.tenantWithUser('wayne');
    await t.enableAlertEmails('wayne');
    // The tenant's server goes down (connections hung up on) and comes back with the same settings: nobody saves anything.
    const outage = await startTcpProxy(own.port);
    try {
      await useServer(outage, { username: 'robot', password: PASSWORD }, 'wayne');
      outage.cut();
      const worker = startWorker();
      const email = () => enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(wayne.tenantId, 'ops@wayne.example.com', { kind: 'immediate' })], clock);
      for (let minute = 0; minute <= 20; minute += 5) {
        if (minute > 0) clock.advance(5 * MINUTE + 1);
        await email();
        await worker.runOnce();
      }
      const waiting = () =>
        t.tocsin.deps.storage.db
          .selectFrom('deliveries')
          .select(['status', 'next_attempt_at'])
          .where('tenant_id', '=', wayne.tenantId)
          .where('kind', '=', 'immediate')
          .where('status', '<>', 'sent')
          .execute();
      expect((await t.call('GET', '/api/v1/tenants/wayne/settings/mail/health', undefined, wayne.token)).json().state).toBe('failing');
      expect((await waiting()).every((d) => d.status === 'retrying' && d.next_attempt_at > clock.now())).toBe(true);

      // Back: the next email gets through and ends the incident, and the five waiting go out with it, not in up to 30 minutes.
      outage.restore();
      await email();
      await worker.runOnce();
      expect((await t.call('GET', '/api/v1/tenants/wayne/settings/mail/health', undefined, wayne.token)).json().state).toBe('ok');
      await worker.runOnce();
      expect(await waiting()).toEqual([]);
    } finally {
      await outage.close();
    }
  });

  it('sends the emails its server failed as a whole as soon as another gets through after a short outage, with no incident', async () => {
    const wonka = await t.tenantWithUser('wonka');
    await t.enableAlertEmails('wonka');
    const server = await startTestSmtpServer({ failures: [{ at: 'rcpt', code: 452, message: '4.2.2 Mailbox full', address: 'full@wonka.example.com' }] });
    // The server is away for a few minutes (connections hung up on), well under the quarter of an hour that makes an incident.
    const outage = await startTcpProxy(server.port);
    try {
      await useServer(outage, {}, 'wonka');
      outage.cut();
      const worker = startWorker();
      const email = (to = 'ops@wonka.example.com') =>
        enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(wonka.tenantId, to, { kind: 'immediate' })], clock);
      const waiting = () =>
        t.tocsin.deps.storage.db
          .selectFrom('deliveries')
          .select(['recipient_address', 'status', 'attempts', 'next_attempt_at'])
          .where('tenant_id', '=', wonka.tenantId)
          .where('status', '<>', 'sent')
          .execute();
      await email();
      await worker.runOnce();
      clock.advance(MINUTE);
      await worker.runOnce();
      // Two tries failed: the next is minutes away.
      expect(await waiting()).toEqual([expect.objectContaining({ status: 'retrying', attempts: 2 })]);
      expect((await waiting())[0]!.next_attempt_at).toBeGreaterThan(clock.now() + MINUTE);
      expect((await t.call('GET', '/api/v1/tenants/wonka/settings/mail/health', undefined, wonka.token)).json().state).toBe('ok');

      // Back: the next alert email gets through, and the one waiting goes with it, not minutes later.
      outage.restore();
      clock.advance(MINUTE);
      await email();
      await worker.runOnce();
      await worker.runOnce();
      expect(await waiting()).toEqual([]);

      // A full mailbox is that mailbox's: another email getting through does not bring its retry forward.
      await email('full@wonka.example.com');
      await worker.runOnce();
      await email();
      await worker.runOnce();
      await worker.runOnce();
      const [full] = await waiting();
      expect(full).toMatchObject({ recipient_address: 'full@wonka.example.com', status: 'retrying', attempts: 1 });
      expect(full!.next_attempt_at).toBeGreaterThan(clock.now());
    } finally {
      await outage.close();
      await server.close();
    }
  });

  it('sends the alert emails through the system default while the own server refuses for good, the first refused one included, when the tenant asks for it', async () => {
    await t.call('PUT', '/api/v1/tenants/acme/settings/mail', { fallbackToDefault: true });
    await useServer(own, { username: 'robot', password: 'wrong-again' });
    const worker = startWorker();
    const before = system.messages.length;
    await alertEmail();
    await worker.runOnce();
    expect((await health()).state).toBe('failing');
    const log = async () => (await t.call('GET', '/api/v1/tenants/acme/deliveries?kind=immediate&limit=2', undefined, acme.token)).json().items;
    // The email the server refused goes again at once, through the system default: none is lost to the refusal.
    expect((await log())[0]).toMatchObject({ status: 'retrying', attempts: 1, lastCode: 535 });
    await sendsBothThroughTheDefault(worker, alertEmail, log);
    expect(system.messages.length).toBeGreaterThan(before);
    // Still failing: the fallback says nothing about the tenant's own server.
    expect((await health()).state).toBe('failing');
  });

  it('gives every notice a one-click unsubscribe link, after which that administrator gets no more', async () => {
    const sent = notices();
    expect(sent.length).toBeGreaterThan(0);
    // (A long header is folded: the link may start on the next line.)
    for (const notice of sent) {
      expect(notice.raw).toMatch(/^List-Unsubscribe:\s*<https:\/\/tocsin\.example\.com\/unsubscribe\/[\w-]+>/im);
      expect(notice.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click/im);
    }
    const link = /^List-Unsubscribe:\s*<https:\/\/tocsin\.example\.com(\/unsubscribe\/[\w-]+)>/im.exec(sent.at(-1)!.raw)![1]!;
    const page = await t.tocsin.app.inject({ method: 'GET', url: link });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toMatch(/alert preferences/);
    const done = await t.tocsin.app.inject({
      method: 'POST',
      url: link,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(done.statusCode).toBe(200);

    // Mail works again: the recovery is recorded, and in the same commit no notice is queued for them.
    const queued = () =>
      t.tocsin.deps.storage.db.selectFrom('deliveries').select('id').where('tenant_id', '=', acme.tenantId).where('kind', '=', 'mail-health').execute();
    const before = (await queued()).length;
    await t.call('PUT', '/api/v1/tenants/acme/settings/mail', { fallbackToDefault: false });
    await useServer(own, { username: 'robot', password: PASSWORD });
    const worker = startWorker();
    await alertEmail();
    await worker.runOnce();
    expect((await health()).state).toBe('ok');
    expect(await queued()).toHaveLength(before);
  });

  it('tells no one of a burst of failures that opens the breaker while the server restarts, once it works again', async () => {
    const hooli = await t.tenantWithUser('hooli');
    await t.enableAlertEmails('hooli');
    // Its first connection is refused with a 421: every email of the burst waiting for it fails at once.
    const restarting = await startTestSmtpServer({ failures: [{ at: 'connect', code: 421, message: '4.3.2 Restarting, try again', times: 1 }] });
    try {
      await useServer(restarting, {}, 'hooli');
      const worker = startWorker(DEFAULT_BREAKER_POLICY);
      const burst = Array.from({ length: DEFAULT_BREAKER_POLICY.failureThreshold }, () =>
        testDelivery(hooli.tenantId, 'ops@hooli.example.com', { kind: 'immediate' }),
      );
      await enqueueDeliveries(t.tocsin.deps.storage.db, burst, clock);
      await worker.runOnce();
      const state = async () => (await t.call('GET', '/api/v1/tenants/hooli/settings/mail/health', undefined, hooli.token)).json().state;
      expect(await state()).toBe('ok');
      // The breaker's cool-down and the first retry pass: the server is back, and the burst goes out.
      clock.advance(DEFAULT_BREAKER_POLICY.initialCooldownMs);
      while ((await worker.runOnce()) > 0) clock.advance(DEFAULT_BREAKER_POLICY.initialCooldownMs);
      expect(restarting.messages).toHaveLength(burst.length);
      expect(await state()).toBe('ok');
      const told = await t.tocsin.deps.storage.db
        .selectFrom('deliveries')
        .select('id')
        .where('tenant_id', '=', hooli.tenantId)
        .where('kind', '=', 'mail-health')
        .execute();
      expect(told).toEqual([]);
    } finally {
      await restarting.close();
    }
  });

  it('ends the incident when a test of the saved settings gets through, without waiting for an alert email', async () => {
    const umbrella = await t.tenantWithUser('umbrella');
    await t.enableAlertEmails('umbrella');
    const state = async () => (await t.call('GET', '/api/v1/tenants/umbrella/settings/mail/health', undefined, umbrella.token)).json().state;
    const noticesOf = () => notices().filter((m) => /^X-Tocsin-Tenant: umbrella/im.test(m.raw));
    await useServer(own, { username: 'robot', password: 'not-the-password' }, 'umbrella');
    const worker = startWorker();
    await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(umbrella.tenantId, 'ops@umbrella.example.com', { kind: 'immediate' })], clock);
    await worker.runOnce();
    expect(await state()).toBe('failing');
    await worker.runOnce();
    expect(noticesOf()).toHaveLength(1);

    // The administrator saves the right password and tests it: no alert email is due, yet the test proves mail works.
    await useServer(own, { username: 'robot', password: PASSWORD }, 'umbrella');
    const test = await t.call('POST', '/api/v1/tenants/umbrella/settings/mail/test', {}, umbrella.token);
    expect(test.json()).toMatchObject({ ok: true });
    expect(await state()).toBe('ok');
    const before = system.messages.length;
    // The test was recorded on the app's own clock, the real one: the worker's catches up with it.
    clock.set(Math.max(clock.now(), Date.now()));
    await worker.runOnce();
    await system.waitForMessages(before + 1);
    expect(noticesOf()).toHaveLength(2);
    expect((await simpleParser(noticesOf()[1]!.raw)).subject).toMatch(/work again/);
  });

  it('ends the incident when the console tests the saved values, which it sends back as its form shows them, and not on a test of other values', async () => {
    const initech = await t.tenantWithUser('initech');
    await t.enableAlertEmails('initech');
    const state = async () => (await t.call('GET', '/api/v1/tenants/initech/settings/mail/health', undefined, initech.token)).json().state;
    await useServer(own, { username: 'robot', password: 'not-the-password' }, 'initech');
    const worker = startWorker();
    await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(initech.tenantId, 'ops@initech.example.com', { kind: 'immediate' })], clock);
    await worker.runOnce();
    expect(await state()).toBe('failing');
    await useServer(own, { username: 'robot', password: PASSWORD }, 'initech');
    // The Mail tab sends its form whenever custom settings are chosen: the saved values, the password left out.
    const form = {
      host: '127.0.0.1',
      port: own.port,
      security: 'none',
      domain: null,
      username: 'robot',
      authMethod: 'auto',
      fromAddress: 'alerts@initech.example.com',
      fromDisplayName: null,
      allowPlaintextAuth: true,
      timeoutMs: 30_000,
    };
    // Other values that get through prove nothing of the saved ones.
    const other = await t.call('POST', '/api/v1/tenants/initech/settings/mail/test', { settings: { ...form, fromDisplayName: 'Not saved' } }, initech.token);
    expect(other.json()).toMatchObject({ ok: true });
    expect(await state()).toBe('failing');
    const test = await t.call('POST', '/api/v1/tenants/initech/settings/mail/test', { settings: form }, initech.token);
    expect(test.json()).toMatchObject({ ok: true });
    expect(await state()).toBe('ok');
  });

  it('warns when the server refuses to relay every recipient (5.7.1 at RCPT), while a mailbox that does not exist, or one address barred by policy, says nothing of the server', async () => {
    const globex = await t.tenantWithUser('globex');
    await t.enableAlertEmails('globex');
    const state = async () => (await t.call('GET', '/api/v1/tenants/globex/settings/mail/health', undefined, globex.token)).json();
    const relay = await startTestSmtpServer({
      failures: [
        { at: 'rcpt', code: 550, message: '5.1.1 <gone@globex.example.com>: Recipient address rejected: User unknown', address: 'gone@globex.example.com' },
        // Postfix's check_recipient_access: one address barred by policy (5.7.1), not the server refusing mail.
        {
          at: 'rcpt',
          code: 554,
          message: '5.7.1 <barred@globex.example.com>: Recipient address rejected: Access denied',
          address: 'barred@globex.example.com',
        },
        { at: 'rcpt', code: 554, message: '5.7.1 <ops@globex.example.com>: Relay access denied' },
      ],
    });
    try {
      await useServer(relay, {}, 'globex');
      const worker = startWorker();
      const email = (to: string) => enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(globex.tenantId, to, { kind: 'immediate' })], clock);
      await email('gone@globex.example.com');
      await worker.runOnce();
      expect(await state()).toEqual({ state: 'ok' });
      await email('barred@globex.example.com');
      await worker.runOnce();
      expect(await state()).toEqual({ state: 'ok' });
      await email('ops@globex.example.com');
      await worker.runOnce();
      expect(await state()).toMatchObject({ state: 'failing', lastCode: 554, lastError: '554 5.7.1 <ops@globex.example.com>: Relay access denied' });
      const before = system.messages.length;
      await worker.runOnce();
      const [warning] = await system.waitForMessages(before + 1).then((all) => all.slice(before));
      expect(warning!.raw).toMatch(/^X-Tocsin-Tenant: globex/im);
      expect((await simpleParser(warning!.raw)).text).toContain('Relay access denied');
    } finally {
      await relay.close();
    }
  });

  it('warns when the server refuses the sender or this client at RCPT (Postfix answers its sender, client and blocklist restrictions there, Gmail its sending limit), as every alert email meets it', async () => {
    // Postfix's smtpd_delay_reject (on by default) answers reject_sender_login_mismatch,
    // reject_unknown_sender_domain and the client restrictions at RCPT TO, whoever the reader.
    for (const [tenant, refusal] of [
      ['initrode', { code: 553, message: '5.7.1 <alerts@initrode.example.com>: Sender address rejected: not owned by user robot' }],
      ['massive-dynamic', { code: 554, message: '5.7.1 <unknown[203.0.113.9]>: Client host rejected: Access denied' }],
      // A company's MX taking its own domain's mail without a sign-in, from an address on a blocklist.
      [
        'sterling-cooper',
        {
          code: 554,
          message: '5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.9',
        },
      ],
      // Gmail counts its daily sending limit in recipients, and refuses each one past it.
      [
        'dunder-mifflin',
        {
          code: 550,
          message: '5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852',
        },
      ],
    ] as const) {
      const owner = await t.tenantWithUser(tenant);
      await t.enableAlertEmails(tenant);
      const server = await startTestSmtpServer({ failures: [{ at: 'rcpt', ...refusal }] });
      try {
        await useServer(server, {}, tenant);
        const worker = startWorker();
        await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(owner.tenantId, `ops@${tenant}.example.com`, { kind: 'immediate' })], clock);
        await worker.runOnce();
        const health = await t.call('GET', `/api/v1/tenants/${tenant}/settings/mail/health`, undefined, owner.token).then((r) => r.json());
        expect(health).toMatchObject({ state: 'failing', lastCode: refusal.code, lastError: `${refusal.code} ${refusal.message}` });
        const before = system.messages.length;
        await worker.runOnce();
        const [warning] = await system.waitForMessages(before + 1).then((all) => all.slice(before));
        expect(warning!.raw).toMatch(new RegExp(`^X-Tocsin-Tenant: ${tenant}`, 'im'));
      } finally {
        await server.close();
      }
    }
  });

  // Also when the settings' credentials went unsent, the sign-in offered only over TLS, which they decline
  // (classify.ts places that refusal at the tls stage, what to change): still a refusal of the readers it does not keep.
  it.each([
    ['tyrell', 'none', {}],
    ['wallace', 'starttls', { authMethod: 'auto', username: 'robot', password: 'pa55-w0rd' }],
  ] as const)(
    "says nothing of the server when it refuses to relay to one reader (554 5.7.1 at RCPT) while it delivers the other readers' emails (%s)",
    async (name, tls, signIn) => {
      // Seen black-box through a private Postfix: each email to the one external reader started an
      // incident (an Error alert, a notice to every administrator) that the next delivery ended.
      const tenant = await t.tenantWithUser(name);
      await t.enableAlertEmails(name);
      const db = t.tocsin.deps.storage.db;
      const server = await startTestSmtpServer({
        tls,
        failures: [{ at: 'rcpt', code: 554, message: '5.7.1 <reader@outside.example.net>: Relay access denied', address: 'reader@outside.example.net' }],
      });
      try {
        await useServer(server, signIn, name);
        const worker = startWorker();
        const send = async (to: string) => {
          await enqueueDeliveries(db, [testDelivery(tenant.tenantId, to, { kind: 'immediate' })], clock);
          await worker.runOnce();
          clock.advance(1_000);
        };
        await send(`ops@${name}.example.com`);
        // Windows 25 minutes apart (more than FAILING_AFTER_MS), the refused reader's email before or after the other's.
        for (const order of [
          [`ops@${name}.example.com`, 'reader@outside.example.net'],
          ['reader@outside.example.net', `ops@${name}.example.com`],
          ['reader@outside.example.net', `ops@${name}.example.com`],
          [`ops@${name}.example.com`, 'reader@outside.example.net'],
        ]) {
          clock.advance(25 * MINUTE);
          for (const to of order) await send(to);
          expect(await t.call('GET', `/api/v1/tenants/${name}/settings/mail/health`, undefined, tenant.token).then((r) => r.json())).toEqual({ state: 'ok' });
        }
        const emails = await db
          .selectFrom('deliveries')
          .select(['kind', 'recipient_address', 'status', 'last_code', 'last_error'])
          .where('tenant_id', '=', tenant.tenantId)
          .execute();
        expect(emails.filter((e) => e.kind === 'mail-health')).toEqual([]);
        const refused = emails.filter((e) => e.recipient_address === 'reader@outside.example.net');
        expect(refused).toHaveLength(4);
        for (const e of refused) expect(e).toMatchObject({ status: 'failed', last_code: 554, last_error: expect.stringContaining('Relay access denied') });
        expect(emails.filter((e) => e.recipient_address === `ops@${name}.example.com`).map((e) => e.status)).toEqual(Array(5).fill('sent'));
        const alerts = await db
          .selectFrom('alerts')
          .select('id')
          .where('tenant_id', '=', tenant.tenantId)
          .where('event', '=', 'Mail.DeliveryFailing')
          .execute();
        expect(alerts).toEqual([]);
      } finally {
        await server.close();
      }
    },
  );

  it('says nothing of the server when it refuses one mailbox after DATA (5.2.2 mailbox full, 5.1.1 no such user), but warns when it refuses the message itself', async () => {
    const hooli = await t.tenantWithUser('hooli');
    await t.enableAlertEmails('hooli');
    const state = async () => (await t.call('GET', '/api/v1/tenants/hooli/settings/mail/health', undefined, hooli.token)).json();
    // Servers that look mailboxes up only after the message (LMTP behind Postfix, Exchange's recipient filter) refuse one there.
    const server = await startTestSmtpServer({
      failures: [
        { at: 'data', code: 552, message: '5.2.2 <full@hooli.example.com>: Mailbox full', address: 'full@hooli.example.com' },
        { at: 'data', code: 550, message: '5.1.1 <gone@hooli.example.com>: User unknown in virtual mailbox table', address: 'gone@hooli.example.com' },
        { at: 'data', code: 553, message: '5.1.8 <alerts@hooli.example.com>: Sender address rejected: Domain not found', address: 'cto@hooli.example.com' },
        { at: 'data', code: 554, message: '5.7.1 Message rejected: sender not authorised' },
      ],
    });
    try {
      await useServer(server, {}, 'hooli');
      const worker = startWorker();
      const email = (to: string) => enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(hooli.tenantId, to, { kind: 'immediate' })], clock);
      await email('full@hooli.example.com');
      await worker.runOnce();
      await email('gone@hooli.example.com');
      await worker.runOnce();
      expect(await state()).toEqual({ state: 'ok' });
      // 5.1.8 is about the sender's address, which every alert email has.
      await email('cto@hooli.example.com');
      await worker.runOnce();
      expect(await state()).toMatchObject({ state: 'failing', lastCode: 553 });
      await email('ops@hooli.example.com');
      await worker.runOnce();
      expect(await state()).toMatchObject({ state: 'failing', lastCode: 554, lastError: '554 5.7.1 Message rejected: sender not authorised' });
    } finally {
      await server.close();
    }
  });

  it('warns when Exchange Online refuses the sender after DATA (5.2.0 SendAsDenied), though a 5.2.x is otherwise one mailbox full or disabled', async () => {
    // Exchange Online's answer when the From address is not one the signed-in mailbox may send as: every alert email meets it.
    const refusal =
      '5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message Cannot submit message.';
    const vought = await t.tenantWithUser('vought');
    await t.enableAlertEmails('vought');
    const server = await startTestSmtpServer({ failures: [{ at: 'data', code: 554, message: refusal }] });
    try {
      await useServer(server, {}, 'vought');
      const worker = startWorker();
      await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(vought.tenantId, 'ops@vought.example.com', { kind: 'immediate' })], clock);
      await worker.runOnce();
      const health = await t.call('GET', '/api/v1/tenants/vought/settings/mail/health', undefined, vought.token).then((r) => r.json());
      expect(health).toMatchObject({ state: 'failing', lastCode: 554, lastError: `554 ${refusal}` });
    } finally {
      await server.close();
    }
  });

  it('tries its own server again a quarter of an hour after it last refused, under fallbackToDefault, and says when mail works again', async () => {
    const soylent = await t.tenantWithUser('soylent');
    await t.enableAlertEmails('soylent');
    // The provider blocks the sender, then is busy once, then takes mail again: nobody saves or tests anything.
    const blocked = await startTestSmtpServer({
      failures: [
        { at: 'mail', code: 554, message: '5.7.1 Sender blocked', times: 1 },
        { at: 'mail', code: 451, message: '4.3.2 Try again later', times: 1 },
      ],
    });
    try {
      await t.call('PUT', '/api/v1/tenants/soylent/settings/mail', { fallbackToDefault: true });
      await useServer(blocked, {}, 'soylent');
      const worker = startWorker();
      const email = () =>
        enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(soylent.tenantId, 'ops@soylent.example.com', { kind: 'immediate' })], clock);
      const state = async () => (await t.call('GET', '/api/v1/tenants/soylent/settings/mail/health', undefined, soylent.token)).json().state;
      const log = async () => (await t.call('GET', '/api/v1/tenants/soylent/deliveries?kind=immediate&limit=1', undefined, soylent.token)).json().items;
      const noticesOf = () => notices().filter((m) => /^X-Tocsin-Tenant: soylent/im.test(m.raw));
      await email();
      await worker.runOnce();
      await worker.runOnce();
      expect(await state()).toBe('failing');
      await until(() => noticesOf().length === 1, 'the failing notice');
      // A while after the refusal the system default still stands in, without asking the own server.
      clock.advance(5 * MINUTE);
      await email();
      await worker.runOnce();
      expect((await log())[0]).toMatchObject({ status: 'sent', attempts: 1 });
      // A quarter of an hour after it, the next alert email tries the own server: busy for now, the
      // email waits for its retry, which the system default takes, standing in for another quarter of an hour.
      clock.advance(15 * MINUTE);
      await email();
      await worker.runOnce();
      expect((await log())[0]).toMatchObject({ status: 'retrying', lastCode: 451 });
      expect(await state()).toBe('failing');
      clock.advance(MINUTE);
      await worker.runOnce();
      expect((await log())[0]).toMatchObject({ status: 'sent', attempts: 2 });
      clock.advance(10 * MINUTE);
      await email();
      await worker.runOnce();
      expect(blocked.messages).toHaveLength(0);
      expect(noticesOf()).toHaveLength(1);
      // Then the own server takes the next one, and the incident ends.
      clock.advance(5 * MINUTE + 1);
      await email();
      await worker.runOnce();
      expect(blocked.messages).toHaveLength(1);
      expect(await state()).toBe('ok');
      await worker.runOnce();
      await until(() => noticesOf().length === 2, 'the notice that mail works again');
      expect((await simpleParser(noticesOf()[1]!.raw)).subject).toMatch(/work again/);
    } finally {
      await blocked.close();
    }
  });

  it('warns when the saved password no longer decrypts (the secret key changed), as when the server refuses it', async () => {
    const initech = await t.tenantWithUser('initech');
    await t.enableAlertEmails('initech');
    await useServer(own, { username: 'robot', password: PASSWORD }, 'initech');
    // Sealed with another installation's key, as after a restart without the data folder's key.
    const otherKey = SecretBox.fromPassphrase('another installation key');
    await t.tocsin.deps.storage.db
      .updateTable('tenant_mail_settings')
      .set({ custom_password: otherKey.seal(PASSWORD, `tenant:${initech.tenantId}:smtp-password`) })
      .where('tenant_id', '=', initech.tenantId)
      .execute();
    const worker = startWorker();
    await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(initech.tenantId, 'ops@initech.example.com', { kind: 'immediate' })], clock);
    await worker.runOnce();
    const answer = (await t.call('GET', '/api/v1/tenants/initech/settings/mail/health', undefined, initech.token)).json();
    expect(answer).toMatchObject({ state: 'failing', lastError: expect.stringContaining('no longer decrypts') });
    // The administrators hear of it through the system default.
    const before = system.messages.length;
    await worker.runOnce();
    const [warning] = await system.waitForMessages(before + 1).then((all) => all.slice(before));
    expect(warning!.raw).toMatch(/^X-Tocsin-Kind: mail-health/im);
    expect(warning!.raw).toMatch(/^X-Tocsin-Tenant: initech/im);
    expect((await simpleParser(warning!.raw)).text).toContain('no longer decrypts');
  });

  it('sends through the system default, the first email included, a custom server that can no longer be used (its host now refused), when the tenant asks for it', async () => {
    const globex = await t.tenantWithUser('globex');
    await t.enableAlertEmails('globex');
    await useServer(own, { username: 'robot', password: PASSWORD }, 'globex');
    await t.call('PUT', '/api/v1/tenants/globex/settings/mail', { fallbackToDefault: true });
    // Saved while loopback hosts were allowed; TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS=false now refuses it at every send.
    const worker = startWorker(undefined, { allowPrivateHosts: false });
    const email = () => enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(globex.tenantId, 'ops@globex.example.com', { kind: 'immediate' })], clock);
    const log = async () => (await t.call('GET', '/api/v1/tenants/globex/deliveries?kind=immediate&limit=2', undefined, globex.token)).json().items;
    await email();
    await worker.runOnce();
    expect((await t.call('GET', '/api/v1/tenants/globex/settings/mail/health', undefined, globex.token)).json().state).toBe('failing');
    // The refusal that starts the fallback loses no email, as a refusing server's does not.
    expect((await log())[0]).toMatchObject({ status: 'retrying', attempts: 1 });
    await sendsBothThroughTheDefault(worker, email, log);
  });

  it("says in the delivery log that a refusal came from the system default under fallbackToDefault, not from the tenant's own server", async () => {
    // The log read 535 from the tenant's server, then 550 'no such user' with nothing to say that the system default had answered it.
    const initech = await t.tenantWithUser('initech');
    await t.enableAlertEmails('initech');
    await useServer(own, { username: 'robot', password: 'not-the-password' }, 'initech');
    await t.call('PUT', '/api/v1/tenants/initech/settings/mail', { fallbackToDefault: true });
    const refusing = await startTestSmtpServer({ failures: [{ at: 'rcpt', code: 550, message: '5.1.1 no such user here' }] });
    const host = t.tocsin.deps.systemSmtp.smtp;
    try {
      expect((await t.call('PUT', '/api/v1/system/mail-settings', { ...host, port: refusing.port })).statusCode).toBe(200);
      const worker = startWorker();
      await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(initech.tenantId, 'ops@initech.example.com', { kind: 'immediate' })], clock);
      await worker.runOnce();
      await worker.runOnce();
      const [logged] = (await t.call('GET', '/api/v1/tenants/initech/deliveries?kind=immediate', undefined, initech.token)).json().items;
      expect(logged).toMatchObject({ status: 'failed', attempts: 2, lastCode: 550 });
      expect(logged.lastError).toBe(`${FALLBACK_REFUSED_NOTE}recipient: Can't send mail - all recipients were rejected: 550 5.1.1 no such user here`);
      expect(logged.smtpResponse).toBe(`${FALLBACK_REFUSED_NOTE}550 5.1.1 no such user here`);
      const { history } = (await t.call('GET', `/api/v1/tenants/initech/deliveries/${logged.id}`, undefined, initech.token)).json();
      expect(history.map((a: { code: number; response: string }) => [a.code, a.response.startsWith(FALLBACK_REFUSED_NOTE)])).toEqual([
        [535, false],
        [550, true],
      ]);
    } finally {
      await t.call('PUT', '/api/v1/system/mail-settings', { ...host });
      await refusing.close();
    }
  });

  it('counts a held-out tenant whose emails the worker holds claimed, waiting for the probe, when the verdict is told', async () => {
    // At a probe's failure the worker had claimed every tenant's due emails in the probe's batch; those
    // not yet handed back were `sending`, and the verdict, which counted only pending and retrying
    // emails, passed their tenant over: 20 minutes held out and its mail still `ok` (seen under load).
    const stark = await t.tenantWithUser('stark');
    await t.enableAlertEmails('stark');
    const { db } = t.tocsin.deps.storage;
    const queuedAt = clock.now();
    await enqueueDeliveries(db, [testDelivery(stark.tenantId, 'ops@stark.example.com', { kind: 'immediate' })], clock);
    clock.advance(16 * MINUTE);
    // What the worker's claim writes on the row it holds (leases.ts): this tenant's rows only, the other tests' left alone.
    const lease = {
      status: 'sending',
      lease_owner: 'probing-worker',
      lease_token: 'held',
      lease_expires_at: clock.now() + 10_000,
      next_attempt_at: clock.now() + 10_000,
    };
    expect(Number((await db.updateTable('deliveries').set(lease).where('tenant_id', '=', stark.tenantId).executeTakeFirst()).numUpdatedRows)).toBe(1);
    const error = 'data: 421 4.3.2 Too busy, try later';
    await mailHealthHeldOut(t.tocsin.deps.storage, { publicUrl: t.tocsin.deps.config.publicUrl })({
      tenantIds: [stark.tenantId],
      since: queuedAt,
      until: clock.now() + 4 * MINUTE,
      at: clock.now(),
      failure: { error, code: 421 },
    });
    const health = (await t.call('GET', '/api/v1/tenants/stark/settings/mail/health', undefined, stark.token)).json();
    expect(health).toMatchObject({ state: 'failing', since: new Date(queuedAt).toISOString(), lastError: error, lastCode: 421 });
  });

  it('warns each tenant whose emails a paused server holds out, once, after the same wait as failures of its own, and each recovers', async () => {
    // Tenants whose settings lead to one server, no login: one breaker. Only the probes' tenants had
    // attempts; the others' emails waited unsent with their mail health `ok` and no one told.
    const names = ['cyberdyne', 'weyland', 'oscorp'];
    const tenants = new Map<string, { tenantId: string; token: string }>();
    const server = await startTestSmtpServer();
    const outage = await startTcpProxy(server.port);
    try {
      for (const name of names) {
        tenants.set(name, await t.tenantWithUser(name));
        await t.enableAlertEmails(name);
        await useServer(outage, {}, name);
      }
      outage.cut();
      const worker = startWorker({ failureThreshold: 1, initialCooldownMs: MINUTE, maxCooldownMs: 4 * MINUTE });
      const sent = new Map(names.map((name) => [name, 0]));
      const email = (name: string) =>
        sent.set(name, sent.get(name)! + 1) &&
        enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(tenants.get(name)!.tenantId, `ops@${name}.example.com`, { kind: 'immediate' })], clock);
      const state = async (name: string) => (await t.call('GET', `/api/v1/tenants/${name}/settings/mail/health`, undefined, tenants.get(name)!.token)).json();
      const alerts = async (name: string) =>
        (
          await t.tocsin.deps.storage.db
            .selectFrom('alerts')
            .select('id')
            .where('tenant_id', '=', tenants.get(name)!.tenantId)
            .where('event', '=', 'Mail.DeliveryFailing')
            .execute()
        ).length;
      // The first tenant's email opens the breaker; the others' are queued while it is open.
      await email(names[0]!);
      await worker.runOnce();
      const start = clock.now();
      for (const name of names.slice(1)) await email(name);
      await worker.runOnce();
      for (const name of names) expect((await state(name)).state, name).toBe('ok');
      // Their alerts go on: each tenant queues an email every 5 minutes.
      for (let minute = 1; clock.now() - start <= 20 * MINUTE; minute++) {
        clock.advance(MINUTE);
        if (minute % 5 === 0) for (const name of names) await email(name);
        await worker.runOnce();
        if (clock.now() - start < 14 * MINUTE) for (const name of names) expect((await state(name)).state, `${name} at ${clock.now() - start}`).toBe('ok');
      }
      // Each says why: the server's own failure, never Tocsin's pause, worded for its reader (the alert) as when it failed itself.
      const why = 'connect: the server closed the connection before its SMTP greeting, without a word';
      for (const name of names) {
        expect(await state(name), name).toMatchObject({ state: 'failing', lastError: why });
        expect(await alerts(name), name).toBe(1);
      }
      for (const name of names) {
        const { items } = (await t.call('GET', `/api/v1/tenants/${name}/alerts`, undefined, tenants.get(name)!.token)).json();
        const failing = items.filter((a: { event: string }) => a.event === 'Mail.DeliveryFailing').map((a: { message: string }) => a.message);
        expect(failing, name).toEqual([expect.stringMatching(/^Alert emails are failing\. .*the server closed the connection before its SMTP greeting/)]);
        expect(failing[0], name).not.toContain('keeps failing');
      }
      outage.restore();
      const delivered = (name: string) => server.messages.filter((m) => m.envelope.to.includes(`ops@${name}.example.com`)).length;
      const allBack = async () =>
        (await Promise.all(names.map(state))).every((h) => h.state === 'ok') && names.every((name) => delivered(name) === sent.get(name));
      for (let i = 0; i < 30 && !(await allBack()); i++) {
        clock.advance(MINUTE);
        await worker.runOnce();
      }
      for (const name of names) {
        expect((await state(name)).state, name).toBe('ok');
        expect(await alerts(name), name).toBe(1);
      }
      // Every email went out once: none lost, none twice.
      for (const name of names) expect(delivered(name), name).toBe(sent.get(name));
    } finally {
      await outage.close();
      await server.close();
    }
  });

  it("keeps a tenant's mail ok while its server's name cannot be looked up for want of a file descriptor (private hosts refused), retrying its email", async () => {
    // glibc's lookup, out of descriptors, fails as for a name that does not exist; the guard saw it was
    // this process's shortage but refused the host all the same, a transient failure that mail health
    // counted: 16 minutes of it called the tenant's mail failing and warned its administrators.
    const nofiles = await t.tenantWithUser('nofiles');
    await t.enableAlertEmails('nofiles');
    await useServer({ port: 587 }, { host: 'smtp.nofiles.example.com' }, 'nofiles');
    const unknown = async () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND smtp.nofiles.example.com'), { code: 'ENOTFOUND' }));
    const worker = startWorker(undefined, { allowPrivateHosts: false, resolver: unknown });
    // The descriptor lookupShortage opens to tell a shortage is refused, as every other one would be.
    const openSync = fs.openSync;
    const spy = vi.spyOn(fs, 'openSync').mockImplementation((file, ...rest) => {
      if (file !== os.devNull) return openSync(file, ...rest);
      throw Object.assign(new Error(`EMFILE: too many open files, open '${os.devNull}'`), { code: 'EMFILE' });
    });
    try {
      await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(nofiles.tenantId, 'ops@nofiles.example.com', { kind: 'immediate' })], clock);
      const start = clock.now();
      await worker.runOnce();
      while (clock.now() - start <= 16 * MINUTE) {
        clock.advance(MINUTE);
        await worker.runOnce();
      }
    } finally {
      spy.mockRestore();
    }
    expect((await t.call('GET', '/api/v1/tenants/nofiles/settings/mail/health', undefined, nofiles.token)).json()).toMatchObject({ state: 'ok' });
    const [email] = (await t.call('GET', '/api/v1/tenants/nofiles/deliveries?kind=immediate', undefined, nofiles.token)).json().items;
    expect(email).toMatchObject({ status: 'retrying', lastError: expect.stringMatching(/^connect: this process has no file descriptor left .*\(EMFILE\)/) });
  });
});
