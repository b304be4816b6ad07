import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import type { Principal } from '../access/principal.js';
import { createApiToken } from '../access/tokens.js';
import { createTenant, deleteTenant } from '../access/tenants.js';
import { createUser } from '../access/users.js';
import { FakeClock } from '../shared/clock.js';
import { INSTANT_RANGE_MESSAGE } from '../shared/validation.js';
import { describeEachDialect, planOf, sqlitePlanOf } from '../../test/support/storage.js';
import { readerFor, unreadCountQuery } from './read-state.js';
import { floodLeadQueries } from './panel.js';
import { ALERTS_BODY_LIMIT_BYTES, SOURCE_PART_MAX } from './input.js';
import { BODY_LIMIT_BYTES } from '../http/app.js';

const T0 = Date.parse('2026-03-01T08:00:00Z');

describeEachDialect('alerts API', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(T0);
  let robot: string;
  let viewer: { userId: string; token: string };
  let other: string;
  const api = '/api/v1/tenants/acme/alerts';

  beforeAll(async () => {
    t = await startTestApp(dialect, {}, { clock });
    robot = (await t.tenantWithUser('acme', ['Robot'])).token;
    viewer = await t.tenantWithUser('acme', ['Alerts Viewer']);
    other = (await t.tenantWithUser('globex', ['Administrator'])).token;
  });
  afterAll(() => t.close());

  const raise = async (body: unknown, token = robot) => {
    clock.advance(1000);
    return t.call('POST', api, body, token);
  };

  it('stores one alert with defaults and answers 202 with its id', async () => {
    const res = await raise({ severity: 'Warning', component: 'robots', message: 'Robot R1 is slow' });
    expect(res.statusCode).toBe(202);
    const { ids } = res.json<{ ids: string[] }>();
    expect(ids).toHaveLength(1);
    const got = (await t.call('GET', `${api}/${ids[0]}`, undefined, viewer.token)).json();
    expect(got).toMatchObject({
      id: ids[0],
      severity: 'Warn',
      component: 'Robots',
      event: 'Process.RaiseAlert',
      message: 'Robot R1 is slow',
      data: null,
      read: false,
      createdAt: new Date(clock.now()).toISOString(),
      occurredAt: new Date(clock.now()).toISOString(),
    });
  });

  it('stores a batch with every field and keeps the order of ids', async () => {
    const alerts = Array.from({ length: 3 }, (_, i) => ({
      severity: 'Error',
      component: 'Jobs',
      event: 'process.jobexecution.faulted',
      message: `job ${i} faulted`,
      data: { jobId: i, nested: { ok: true } },
      source: { process: 'Invoices', robot: 'R2', job: `J${i}` },
      folder: 'Finance',
      dedupKey: `job-${i}`,
      occurredAt: '2026-03-01T09:00:00+01:00',
    }));
    const res = await raise({ alerts });
    expect(res.statusCode).toBe(202);
    const ids = res.json<{ ids: string[] }>().ids;
    expect(ids).toHaveLength(3);
    const got = (await t.call('GET', `${api}/${ids[2]}`)).json();
    expect(got).toMatchObject({
      event: 'Process.JobExecution.Faulted',
      data: { jobId: 2, nested: { ok: true } },
      source: { process: 'Invoices', robot: 'R2', job: 'J2' },
      folder: 'Finance',
      dedupKey: 'job-2',
      occurredAt: '2026-03-01T08:00:00.000Z',
    });
  });

  it('accepts an unknown event under its component', async () => {
    const res = await raise({ severity: 'Info', component: 'Queues', event: 'Queue.Custom.Thing', message: 'hello' });
    expect(res.statusCode).toBe(202);
  });

  it('names each invalid field, with its index in a batch', async () => {
    const bad = await raise({
      alerts: [
        { severity: 'Info', component: 'Robots', message: 'fine' },
        { severity: 'Loud', component: 'Nowhere', message: '', data: [1], occurredAt: 'yesterday', extra: 1 },
      ],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    const paths = bad.json<{ errors: { path: string }[] }>().errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['alerts.1.message', 'alerts.1.data', 'alerts.1.occurredAt', 'alerts.1.extra']));
    const semantic = await raise({ severity: 'Loud', component: 'Nowhere', message: 'x' });
    expect(semantic.json<{ errors: { path: string }[] }>().errors.map((e) => e.path)).toEqual(['severity', 'component']);
  });

  it('names an unknown severity, component or event of a batch even beside an invalid field of another alert', async () => {
    // The catalogue's checks ran only once the whole body passed the schema: alerts.3.message
    // hid alerts.1.component, so a script fixed one error to meet the next.
    const fine = { severity: 'Info', component: 'Robots', message: 'fine' };
    const bad = await raise({
      alerts: [fine, { ...fine, component: 'Robot' }, { ...fine, severity: 'Critical', event: 'has spaces' }, { ...fine, message: '' }],
    });
    expect(bad.statusCode).toBe(400);
    const problem = bad.json<{ detail: string; errors: { path: string }[] }>();
    expect(problem.errors.map((e) => e.path)).toEqual(['alerts.1.component', 'alerts.2.severity', 'alerts.2.event', 'alerts.3.message']);
    expect(problem.detail).toMatch(/^alerts\.1\.component: .*, not 'Robot'$/);
    const listed = await t.call('GET', `${api}?component=Robot`, undefined, viewer.token);
    expect(listed.json()).toMatchObject({ status: 400, errors: [{ path: 'component', message: expect.stringContaining("not 'Robot'") }] });
    const one = await raise({ severity: 'Critical', component: 'Robot', message: '' });
    expect(one.json<{ errors: { path: string }[] }>().errors.map((e) => e.path)).toEqual(['severity', 'component', 'message']);
  });

  it('takes an occurredAt as scripts write it with its offset: RFC 3339 with a space or lower case, minutes without seconds, +0100', async () => {
    // `date --rfc-3339=seconds` writes a space, `date -Iminutes` no seconds, strftime's %z no colon:
    // each was a 400, and the robot's alert was not stored.
    for (const occurredAt of [
      '2026-03-01 09:00:00+01:00',
      '2026-03-01t08:00:00z',
      '2026-03-01T09:00+01:00',
      '2026-03-01T09:00:00+0100',
      '2026-03-01T09:00:00.000+0100',
      '2026-03-01 08:00Z',
    ]) {
      const res = await raise({ alerts: [{ severity: 'Info', component: 'Robots', message: 'm', occurredAt }] });
      expect(res.statusCode, occurredAt).toBe(202);
      const [id] = res.json<{ ids: string[] }>().ids;
      expect((await t.call('GET', `${api}/${id}`, undefined, viewer.token)).json().occurredAt, occurredAt).toBe('2026-03-01T08:00:00.000Z');
    }
    // Without an offset the instant is unknown; the answer says what to write.
    for (const occurredAt of ['2026-03-01T09:00:00', '2026-03-01', '2026-03-01T09:00:00+1', '2026-03-01T09:00:00 +01:00']) {
      const res = await raise({ severity: 'Info', component: 'Robots', message: 'm', occurredAt });
      expect(res.json(), occurredAt).toMatchObject({
        status: 400,
        errors: [{ path: 'occurredAt', message: expect.stringContaining('2026-03-01T09:00:00+01:00') }],
      });
    }
  });

  it('refuses an occurredAt outside the years 0000 to 9999 in UTC, which no ISO-8601 reader could take back, or outside the last 3650 days to a day ahead, and keeps an alert of a clock hours fast', async () => {
    // 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC: it was stored and shown as +010000-01-01T13:59:59.000Z.
    for (const occurredAt of ['9999-12-31T23:59:59-14:00', '0000-01-01T00:00:00+01:00']) {
      const res = await raise({ severity: 'Info', component: 'Robots', message: 'm', occurredAt });
      expect(res.json(), occurredAt).toMatchObject({ status: 400, errors: [{ path: 'occurredAt', message: INSTANT_RANGE_MESSAGE }] });
    }
    // Written as ISO-8601 writes it, but a year no alert happened in: emailed as "Jan 1, 0001" and an alert yet to come.
    const now = clock.now();
    for (const occurredAt of ['9999-12-31T23:59:59+14:00', '0001-01-01T00:00:00Z', new Date(now + 86_400_000 + 60_000).toISOString()]) {
      const res = await raise({ severity: 'Info', component: 'Robots', message: 'm', occurredAt });
      expect(res.json(), occurredAt).toMatchObject({
        status: 400,
        errors: [{ path: 'occurredAt', message: expect.stringMatching(/^must be within the last 3,650 days/) }],
      });
    }
    // A robot's clock 6 minutes or 13 hours fast (a local time labelled Z): stored as given, not lost.
    for (const ahead of [6 * 60_000, 13 * 3_600_000, 86_400_000]) {
      const taken = await raise({ severity: 'Info', component: 'Robots', message: 'm', occurredAt: new Date(now + ahead).toISOString() });
      expect(taken.statusCode, `${ahead}`).toBe(202);
      const [id] = taken.json<{ ids: string[] }>().ids;
      expect((await t.call('GET', `${api}/${id}`, undefined, viewer.token)).json().occurredAt).toBe(new Date(now + ahead).toISOString());
    }
  });

  it('refuses a message over 4,096 characters, data over 16 KiB and more than 1,000 alerts', async () => {
    const one = { severity: 'Info', component: 'Robots', message: 'x' };
    expect((await raise({ ...one, message: 'x'.repeat(4096) })).statusCode).toBe(202);
    expect((await raise({ ...one, message: 'x'.repeat(4097) })).json().errors[0].path).toBe('message');
    expect((await raise({ ...one, data: { s: 'x'.repeat(16 * 1024) } })).json().errors[0].path).toBe('data');
    const tooMany = await raise({ alerts: Array.from({ length: 1001 }, () => one) });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().errors[0].path).toBe('alerts');
    expect((await raise({ alerts: [] })).statusCode).toBe(400);
    expect((await raise(undefined)).statusCode).toBe(400);
  });

  it('takes a batch of 1,000 alerts with every field at its bound in accented letters, past the 20 MiB other bodies are held to', async () => {
    const data = { s: 'd'.repeat(16 * 1024 - '{"s":""}'.length) };
    expect(Buffer.byteLength(JSON.stringify(data))).toBe(16 * 1024);
    const part = 'é'.repeat(SOURCE_PART_MAX);
    const alert = {
      severity: 'Info',
      component: 'Robots',
      event: `E${'e'.repeat(127)}`,
      message: 'é'.repeat(4096),
      data,
      source: { process: part, robot: part, machine: part, queue: part, job: part },
      folder: 'é'.repeat(256),
      dedupKey: 'é'.repeat(256),
      occurredAt: new Date(clock.now()).toISOString(),
    };
    const body = JSON.stringify({ alerts: Array.from({ length: 1000 }, () => alert) });
    expect(Buffer.byteLength(body)).toBeGreaterThan(BODY_LIMIT_BYTES);
    const res = await raise(body);
    expect(res.statusCode, res.body.slice(0, 300)).toBe(202);
    expect(res.json<{ ids: string[] }>().ids).toHaveLength(1000);
    // One byte past the route's own bound is still too large.
    expect((await raise(`${' '.repeat(ALERTS_BODY_LIMIT_BYTES - 1)}{}`)).statusCode).toBe(413);
  });

  it('says in its 413 both the bound and to send the batch in smaller ones, as ideographs at every bound of 1,000 alerts pass it', async () => {
    const advice = 'Send the alerts in smaller batches';
    const over = await raise(`${' '.repeat(ALERTS_BODY_LIMIT_BYTES - 1)}{}`);
    expect(over.statusCode).toBe(413);
    expect(over.json().detail).toBe(
      `The body is over ${ALERTS_BODY_LIMIT_BYTES.toLocaleString('en')} bytes. ${advice}: a full batch fits when its texts are at their bounds in accented letters, not in ideographs or emoji.`,
    );
    const inflated = await t.tocsin.app.inject({
      method: 'POST',
      url: api,
      headers: { authorization: `Bearer ${robot}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: gzipSync(Buffer.alloc(ALERTS_BODY_LIMIT_BYTES + 1, ' ')),
    });
    expect(inflated.statusCode).toBe(413);
    expect(inflated.json().detail).toContain(`once its gzip coding is undone. ${advice}`);
    // Other routes' 413 says the bound alone.
    const other = await t.call('POST', `${api}/mark-read`, `${' '.repeat(BODY_LIMIT_BYTES)}{}`);
    expect(other.statusCode).toBe(413);
    expect(other.json().detail).toBe(`The body is over ${BODY_LIMIT_BYTES.toLocaleString('en')} bytes.`);
  });

  it('needs Alerts.Create to raise (403), a token (401), and hides other tenants (404)', async () => {
    const one = { severity: 'Info', component: 'Robots', message: 'x' };
    expect((await raise(one, viewer.token)).statusCode).toBe(403);
    expect((await raise(one, '')).statusCode).toBe(401);
    expect((await raise(one, other)).statusCode).toBe(404);
    expect((await t.call('GET', api, undefined, other)).statusCode).toBe(404);
  });

  it('lists newest first with the severity ladder, filters and a cursor', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'ladder' });
    const url = '/api/v1/tenants/ladder/alerts';
    for (const severity of ['Info', 'Success', 'Warn', 'Error', 'Fatal']) {
      clock.advance(1000);
      await t.call('POST', url, { severity, component: severity === 'Fatal' ? 'Robots' : 'Jobs', message: severity });
    }
    const sev = (q: string) => t.call('GET', `${url}?${q}`).then((r) => r.json().items.map((a: { severity: string }) => a.severity));
    expect(await sev('')).toEqual(['Fatal', 'Error', 'Warn', 'Success', 'Info']);
    expect(await sev('severity=Warning')).toEqual(['Fatal', 'Error', 'Warn']);
    expect(await sev('severity=error&component=jobs')).toEqual(['Error']);
    // A component outside the catalogue is a typo, said as for a severity, not an empty list.
    const typo = await t.call('GET', `${url}?component=Robot`);
    expect(typo.statusCode).toBe(400);
    expect(typo.headers['content-type']).toContain('application/problem+json');
    expect(typo.json().errors).toEqual([{ path: 'component', message: expect.stringContaining('must be a component of the catalogue') }]);
    expect(await sev(`since=${new Date(T0).toISOString()}&until=${new Date(clock.now()).toISOString()}&severity=Info`)).toHaveLength(4);
    const first = (await t.call('GET', `${url}?limit=2`)).json();
    expect(first.items.map((a: { message: string }) => a.message)).toEqual(['Fatal', 'Error']);
    const second = (await t.call('GET', `${url}?limit=2&cursor=${first.nextCursor}`)).json();
    expect(second.items.map((a: { message: string }) => a.message)).toEqual(['Warn', 'Success']);
    const third = (await t.call('GET', `${url}?limit=2&cursor=${second.nextCursor}`)).json();
    expect(third).toMatchObject({ items: [{ message: 'Info' }], nextCursor: null });
  });

  it('filters by the process, robot or queue of the source, as the emails link to what failed', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'sourced' });
    const url = '/api/v1/tenants/sourced/alerts';
    await t.call('POST', url, {
      alerts: [
        { severity: 'Error', component: 'Jobs', message: 'a', source: { process: 'Invoices', robot: 'R7' } },
        { severity: 'Error', component: 'Jobs', message: 'b', source: { process: 'Invoices', robot: 'R8' } },
        { severity: 'Error', component: 'Queues', message: 'c', source: { queue: 'O\'Brien "Q"' } },
        { severity: 'Error', component: 'Jobs', message: 'd' },
      ],
    });
    const messages = (q: string) =>
      t.call('GET', `${url}?${q}`).then((r) =>
        r
          .json()
          .items.map((a: { message: string }) => a.message)
          .sort(),
      );
    expect(await messages('process=Invoices')).toEqual(['a', 'b']);
    expect(await messages('process=Invoices&robot=R8')).toEqual(['b']);
    expect(await messages(`queue=${encodeURIComponent('O\'Brien "Q"')}`)).toEqual(['c']);
    expect(await messages('robot=nobody')).toEqual([]);
    // As long as an alert may name them, in characters as a reader counts them: the per-source links
    // of the emails open this list for a robot of 400 accented letters, which counted 800 code units.
    const accented = 'e\u0301'.repeat(400);
    await t.call('POST', url, { severity: 'Error', component: 'Robots', message: 'e', source: { robot: accented, process: accented, queue: accented } });
    for (const part of ['process', 'robot', 'queue']) expect(await messages(`${part}=${encodeURIComponent(accented)}`)).toEqual(['e']);
    expect((await t.call('GET', `${url}?robot=${encodeURIComponent('e\u0301'.repeat(513))}`)).json().errors[0].path).toBe('robot');
  });

  it("reads since and until with a '+' offset written unencoded in the URL, as curl sends it", async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'offsets' });
    const url = '/api/v1/tenants/offsets/alerts';
    for (const message of ['before', 'after']) {
      clock.advance(60_000);
      await t.call('POST', url, { severity: 'Info', component: 'Jobs', message });
    }
    // The second alert's time, written with the offset +01:00: a query string decodes its '+' as
    // a space, so the server sees '…T09:02:00.000 01:00'.
    const paris = new Date(clock.now() + 3_600_000).toISOString().replace('Z', '+01:00');
    const messages = async (q: string) => {
      const res = await t.call('GET', `${url}?${q}`);
      expect(res.statusCode, q).toBe(200);
      return res.json().items.map((a: { message: string }) => a.message);
    };
    expect(await messages(`since=${paris}`)).toEqual(['after']);
    expect(await messages(`until=${paris}`)).toEqual(['before']);
    expect(await messages(`since=${encodeURIComponent(paris)}`)).toEqual(['after']);
    // A space elsewhere is still no time; one between the date and the time is RFC 3339's.
    const res = await t.call('GET', `${url}?since=2026-03-01T09:02:%2000Z`);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ path: 'since', message: expect.stringMatching(/^must be a date and time with its offset from UTC/) }]);
    expect(await messages(`since=${paris.replace('T', '%20')}`)).toEqual(['after']);
  });

  it('reads since and until finer than a millisecond as the instants they name: created at or after, created before', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'fine-times' });
    const url = '/api/v1/tenants/fine-times/alerts';
    clock.advance(60_000);
    await t.call('POST', url, { severity: 'Info', component: 'Jobs', message: 'at' });
    // Created at …:00.000 (times are kept to the millisecond); …:00.000001 is a microsecond later.
    const at = new Date(clock.now()).toISOString();
    const later = at.replace('Z', '001Z');
    const messages = async (q: string) => {
      const res = await t.call('GET', `${url}?${q}`);
      expect(res.statusCode, q).toBe(200);
      return res.json().items.map((a: { message: string }) => a.message);
    };
    // The time was cut to the millisecond, so the alert was taken as created at or after, not before, a later instant.
    expect(await messages(`since=${later}`)).toEqual([]);
    expect(await messages(`until=${later}`)).toEqual(['at']);
    expect(await messages(`since=${at.replace('Z', '000Z')}`)).toEqual(['at']);
    expect(await messages(`until=${at.replace('Z', '000Z')}`)).toEqual([]);
  });

  it('answers 400 for a cursor altered by a byte, forged, or handed out in another tenant', async () => {
    for (let i = 0; i < 3; i++) await raise({ severity: 'Info', component: 'Jobs', message: `page ${i}` });
    const cursor: string = (await t.call('GET', `${api}?limit=1`, undefined, viewer.token)).json().nextCursor;
    expect((await t.call('GET', `${api}?limit=1&cursor=${cursor}`, undefined, viewer.token)).statusCode).toBe(200);
    const [createdAt, id] = Buffer.from(cursor, 'base64url').toString().split('.');
    const forged = [
      cursor.slice(0, -1),
      `${cursor.slice(0, 3)}${cursor[3] === 'A' ? 'B' : 'A'}${cursor.slice(4)}`,
      Buffer.from(`${Number(createdAt) + 1}.${id}`).toString('base64url'),
      Buffer.from(`1.${id}`).toString('base64url'),
    ];
    for (const bad of forged) {
      const res = await t.call('GET', `${api}?cursor=${bad}`, undefined, viewer.token);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().errors, bad).toEqual([{ path: 'cursor', message: 'must be a nextCursor returned by a previous page' }]);
    }
    const elsewhere = await t.call('GET', `/api/v1/tenants/globex/alerts?cursor=${cursor}`, undefined, other);
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.json().errors[0].path).toBe('cursor');
  });

  it('answers 400 for a bad severity, limit or cursor', async () => {
    for (const [q, path] of [
      ['severity=Loud', 'severity'],
      ['limit=1001', 'limit'],
      ['limit=0', 'limit'],
      // Not decimal digits: these were read as 16, 1000, 5 and 1 (a coerced number), as $top no longer is.
      ['limit=0x10', 'limit'],
      ['limit=1e3', 'limit'],
      ['limit=%2B5', 'limit'],
      ['limit=%201', 'limit'],
      ['limit=', 'limit'],
      ['cursor=bm9wZQ', 'cursor'],
      ['since=yesterday', 'since'],
    ]) {
      const res = await t.call('GET', `${api}?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(res.json().errors[0].path, q).toBe(path);
    }
  });

  it('answers 400 naming event for an event filter no alert can have, empty included, which listed every alert', async () => {
    await raise({ severity: 'Info', component: 'Jobs', message: 'one of many' });
    for (const q of ['event=', 'event=%20', 'event=job%20faulted']) {
      const res = await t.call('GET', `${api}?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(res.headers['content-type'], q).toMatch(/^application\/problem\+json/);
      expect(res.json().errors[0].path, q).toBe('event');
    }
    // A catalogue event in any case, or any name an alert may carry, still filters.
    for (const q of ['event=process.raiseAlert', 'event=No.Such.Event']) expect((await t.call('GET', `${api}?${q}`)).statusCode, q).toBe(200);
  });

  describe('read state', () => {
    let ids: string[];
    let reader: { userId: string; token: string };
    const url = '/api/v1/tenants/reading/alerts';
    beforeAll(async () => {
      const admin = await t.tenantWithUser('reading', ['Robot']);
      reader = await t.tenantWithUser('reading', ['Alerts Viewer']);
      ids = [];
      for (const severity of ['Info', 'Fatal', 'Warn', 'Error', 'Fatal', 'Success', 'Error']) {
        clock.advance(1000);
        ids.push(...(await t.call('POST', url, { severity, component: 'Jobs', message: severity }, admin.token)).json().ids);
      }
    });
    const count = async (token = reader.token) => (await t.call('GET', `${url}/unread-count`, undefined, token)).json().unread;

    it('starts with everything unread, marks ids read and unread, and lists the unread with unread=true in any case', async () => {
      expect(await count()).toBe(7);
      const marked = await t.call('POST', `${url}/mark-read`, { ids: [ids[0], ids[1], 'not-an-alert'] }, reader.token);
      expect(marked.json()).toEqual({ unread: 5 });
      const list = (await t.call('GET', `${url}?unread=true`, undefined, reader.token)).json().items;
      expect(list.map((a: { id: string }) => a.id)).not.toContain(ids[0]);
      // unread=false filters nothing, as if left out: read and unread alike.
      const every = (await t.call('GET', `${url}?unread=false`, undefined, reader.token)).json().items;
      expect(every.map((a: { id: string }) => a.id)).toEqual([...ids].reverse());
      // In any case, as severity=ERROR and OData's $count=True are read: TRUE and False were a 400.
      for (const [flag, expected] of [
        ['TRUE', list],
        ['True', list],
        ['False', every],
      ] as const) {
        const listed = await t.call('GET', `${url}?unread=${flag}`, undefined, reader.token);
        expect(listed.statusCode, flag).toBe(200);
        expect(listed.json().items, flag).toEqual(expected);
      }
      expect((await t.call('GET', `${url}?unread=yes`, undefined, reader.token)).json().errors).toEqual([{ path: 'unread', message: 'must be true or false' }]);
      expect((await t.call('GET', `${url}/${ids[0]}`, undefined, reader.token)).json().read).toBe(true);
      expect((await t.call('POST', `${url}/mark-unread`, { ids: [ids[0]] }, reader.token)).json()).toEqual({ unread: 6 });
    });

    it('shows at most five unread in the panel, most severe first then newest', async () => {
      const items = (await t.call('GET', `${url}/panel`, undefined, reader.token)).json().items;
      // Unread: Info 0, Warn 2, Error 3, Fatal 4, Success 5, Error 6 (1 was read); Info 0 is the sixth.
      expect(items.map((a: { id: string }) => a.id)).toEqual([ids[4], ids[6], ids[3], ids[2], ids[5]]);
      expect(items[0]).toMatchObject({ severity: 'Fatal', count: 1 });
    });

    it('marks everything read with all: true, and later alerts are unread again', async () => {
      expect((await t.call('POST', `${url}/mark-read`, { all: true }, reader.token)).json()).toEqual({ unread: 0 });
      expect((await t.call('GET', `${url}/panel`, undefined, reader.token)).json().items).toEqual([]);
      expect((await t.call('POST', `${url}/mark-unread`, { ids: [ids[1]] }, reader.token)).json()).toEqual({ unread: 1 });
      clock.advance(1000);
      await t.call('POST', url, { severity: 'Info', component: 'Jobs', message: 'later' });
      expect(await count()).toBe(2);
    });

    it('keeps read state per user, and the host administrator its own in each tenant, as API.md gives mark-read to every caller with Alerts.View', async () => {
      const someone = await t.tenantWithUser('reading', ['Alerts Viewer']);
      expect(await count(someone.token)).toBe(8);
      // The host administrator's token works on every tenant (API.md): it marks as a user does, for itself alone.
      expect((await t.call('GET', `${url}/unread-count`)).json()).toEqual({ unread: 8 });
      expect((await t.call('POST', `${url}/mark-read`, { ids: [ids[0], ids[1]] })).json()).toEqual({ unread: 6 });
      expect((await t.call('GET', `${url}/${ids[0]}`)).json().read).toBe(true);
      expect((await t.call('GET', `${url}?unread=true`)).json().items.map((a: { id: string }) => a.id)).not.toContain(ids[0]);
      expect((await t.call('POST', `${url}/mark-unread`, { ids: [ids[0]] })).json()).toEqual({ unread: 7 });
      expect((await t.call('GET', `${url}/panel`)).json().items.map((a: { id: string }) => a.id)).not.toContain(ids[1]);
      expect((await t.call('POST', `${url}/mark-read`, { all: true })).json()).toEqual({ unread: 0 });
      expect((await t.call('GET', `${url}/panel`)).json().items).toEqual([]);
      // No one else's: the users' counts stand, and another tenant's alerts stay unread for the host.
      expect(await count(someone.token)).toBe(8);
      expect((await t.call('GET', '/api/v1/tenants/globex/alerts/unread-count')).json()).toEqual({ unread: 0 });
      const [elsewhere] = (await t.call('POST', '/api/v1/tenants/globex/alerts', { severity: 'Info', component: 'Jobs', message: 'globex' })).json().ids;
      expect((await t.call('GET', '/api/v1/tenants/globex/alerts/unread-count')).json()).toEqual({ unread: 1 });
      expect((await t.call('POST', '/api/v1/tenants/globex/alerts/mark-read', { ids: [elsewhere] })).json()).toEqual({ unread: 0 });
      expect((await t.call('GET', `${url}/unread-count`)).json()).toEqual({ unread: 0 });
      expect((await t.call('POST', `${url}/mark-unread`, { ids: [ids[0]] })).json()).toEqual({ unread: 1 });
      expect((await t.call('POST', '/api/v1/tenants/globex/alerts/mark-unread', { ids: [elsewhere] })).json()).toEqual({ unread: 1 });
    });

    it('counts, lists and shows an alert marked unread behind the watermark, reading the index only from it on', async () => {
      const late = await t.tenantWithUser('reading', ['Alerts Viewer']);
      expect((await t.call('POST', `${url}/mark-read`, { all: true }, late.token)).json()).toEqual({ unread: 0 });
      expect((await t.call('POST', `${url}/mark-unread`, { ids: [ids[0]] }, late.token)).json()).toEqual({ unread: 1 });
      clock.advance(1000);
      const [fresh] = (await t.call('POST', url, { severity: 'Warn', component: 'Jobs', message: 'after the watermark' })).json().ids;
      expect(await count(late.token)).toBe(2);
      const unread = (await t.call('GET', `${url}?unread=true`, undefined, late.token)).json().items;
      expect(unread.map((a: { id: string }) => a.id)).toEqual([fresh, ids[0]]);
      const panel = (await t.call('GET', `${url}/panel`, undefined, late.token)).json().items;
      expect(panel.map((a: { id: string }) => a.id)).toEqual([fresh, ids[0]]);

      // The count starts the tenant's index range at the oldest unread alert, not at the tenant's first alert.
      const db = t.tocsin.deps.storage.db;
      const principal: Principal = { kind: 'user', tenantId: late.tenantId, userId: late.userId, email: '', permissions: new Set() };
      const reader = await readerFor(db, principal, late.tenantId);
      expect(reader.unreadFrom).toBe(Date.parse((await t.call('GET', `${url}/${ids[0]}`, undefined, late.token)).json().createdAt));
      expect(await planOf(db, unreadCountQuery(db, late.tenantId, reader).compile())).toMatch(
        dialect === 'sqlite' ? /SEARCH a USING (COVERING )?INDEX alerts_tenant_created \(tenant_id=\? AND created_at>\?\)/ : /Index Cond: .*created_at >=/,
      );
    });

    // The bell asks every 3 s of each open console, and shows 999+ past 999: counting every unread alert of a
    // tenant with tens of thousands (0.02 s on SQLite, 0.06 s on PostgreSQL at 50,000) told it no more.
    it('counts no further than limit when asked, every unread alert without it, and names a limit out of range', async () => {
      const fresh = await t.tenantWithUser('reading', ['Alerts Viewer']);
      const all = await count(fresh.token);
      expect(all).toBeGreaterThan(3);
      const upTo = async (limit: string) => t.call('GET', `${url}/unread-count?limit=${limit}`, undefined, fresh.token);
      expect((await upTo('3')).json()).toEqual({ unread: 3 });
      expect((await upTo(String(all))).json()).toEqual({ unread: all });
      expect((await upTo('1000')).json()).toEqual({ unread: all });
      for (const limit of ['0', 'x', '-1', '1.5']) {
        const res = await upTo(limit);
        expect(res.statusCode, limit).toBe(400);
        expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual(['limit']);
      }
    });

    it('validates mark-read bodies', async () => {
      for (const body of [{}, { ids: [] }, { ids: ['a'], all: true }, { all: false }, { ids: 'a' }]) {
        const res = await t.call('POST', `${url}/mark-read`, body, reader.token);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
      }
    });

    it('deletes an alert with Alerts.Delete only; another tenant gets 404', async () => {
      expect((await t.call('DELETE', `${url}/${ids[5]}`, undefined, reader.token)).statusCode).toBe(403);
      expect((await t.call('DELETE', `/api/v1/tenants/globex/alerts/${ids[5]}`, undefined, other)).statusCode).toBe(404);
      expect((await t.call('DELETE', `${url}/${ids[5]}`)).statusCode).toBe(204);
      expect((await t.call('DELETE', `${url}/${ids[5]}`)).statusCode).toBe(404);
      expect((await t.call('GET', `${url}/${ids[5]}`)).statusCode).toBe(404);
    });
  });

  it('collapses a flood of one dedup key into one panel line with its count', async () => {
    const flood = await t.tenantWithUser('flood', ['Robot']);
    const url = '/api/v1/tenants/flood/alerts';
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      await t.call(
        'POST',
        url,
        { alerts: Array.from({ length: 100 }, () => ({ severity: 'Error', component: 'Robots', message: 'R9 flapping', dedupKey: 'robot-9' })) },
        flood.token,
      );
    }
    await t.call('POST', url, { severity: 'Info', component: 'Jobs', message: 'alone' }, flood.token);
    const items = (await t.call('GET', `${url}/panel`, undefined, flood.token)).json().items;
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({ message: 'R9 flapping', count: 500, dedupKey: 'robot-9' });
    expect(items[1]).toMatchObject({ message: 'alone', count: 1 });
    expect((await t.call('GET', `${url}/unread-count`, undefined, flood.token)).json().unread).toBe(501);
    const members = (await t.call('GET', `${url}?groupId=${items[0].groupId}&limit=1000`, undefined, flood.token)).json().items;
    expect(members).toHaveLength(500);
    const marked = await t.call('POST', `${url}/mark-read`, { groupIds: [items[0].groupId] }, flood.token);
    expect(marked.json()).toEqual({ unread: 1 });
    expect((await t.call('POST', `${url}/mark-unread`, { groupIds: [items[0].groupId] }, flood.token)).json()).toEqual({ unread: 501 });
  });

  it("reads a panel line's alert through the alert's own key and its flood's index, not every unread alert of the tenant", async () => {
    // The panel's five floods each looked up their lead alert with an `or` of both, which SQLite
    // answered by reading the tenant's whole range of unread alerts: 0.4-2 s at 50,000 unread,
    // the event loop held, every 3 s while a console's bell panel was open.
    const db = t.tocsin.deps.storage.db;
    const { tenantId, userId } = await t.tenantWithUser('panel-plan', ['Alerts Viewer']);
    const principal: Principal = { kind: 'user', tenantId, userId, email: '', permissions: new Set() };
    const reader = await readerFor(db, principal, tenantId);
    const [byId, byGroup] = floodLeadQueries(db, tenantId, reader, 'some-flood');
    expect(await planOf(db, byId!.compile())).toMatch(
      dialect === 'sqlite' ? /SEARCH a USING INDEX sqlite_autoindex_alerts_1 \(id=\?\)/ : /Index Cond: .*\bid = /,
    );
    expect(await planOf(db, byGroup!.compile())).toMatch(
      dialect === 'sqlite' ? /SEARCH a USING INDEX alerts_tenant_group \(tenant_id=\? AND group_id=\?/ : /alerts_tenant_group/,
    );
  });

  it('needs Alerts.View to read (403) and Alerts.Delete to delete', async () => {
    const nobody = await t.tenantWithUser('acme', []);
    for (const path of ['', '/unread-count', '/panel']) {
      expect((await t.call('GET', `${api}${path}`, undefined, nobody.token)).statusCode, path).toBe(403);
    }
    expect((await t.call('POST', `${api}/mark-read`, { all: true }, nobody.token)).statusCode).toBe(403);
    expect((await t.call('GET', `${api}/catalogue`, undefined, nobody.token)).statusCode).toBe(200);
  });

  it('documents the alert routes in the OpenAPI document', async () => {
    const doc = (await t.call('GET', '/api/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/tenants/{tenant}/alerts', '/api/v1/tenants/{tenant}/alerts/panel', '/odata/Alerts', '/api/Account/Authenticate']),
    );
  });

  it("documents in the OpenAPI document how data's 16 KiB is counted, and holds to it at the edge", async () => {
    const doc = (await t.call('GET', '/api/openapi.json')).json();
    const found: { description?: string }[] = [];
    const walk = (node: unknown): void => {
      if (typeof node !== 'object' || node === null) return;
      const properties = (node as { properties?: Record<string, { description?: string; maxLength?: number }> }).properties;
      if (properties?.data && properties.message?.maxLength === 4096) found.push(properties.data);
      for (const value of Object.values(node)) walk(value);
    };
    walk(doc.paths['/api/v1/tenants/{tenant}/alerts'].post);
    expect(found.length).toBeGreaterThan(0);
    for (const data of found) expect(data.description).toMatch(/16 KiB \(16,384 bytes\).*UTF-8.*JSON/);
    // 16,384 bytes of UTF-8 JSON: "é" takes two bytes, so 8,188 of them with {"k":""} are the most.
    const alert = (n: number) => ({ severity: 'Info', component: 'Jobs', message: 'm', data: { k: 'é'.repeat(n) } });
    expect((await t.call('POST', api, alert(8188), robot)).statusCode).toBe(202);
    expect((await t.call('POST', api, alert(8189), robot)).statusCode).toBe(400);
  });

  it('serves the catalogue with default severities and five languages', async () => {
    const res = await t.call('GET', `${api}/catalogue`, undefined, viewer.token);
    expect(res.statusCode).toBe(200);
    const robots = res.json().components.find((c: { name: string }) => c.name === 'Robots');
    const offline = robots.events.find((e: { name: string }) => e.name === 'Robot.StatusChanged.Offline');
    expect(offline).toMatchObject({ defaultSeverity: 'Fatal', displayName: { en: 'Robot offline', fr: 'Robot hors ligne' } });
    expect(Object.keys(offline.displayName).sort()).toEqual(['de', 'en', 'es', 'fr', 'ja']);
  });

  it("takes no more alerts from the request after its tenant's deletion, by name or by id (the tenants of raising requests are kept)", async () => {
    const alert = { severity: 'Info', component: 'Jobs', message: 'Run finished' };
    const id = (await t.call('POST', '/api/v1/tenants', { name: 'soon-deleted' })).json<{ id: string }>().id;
    for (const ref of ['soon-deleted', id]) expect((await t.call('POST', `/api/v1/tenants/${ref}/alerts`, alert)).statusCode).toBe(202);
    expect((await t.call('DELETE', '/api/v1/tenants/soon-deleted')).statusCode).toBe(204);
    for (const ref of ['soon-deleted', id]) expect((await t.call('POST', `/api/v1/tenants/${ref}/alerts`, alert)).statusCode).toBe(404);
  });
  it('gives no nextCursor when a page ends at the last alert, so a client never fetches an empty page', async () => {
    const pages = await t.tenantWithUser('pages', ['Robot']);
    const url = '/api/v1/tenants/pages/alerts';
    for (const message of ['a', 'b', 'c']) {
      clock.advance(1000);
      await t.call('POST', url, { severity: 'Info', component: 'Jobs', message }, pages.token);
    }
    expect((await t.call('GET', `${url}?limit=3`, undefined, pages.token)).json()).toMatchObject({ items: [{}, {}, {}], nextCursor: null });
    const first = (await t.call('GET', `${url}?limit=2`, undefined, pages.token)).json();
    expect(first.nextCursor).toEqual(expect.any(String));
    expect((await t.call('GET', `${url}?limit=1&cursor=${first.nextCursor}`, undefined, pages.token)).json()).toMatchObject({
      items: [{ message: 'a' }],
      nextCursor: null,
    });
  });

  it("shows on a flood's panel line its most severe alert, then its newest, whether that is the flood's first alert or a repeat", async () => {
    const leads = await t.tenantWithUser('leads', ['Robot']);
    const url = '/api/v1/tenants/leads/alerts';
    const raiseIn = async (severity: string, message: string, dedupKey: string) => {
      clock.advance(1000);
      await t.call('POST', url, { severity, component: 'Robots', message, dedupKey }, leads.token);
    };
    await raiseIn('Fatal', 'R1 down', 'robot-1');
    await raiseIn('Error', 'R1 still flapping', 'robot-1');
    await raiseIn('Error', 'R2 flapping', 'robot-2');
    await raiseIn('Error', 'R2 flapping again', 'robot-2');
    const items = (await t.call('GET', `${url}/panel`, undefined, leads.token)).json().items;
    expect(items.map((a: { message: string; count: number }) => [a.message, a.count])).toEqual([
      ['R1 down', 2],
      ['R2 flapping again', 2],
    ]);
  });

  it('lists and marks read a lone alert by its groupId, as a panel line of one alert gives it', async () => {
    const lone = await t.tenantWithUser('lone', ['Robot']);
    const url = '/api/v1/tenants/lone/alerts';
    clock.advance(1000);
    await t.call('POST', url, { severity: 'Error', component: 'Jobs', message: 'alone' }, lone.token);
    clock.advance(1000);
    await t.call('POST', url, { severity: 'Info', component: 'Jobs', message: 'other' }, lone.token);
    const line = (await t.call('GET', `${url}/panel`, undefined, lone.token)).json().items[0];
    expect(line).toMatchObject({ message: 'alone', count: 1 });
    const members = (await t.call('GET', `${url}?groupId=${line.groupId}`, undefined, lone.token)).json().items;
    expect(members.map((a: { message: string }) => a.message)).toEqual(['alone']);
    expect((await t.call('POST', `${url}/mark-read`, { groupIds: [line.groupId] }, lone.token)).json()).toEqual({ unread: 1 });
  });

  it('marks everything read, alerts stored in the same millisecond included: the list and the count agree, and none is left unread', async () => {
    const same = await t.tenantWithUser('same-ms', ['Robot']);
    const url = '/api/v1/tenants/same-ms/alerts';
    const listed = async () =>
      (await t.call('GET', url, undefined, same.token)).json().items.map((a: { message: string; read: boolean }) => [a.message, a.read]);
    clock.advance(1000);
    await t.call('POST', url, { severity: 'Error', component: 'Jobs', message: 'a' }, same.token);
    expect((await t.call('POST', `${url}/mark-read`, { all: true }, same.token)).json()).toEqual({ unread: 0 });
    expect(await listed()).toEqual([['a', true]]);
    // One marked unread and then everything read, in the same millisecond as it was stored.
    clock.advance(1000);
    const [b] = (await t.call('POST', url, { severity: 'Error', component: 'Jobs', message: 'b' }, same.token)).json().ids;
    expect((await t.call('POST', `${url}/mark-unread`, { ids: [b] }, same.token)).json()).toEqual({ unread: 1 });
    expect((await t.call('POST', `${url}/mark-read`, { all: true }, same.token)).json()).toEqual({ unread: 0 });
    // One stored after that mark within its millisecond (stamped past it), then everything read again.
    await t.call('POST', url, { severity: 'Error', component: 'Jobs', message: 'c' }, same.token);
    expect((await t.call('GET', `${url}/unread-count`, undefined, same.token)).json()).toEqual({ unread: 1 });
    expect((await t.call('POST', `${url}/mark-read`, { all: true }, same.token)).json()).toEqual({ unread: 0 });
    expect(await listed()).toEqual([
      ['c', true],
      ['b', true],
      ['a', true],
    ]);
  });

  // An Alert is its input plus id, createdAt and read (API.md): a source given with no parts comes back as
  // given, as data {} does, and a part set to null as left out; only a source left out, or null, is null.
  it('gives back a source given with no parts as the empty source it is, and refuses an empty folder or dedupKey, or one over 256 characters, naming it', async () => {
    const [id] = (await raise({ severity: 'Info', component: 'Jobs', message: 'no parts', source: {}, data: {} })).json().ids;
    const given = (await t.call('GET', `${api}/${id}`, undefined, robot)).json();
    expect([given.source, given.data]).toEqual([{}, {}]);
    const [nulls] = (await raise({ severity: 'Info', component: 'Jobs', message: 'null parts', source: { robot: null } })).json().ids;
    expect((await t.call('GET', `${api}/${nulls}`, undefined, robot)).json().source).toEqual({});
    for (const left of [{}, { source: null }]) {
      const [none] = (await raise({ severity: 'Info', component: 'Jobs', message: 'no source', ...left })).json().ids;
      expect((await t.call('GET', `${api}/${none}`, undefined, robot)).json().source).toBeNull();
    }
    for (const field of ['folder', 'dedupKey']) {
      for (const value of ['', 'k'.repeat(257)]) {
        const res = await raise({ severity: 'Info', component: 'Jobs', message: 'refused', [field]: value });
        expect(res.statusCode, `${field} of ${value.length}`).toBe(400);
        expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual([field]);
      }
      expect((await raise({ severity: 'Info', component: 'Jobs', message: 'longest', [field]: 'k'.repeat(256) })).statusCode, field).toBe(202);
    }
  });
  it('filters by a catalogue event written in any case, as it filters by a component', async () => {
    const events = await t.tenantWithUser('events', ['Robot']);
    const url = '/api/v1/tenants/events/alerts';
    clock.advance(1000);
    await t.call('POST', url, { severity: 'Error', component: 'Robots', event: 'Robot.StatusChanged.NotResponding', message: 'R1 down' }, events.token);
    await t.call('POST', url, { severity: 'Error', component: 'Jobs', message: 'other' }, events.token);
    const listed = await t.call('GET', `${url}?event=robot.statuschanged.notresponding`, undefined, events.token);
    expect(listed.json().items.map((a: { message: string }) => a.message)).toEqual(['R1 down']);
  });
  it('pages through a batch stored in one millisecond newest first, each alert once, none skipped', async () => {
    const batch = await t.tenantWithUser('batch-pages', ['Robot']);
    const url = '/api/v1/tenants/batch-pages/alerts';
    clock.advance(1000);
    const raised = (
      await t.call('POST', url, { alerts: Array.from({ length: 7 }, (_, i) => ({ severity: 'Info', component: 'Jobs', message: `m${i}` })) }, batch.token)
    ).json().ids;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = (
        await t.call('GET', `${url}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, undefined, batch.token)
      ).json();
      seen.push(...page.items.map((a: { id: string }) => a.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...raised].reverse());
  });
  it("keeps each reader's marks to the reader and the tenant: another user's mark-all-read, or the host administrator's in another tenant, changes none of them", async () => {
    const a = await t.tenantWithUser('marks-a', ['Robot']);
    const reader1 = await t.tenantWithUser('marks-a', ['Alerts Viewer']);
    const reader2 = await t.tenantWithUser('marks-a', ['Alerts Viewer']);
    const b = await t.tenantWithUser('marks-b', ['Robot']);
    clock.advance(1000);
    const [a1] = (await t.call('POST', '/api/v1/tenants/marks-a/alerts', { severity: 'Error', component: 'Jobs', message: 'a1' }, a.token)).json().ids;
    await t.call('POST', '/api/v1/tenants/marks-a/alerts', { severity: 'Error', component: 'Jobs', message: 'a2' }, a.token);
    const [b1] = (await t.call('POST', '/api/v1/tenants/marks-b/alerts', { severity: 'Error', component: 'Jobs', message: 'b1' }, b.token)).json().ids;
    const count = async (tenant: string, token?: string) =>
      (await t.call('GET', `/api/v1/tenants/${tenant}/alerts/unread-count`, undefined, token)).json().unread;
    // One user's alert read by id, then another user marks everything read: the first keeps theirs.
    expect((await t.call('POST', '/api/v1/tenants/marks-a/alerts/mark-read', { ids: [a1] }, reader1.token)).json()).toEqual({ unread: 1 });
    clock.advance(1000);
    expect((await t.call('POST', '/api/v1/tenants/marks-a/alerts/mark-read', { all: true }, reader2.token)).json()).toEqual({ unread: 0 });
    expect(await count('marks-a', reader1.token)).toBe(1);
    // The host administrator naming another tenant's alert in this one marks nothing there.
    await t.call('POST', '/api/v1/tenants/marks-a/alerts/mark-read', { ids: [b1] });
    expect(await count('marks-b')).toBe(1);
    // Its mark-all-read in one tenant leaves the other's alerts unread.
    expect((await t.call('POST', '/api/v1/tenants/marks-b/alerts/mark-read', { all: true })).json()).toEqual({ unread: 0 });
    expect(await count('marks-a')).toBe(2);
  });

  it("marks the alerts and floods named by their ids, not by walking the tenant's alerts, and never another tenant's", async () => {
    const c = await t.tenantWithUser('marks-c', ['Robot']);
    const reader = await t.tenantWithUser('marks-c', ['Alerts Viewer']);
    const d = await t.tenantWithUser('marks-d', ['Robot']);
    const raiseIn = async (tenant: string, token: string, body: unknown) => {
      clock.advance(1000);
      return (await t.call('POST', `/api/v1/tenants/${tenant}/alerts`, body, token)).json<{ ids: string[] }>().ids;
    };
    const flood = (key: string) => ({ alerts: [1, 2, 3].map((i) => ({ severity: 'Error', component: 'Robots', message: `${key} ${i}`, dedupKey: key })) });
    const lone = await raiseIn('marks-c', c.token, { alerts: [1, 2, 3].map((i) => ({ severity: 'Error', component: 'Jobs', message: `lone ${i}` })) });
    const repeats = await raiseIn('marks-c', c.token, flood('robot-c'));
    const theirs = await raiseIn('marks-d', d.token, { severity: 'Error', component: 'Jobs', message: 'theirs' });
    const theirFlood = await raiseIn('marks-d', d.token, flood('robot-d'));
    let answer: unknown;
    // A panel line's click and a selection at once: ids, and floods by their first alert's id.
    const plan = await sqlitePlanOf('insert into "alert_read_state"', async () => {
      const selection = { ids: [lone[0], lone[1], theirs[0]], groupIds: [repeats[0], theirFlood[0]] };
      answer = (await t.call('POST', '/api/v1/tenants/marks-c/alerts/mark-read', selection, reader.token)).json();
    });
    expect(answer).toEqual({ unread: 1 });
    const marked = await t.tocsin.deps.storage.db.selectFrom('alert_read_state').select('alert_id').where('user_id', '=', reader.userId).execute();
    expect(marked.map((r) => r.alert_id).sort()).toEqual([lone[0], lone[1], ...repeats].sort());
    if (dialect === 'sqlite') {
      // Each side of the `or` by its index; before, SEARCH alerts USING INDEX alerts_tenant_created (tenant_id=?).
      expect(plan?.filter((detail) => /^(SCAN|SEARCH) alerts /.test(detail))).toEqual([
        expect.stringMatching(/^SEARCH alerts USING INDEX sqlite_autoindex_alerts_1 \(id=\?\)/),
        expect.stringMatching(/^SEARCH alerts USING COVERING INDEX alerts_tenant_group \(tenant_id=\? AND group_id=\?\)/),
      ]);
    }
  });
});

// Another process (a second `api` process, an `all` one) deletes or re-creates a tenant: this
// process keeps the tenants of raising requests for READ_CACHE_MS, and learns of it only from the
// database. Simulated here by writing to the database directly, as the other process would.
describeEachDialect('raising alerts for a tenant another process deleted or re-created', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(T0);
  beforeAll(async () => {
    t = await startTestApp(dialect, {}, { clock });
  });
  afterAll(() => t.close());

  const raise = (tenant: string, token?: string) =>
    t.call('POST', `/api/v1/tenants/${tenant}/alerts`, { severity: 'Error', component: 'Robots', message: 'robot down' }, token);

  it('answers 404 for a tenant deleted elsewhere, and stores alerts in the tenant re-created under its name', async () => {
    const db = t.tocsin.deps.storage.db;
    const first = (await t.call('POST', '/api/v1/tenants', { name: 'phoenix' })).json<{ id: string }>();
    expect((await raise('phoenix')).statusCode).toBe(202);

    await deleteTenant(db, first.id);
    const gone = await raise('phoenix');
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ status: 404, detail: expect.stringMatching(/tenant/i) });

    const again = await createTenant(db, { name: 'phoenix' }, clock);
    const stored = await raise('phoenix');
    expect(stored.statusCode).toBe(202);
    const listed = (await t.call('GET', `/api/v1/tenants/${again.id}/alerts`)).json<{ items: { id: string }[] }>();
    expect(listed.items.map((a) => a.id)).toEqual(stored.json<{ ids: string[] }>().ids);

    // A user of a tenant re-created again, whose token this process has never seen, raises under its name too.
    await deleteTenant(db, again.id);
    const third = await createTenant(db, { name: 'phoenix' }, clock);
    const userId = await createUser(db, third.id, { email: 'robot@phoenix.example.com', name: 'Robot', roles: ['Robot'] }, clock);
    const token = (await createApiToken(db, third.id, userId, 'robot', clock)).token;
    expect((await raise('phoenix', token)).statusCode).toBe(202);
    expect((await raise('phoenix')).statusCode).toBe(202);
  });
});
