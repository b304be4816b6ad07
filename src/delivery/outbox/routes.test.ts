import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../../test/support/http.js';
import { FakeClock } from '../../shared/clock.js';
import { describeEachDialect, planOf } from '../../../test/support/storage.js';
import { deliveryLogPage } from './log.js';
import { enqueueDeliveries } from './enqueue.js';
import { UNFINISHED_STATUSES } from './tables.js';
import { testDelivery } from '../../../test/support/outbox-fixtures.js';
import { type ScriptedFailure, type TestSmtpServer, startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { until } from '../../../test/support/until.js';

const T0 = Date.UTC(2026, 10, 27, 9);

/** OneEmail is what a test of one email's log entry reads it with. */
interface OneEmail {
  readonly t: TestApp;
  readonly token: string;
  readonly server: TestSmtpServer;
  readonly clock: FakeClock;
  readonly id: string;
  readonly list: (query?: string) => Promise<any[]>;
  readonly detail: () => Promise<any>;
}

describeEachDialect('delivery log API and metrics', (dialect) => {
  let t: TestApp;
  let acme: { tenantId: string; token: string };
  const url = '/api/v1/tenants/acme/deliveries';

  beforeAll(async () => {
    // An api-only process queues but does not send, so the rows stay as the test sets them.
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    acme = await t.tenantWithUser('acme');
    const other = await t.tenantWithUser('globex');
    const db = t.tocsin.deps.storage.db;
    const clock = new FakeClock(T0);
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000);
      await enqueueDeliveries(
        db,
        [
          testDelivery(
            acme.tenantId,
            `User${i}@Example.com`,
            i === 0 ? { kind: 'summary', rendered: undefined, data: {}, windowStart: T0 - 600_000, windowEnd: T0 } : {},
          ),
        ],
        clock,
      );
    }
    await enqueueDeliveries(db, [testDelivery(other.tenantId, 'other@globex.example.com')], clock);
    const first = await db.selectFrom('deliveries').select('id').where('recipient_address', '=', 'User1@Example.com').executeTakeFirstOrThrow();
    await db
      .updateTable('deliveries')
      .set({ status: 'sent', attempts: 2, sent_at: T0 + 5_000, smtp_response: '250 2.0.0 Ok: queued as 4F1', last_error: null })
      .where('id', '=', first.id)
      .execute();
    await db
      .updateTable('deliveries')
      .set({ status: 'failed', attempts: 1, last_error: 'recipient: 550 No such user', last_code: 550 })
      .where('recipient_address', '=', 'User2@Example.com')
      .execute();
  });
  afterAll(() => t.close());

  it('lists the tenant’s deliveries newest first in the documented shape', async () => {
    const res = await t.call('GET', url, undefined, acme.token);
    expect(res.statusCode).toBe(200);
    const body = res.json<{ items: Record<string, unknown>[]; nextCursor: string | null }>();
    expect(body.items.map((i) => i.recipient)).toEqual([
      'User4@Example.com',
      'User3@Example.com',
      'User2@Example.com',
      'User1@Example.com',
      'User0@Example.com',
    ]);
    expect(body.nextCursor).toBeNull();
    const sent = body.items[3]!;
    expect(sent).toMatchObject({
      kind: 'test',
      status: 'sent',
      attempts: 2,
      lastError: null,
      smtpResponse: '250 2.0.0 Ok: queued as 4F1',
      createdAt: new Date(T0 + 2_000).toISOString(),
      sentAt: new Date(T0 + 5_000).toISOString(),
    });
    expect(sent.messageId).toMatch(/^<.+@tocsin>$/);
    expect(Object.keys(sent)).toEqual(
      expect.arrayContaining(['id', 'kind', 'recipient', 'status', 'attempts', 'lastError', 'smtpResponse', 'messageId', 'createdAt', 'sentAt']),
    );
    expect(sent).not.toHaveProperty('windowStart');
    expect(body.items[4]).toMatchObject({ kind: 'summary', windowStart: new Date(T0 - 600_000).toISOString(), status: 'pending' });
    expect(JSON.stringify(body)).not.toContain('globex');
  });

  it('filters by status, kind and recipient (case ignored)', async () => {
    const get = async (query: string) =>
      (await t.call('GET', `${url}?${query}`, undefined, acme.token)).json<{ items: { recipient: string; lastError: string | null }[] }>().items;
    expect((await get('status=failed')).map((i) => [i.recipient, i.lastError])).toEqual([['User2@Example.com', 'recipient: 550 No such user']]);
    expect((await get('kind=summary')).map((i) => i.recipient)).toEqual(['User0@Example.com']);
    expect((await get('recipient=user3@example.COM')).map((i) => i.recipient)).toEqual(['User3@Example.com']);
    expect(await get('status=sent&kind=summary')).toEqual([]);
  });

  it("reads one recipient's emails from an index, not by walking the tenant's whole log", async () => {
    const page = deliveryLogPage(t.tocsin.deps.storage.db, acme.tenantId, { recipient: 'user3@example.com', limit: 100 }, 'ascii');
    expect(await planOf(t.tocsin.deps.storage.db, page.compile())).toMatch(
      dialect === 'sqlite'
        ? /USING INDEX deliveries_tenant_recipient \(tenant_id=\? AND <expr>=\?\)/
        : /deliveries_tenant_recipient[\s\S]*Index Cond: .*lower\(recipient_address\)/,
    );
  });

  it("reads one kind's emails from an index, not by walking the tenant's whole log", async () => {
    const page = deliveryLogPage(t.tocsin.deps.storage.db, acme.tenantId, { kind: 'immediate', limit: 100 }, undefined);
    expect(await planOf(t.tocsin.deps.storage.db, page.compile())).toMatch(
      dialect === 'sqlite' ? /USING INDEX deliveries_tenant_kind \(tenant_id=\? AND kind=\?\)/ : /deliveries_tenant_kind[\s\S]*Index Cond: .*kind/,
    );
  });

  it('pages with limit and an opaque cursor', async () => {
    const first = (await t.call('GET', `${url}?limit=2`, undefined, acme.token)).json<{ items: { recipient: string }[]; nextCursor: string }>();
    expect(first.items.map((i) => i.recipient)).toEqual(['User4@Example.com', 'User3@Example.com']);
    const second = (await t.call('GET', `${url}?limit=2&cursor=${first.nextCursor}`, undefined, acme.token)).json<{
      items: { recipient: string }[];
      nextCursor: string;
    }>();
    expect(second.items.map((i) => i.recipient)).toEqual(['User2@Example.com', 'User1@Example.com']);
    const third = (await t.call('GET', `${url}?limit=2&cursor=${second.nextCursor}`, undefined, acme.token)).json<{
      items: unknown[];
      nextCursor: string | null;
    }>();
    expect(third.items).toHaveLength(1);
    expect(third.nextCursor).toBeNull();
  });

  it('answers 400 naming recipient when it is not an email address, or empty', async () => {
    for (const query of ['recipient=User3', 'recipient=', 'recipient=%20', `recipient=${'a'.repeat(250)}@example.com`]) {
      const res = await t.call('GET', `${url}?${query}`, undefined, acme.token);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().errors[0].path, query).toBe('recipient');
    }
    expect((await t.call('GET', `${url}?recipient=%20User3%40example.com%20`, undefined, acme.token)).json().items).toHaveLength(1);
  });

  it('answers 400 naming the field for a bad status, kind, limit or cursor', async () => {
    for (const [query, path] of [
      ['status=lost', 'status'],
      ['kind=weekly', 'kind'],
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      // Not decimal digits: these were read as 16 and 1000 (a coerced number), as $top no longer is.
      ['limit=0x10', 'limit'],
      ['limit=1e3', 'limit'],
      ['cursor=bm9wZQ', 'cursor'],
    ]) {
      const res = await t.call('GET', `${url}?${query}`, undefined, acme.token);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().errors[0].path, query).toBe(path);
    }
  });

  it('answers 400 for a cursor altered by a byte, forged, or handed out in another tenant', async () => {
    const cursor: string = (await t.call('GET', `${url}?limit=1`, undefined, acme.token)).json().nextCursor;
    expect((await t.call('GET', `${url}?limit=1&cursor=${cursor}`, undefined, acme.token)).statusCode).toBe(200);
    const id = Buffer.from(cursor, 'base64url').toString().split('.')[1];
    const forged = [
      cursor.slice(0, -1),
      `${cursor.slice(0, 3)}${cursor[3] === 'A' ? 'B' : 'A'}${cursor.slice(4)}`,
      Buffer.from(`d.${id}`).toString('base64url'),
    ];
    for (const bad of forged) {
      const res = await t.call('GET', `${url}?cursor=${bad}`, undefined, acme.token);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().errors, bad).toEqual([{ path: 'cursor', message: 'must be a nextCursor returned by a previous page' }]);
    }
    const globex = await t.tenantWithUser('globex');
    const elsewhere = await t.call('GET', `/api/v1/tenants/globex/deliveries?cursor=${cursor}`, undefined, globex.token);
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.json().errors[0].path).toBe('cursor');
  });

  it('needs Settings.View', async () => {
    const viewer = await t.tenantWithUser('acme', ['Alerts Viewer']);
    expect((await t.call('GET', url, undefined, viewer.token)).statusCode).toBe(403);
    expect((await t.call('GET', '/api/v1/tenants/globex/deliveries', undefined, acme.token)).statusCode).toBe(404);
  });

  it('exports the unfinished and failed deliveries by status, queue depth and the age of the oldest waiting delivery', async () => {
    // The whole outbox as the table holds it now: the tests below queue emails of their own
    // (initech, hooli), and in another order they come first. Nothing sends in this api process.
    const rows = await t.tocsin.deps.storage.db
      .selectFrom('deliveries')
      .select(['status', (eb) => eb.fn.countAll<string | number>().as('n')])
      .groupBy('status')
      .execute();
    const count = new Map(rows.map((r) => [r.status, Number(r.n)]));
    // At least the five of acme (one sent, one failed) and globex's one queued above.
    expect([count.get('pending')! >= 4, count.get('sent'), count.get('failed')]).toEqual([true, 1, 1]);
    const res = await t.call('GET', '/metrics');
    expect(res.statusCode).toBe(200);
    for (const status of [...UNFINISHED_STATUSES, 'failed']) {
      expect(res.body, status).toContain(`\ntocsin_deliveries{status="${status}"} ${count.get(status) ?? 0}\n`);
    }
    // Sent emails are the bulk of the outbox: counting them read all of it (tocsin_deliveries_finished_total counts them).
    expect(res.body).not.toContain('tocsin_deliveries{status="sent"}');
    const unfinished = UNFINISHED_STATUSES.reduce((sum, status) => sum + (count.get(status) ?? 0), 0);
    expect(res.body).toContain(`\ntocsin_delivery_queue_depth ${unfinished}\n`);
    expect(res.body).toMatch(/\ntocsin_delivery_oldest_pending_age_seconds \d+/);
  });

  it('lists the notices of a mail incident only when asked for kind=mail-health, the log being of the four kinds of API.md', async () => {
    // Sent to the tenant's administrators through the system default while its own mail fails: newest
    // first, they would sit above the failed summaries a script reads, with a kind outside API.md's four.
    const initech = await t.tenantWithUser('initech');
    const db = t.tocsin.deps.storage.db;
    const clock = new FakeClock(T0 + 60_000);
    await enqueueDeliveries(db, [testDelivery(initech.tenantId, 'ops@initech.example.com', { kind: 'summary', rendered: undefined, data: {} })], clock);
    clock.advance(1_000);
    await enqueueDeliveries(db, [testDelivery(initech.tenantId, 'admin@initech.example.com', { kind: 'mail-health' })], clock);
    const get = async (query: string) =>
      (await t.call('GET', `/api/v1/tenants/initech/deliveries${query}`, undefined, initech.token)).json<{ items: { kind: string }[] }>().items;
    expect((await get('')).map((i) => i.kind)).toEqual(['summary']);
    expect((await get('?status=pending')).map((i) => i.kind)).toEqual(['summary']);
    expect((await get('?kind=mail-health')).map((i) => i.kind)).toEqual(['mail-health']);
  });

  it('finds a plus address written as is in the URL, which the query string decodes as a space', async () => {
    // curl '…/deliveries?recipient=ops+alerts@example.com' answered 400 'must be an email address'.
    const hooli = await t.tenantWithUser('hooli');
    const db = t.tocsin.deps.storage.db;
    await enqueueDeliveries(db, [testDelivery(hooli.tenantId, 'Ops+Alerts@Hooli.example.com')], new FakeClock(T0 + 120_000));
    const get = async (query: string) => {
      const res = await t.call('GET', `/api/v1/tenants/hooli/deliveries?${query}`, undefined, hooli.token);
      expect(res.statusCode, query).toBe(200);
      return res.json<{ items: { recipient: string }[] }>().items.map((i) => i.recipient);
    };
    expect(await get('recipient=ops+alerts@hooli.example.com')).toEqual(['Ops+Alerts@Hooli.example.com']);
    expect(await get('recipient=ops%2Balerts@hooli.example.com')).toEqual(['Ops+Alerts@Hooli.example.com']);
    expect(await get('recipient=%20ops%2Balerts@hooli.example.com%20')).toEqual(['Ops+Alerts@Hooli.example.com']);
  });
});

describeEachDialect('one email of the delivery log, attempt by attempt', (dialect) => {
  /**
   * oneEmail queues one immediate email to `recipient` through a test server that answers as
   * `failures` say, sent by the app's own worker on a fake clock that the test moves past retries.
   */
  async function oneEmail(recipient: string, failures: ScriptedFailure[], check: (email: OneEmail) => Promise<void>) {
    const clock = new FakeClock(Date.now());
    const t = await startTestApp(dialect, {}, { clock });
    const server = await startTestSmtpServer({ failures });
    try {
      const acme = await t.tenantWithUser('acme');
      await t.enableAlertEmails('acme');
      const custom = { host: '127.0.0.1', port: server.port, security: 'none', authMethod: 'none', fromAddress: 'alerts@acme.example.com' };
      expect((await t.call('PUT', '/api/v1/tenants/acme/settings/mail', { useCustom: true, custom })).statusCode).toBe(200);
      await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(acme.tenantId, recipient, { kind: 'immediate' })], clock);
      const list = async (query = '') => (await t.call('GET', `/api/v1/tenants/acme/deliveries${query}`, undefined, acme.token)).json().items;
      const [{ id }] = await list();
      const detail = async () => (await t.call('GET', `/api/v1/tenants/acme/deliveries/${id}`, undefined, acme.token)).json();
      await check({ t, token: acme.token, server, clock, id, list, detail });
    } finally {
      await t.close();
      await server.close();
    }
  }

  it("shows every attempt with the server's code and reply, the refused ones too once the email is sent, and from the first the Message-ID it is sent with", async () => {
    const greylisted: ScriptedFailure = { at: 'rcpt', code: 451, message: '4.7.1 Greylisted, try again later', times: 1 };
    await oneEmail('ops@acme.example.com', [greylisted], async ({ t, token, server, clock, id, list, detail }) => {
      await until(async () => (await detail()).status === 'retrying', 'the refused first attempt');
      // Waiting for its retry, the email is shown under the ID it goes with (not a placeholder, then another).
      const waiting = { detail: (await detail()).messageId, listed: (await list())[0].messageId };
      clock.advance(60_000);
      const [received] = await server.waitForMessages(1);
      await until(async () => (await detail()).status === 'sent', 'the sent email recorded');
      expect(received!.messageId).toMatch(/@acme\.example\.com>$/);
      expect(waiting).toEqual({ detail: received!.messageId, listed: received!.messageId });

      const sent = await detail();
      expect(sent).toMatchObject({
        id,
        status: 'sent',
        attempts: 2,
        lastError: null,
        smtpResponse: expect.stringMatching(/^250 /),
        messageId: received!.messageId,
      });
      expect(sent.history).toEqual([
        expect.objectContaining({ attempt: 1, outcome: 'retry', code: 451, response: '451 4.7.1 Greylisted, try again later' }),
        expect.objectContaining({ attempt: 2, outcome: 'sent', code: 250, response: sent.smtpResponse }),
      ]);
      expect(Date.parse(sent.history[1].startedAt)).toBeGreaterThan(Date.parse(sent.history[0].finishedAt));
      expect((await t.call('GET', '/api/v1/tenants/acme/deliveries/no-such-delivery', undefined, token)).statusCode).toBe(404);
    });
  });

  it('keeps showing an email refused for good before its message went under the Message-ID it was shown with while it waited', async () => {
    // It was shown as '<id@acme.example.com>' while retrying, then as the placeholder '<id@tocsin>' once failed.
    const failures: ScriptedFailure[] = [
      { at: 'rcpt', code: 451, message: '4.2.1 Mailbox busy, try again later', times: 1 },
      { at: 'rcpt', code: 550, message: '5.1.1 No such user' },
    ];
    await oneEmail('gone@acme.example.com', failures, async ({ clock, list, detail }) => {
      await until(async () => (await detail()).status === 'retrying', 'the refused first attempt');
      const waiting = (await detail()).messageId;
      expect(waiting).toMatch(/@acme\.example\.com>$/);
      clock.advance(60_000);
      await until(async () => (await detail()).status === 'failed', 'the email failed for good');
      const listed = (await list('?status=failed'))[0].messageId;
      expect({ detail: (await detail()).messageId, listed }).toEqual({ detail: waiting, listed: waiting });
    });
  });
});

describeEachDialect('delivery log recipient filter', (dialect) => {
  let t: TestApp;
  let initech: { tenantId: string; token: string };

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    initech = await t.tenantWithUser('initech');
  });
  afterAll(() => t.close());

  /** enqueueTo queues one test email of initech to each address, a second apart from T0, in that order. */
  async function enqueueTo(addresses: readonly string[]): Promise<void> {
    const clock = new FakeClock(T0);
    for (const address of addresses) {
      clock.advance(1_000);
      await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(initech.tenantId, address)], clock);
    }
  }
  /** found lists the recipients of initech's delivery log filtered by the recipient `typed`, newest first. */
  const found = async (typed: string) =>
    (await t.call('GET', `/api/v1/tenants/initech/deliveries?recipient=${encodeURIComponent(typed)}`, undefined, initech.token))
      .json<{ items: { recipient: string }[] }>()
      .items.map((i) => i.recipient);

  it('finds a recipient whose address has letters beyond ASCII, in any case, on both dialects', async () => {
    // SQLite's lower() folds only ASCII: 'Émile@…' was found on PostgreSQL and not on SQLite, even spelt exactly.
    await enqueueTo(['Émile.Zoë@Exemple.fr', 'Emile.Zoe@Exemple.fr', 'ÉMILE.ZOË@EXEMPLE.FR']);
    const get = async (query: string) =>
      (await t.call('GET', `/api/v1/tenants/initech/deliveries?${query}`, undefined, initech.token)).json<{
        items: { recipient: string }[];
        nextCursor: string | null;
      }>();
    for (const typed of ['Émile.Zoë@Exemple.fr', 'émile.zoë@exemple.fr', 'ÉMILE.ZOË@exemple.FR']) {
      expect(
        (await get(`recipient=${encodeURIComponent(typed)}`)).items.map((i) => i.recipient),
        typed,
      ).toEqual(['ÉMILE.ZOË@EXEMPLE.FR', 'Émile.Zoë@Exemple.fr']);
    }
    expect((await get('recipient=emile.zoe%40exemple.fr')).items.map((i) => i.recipient)).toEqual(['Emile.Zoe@Exemple.fr']);
    const first = await get(`limit=1&recipient=${encodeURIComponent('émile.zoë@exemple.fr')}`);
    expect(first.items.map((i) => i.recipient)).toEqual(['ÉMILE.ZOË@EXEMPLE.FR']);
    const second = await get(`limit=1&recipient=${encodeURIComponent('émile.zoë@exemple.fr')}&cursor=${first.nextCursor}`);
    expect(second).toEqual({ items: [expect.objectContaining({ recipient: 'Émile.Zoë@Exemple.fr' })], nextCursor: null });
  });

  it('finds a recipient whose international domain is typed in punycode or in Unicode, whichever way it is stored', async () => {
    // ana@xn--bcher-kva.example is the user ana@bücher.example (one user, one mailbox): filtering by either spelling found only its own rows.
    await enqueueTo(['Ana@B\u00fccher.example', 'bo@xn--r8jz45g.jp', 'ana@other.example']);
    for (const typed of ['ana@xn--bcher-kva.example', 'ANA@XN--BCHER-KVA.example', 'ana@b\u00fccher.example']) {
      expect(await found(typed), typed).toEqual(['Ana@B\u00fccher.example']);
    }
    for (const typed of ['bo@\u4f8b\u3048.jp', 'BO@xn--r8jz45g.jp']) expect(await found(typed), typed).toEqual(['bo@xn--r8jz45g.jp']);
  });

  it('matches an address typed in ASCII to the ASCII addresses only, on both dialects', async () => {
    // PostgreSQL's lower() folds 'İ' (U+0130) to 'i' and the Kelvin sign 'K' (U+212A) to 'k': an
    // ASCII recipient found these addresses there, and not on SQLite, whose lower() keeps them.
    await enqueueTo(['İnci@Exemple.fr', 'Inci@Exemple.fr', 'Kemal@Exemple.fr', '\u212Aemal@Exemple.fr']);
    expect(await found('inci@exemple.fr')).toEqual(['Inci@Exemple.fr']);
    expect(await found('KEMAL@exemple.fr')).toEqual(['Kemal@Exemple.fr']);
    expect(await found('İnci@Exemple.fr')).toEqual(['İnci@Exemple.fr']);
  });
});
