import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { captureLog } from '../../test/support/log-capture.js';
import { FakeClock } from '../shared/clock.js';
import { ReadCache } from '../shared/read-cache.js';
import { planOnce } from './receive.js';
import { signingKey } from './secrets.js';
import { DELIVERY_KEY_DAYS, purgeOldDeliveries, requireSource, rotateSecret } from './store.js';
import { MAX_TIMESTAMP_SKEW_MS, signOrchestrator, signStandardWebhook } from './signatures.js';

const TENANT = 'acme-receive';
const base = `/api/v1/tenants/${TENANT}/sources`;

interface Created {
  id: string;
  url: string;
  secret: string;
}

/** Helpers bound to one test app and tenant: create sources, post to them signed or not, read alerts. */
function harness(get: () => TestApp, tenant = TENANT) {
  const base = `/api/v1/tenants/${tenant}/sources`;
  const create = async (kind: string, extra: Record<string, unknown> = {}): Promise<Created> => {
    const res = await get().call('POST', base, { name: `${kind}-${crypto.randomUUID().slice(0, 8)}`, kind, ...extra });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };
  const post = (source: Created, body: string | Buffer, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    get().tocsin.app.inject({ method: 'POST', url: new URL(source.url).pathname, headers: { 'content-type': 'application/json', ...headers }, payload: body });
  const orchestrator = (source: Created, event: Record<string, unknown>, secret = source.secret) => {
    const body = JSON.stringify(event);
    return post(source, body, { 'x-uipath-signature': signOrchestrator(Buffer.from(secret), body) });
  };
  const standard = (source: Created, payload: unknown, options: { id?: string; at?: number; secret?: string } = {}) => {
    const body = JSON.stringify(payload);
    const id = options.id ?? `msg_${crypto.randomUUID()}`;
    const timestamp = String(Math.floor((options.at ?? Date.now()) / 1000));
    const signature = signStandardWebhook(signingKey('webhook', options.secret ?? source.secret), id, timestamp, body);
    return post(source, body, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature });
  };
  const alertmanager = (source: Created, payload: unknown, authorization = `Bearer ${source.secret}`) =>
    post(source, JSON.stringify(payload), { authorization });
  const alerts = async (ids: string[]) => {
    const res = await get().call('GET', `/api/v1/tenants/${tenant}/alerts?limit=1000`);
    return res.json<{ items: Record<string, any>[] }>().items.filter((a) => ids.includes(a.id));
  };
  const stats = async (source: Created) => (await get().call('GET', `${base}/${source.id}`)).json().stats;
  return { create, post, orchestrator, standard, alertmanager, alerts, stats };
}

// Orchestrator events must be dated within 5 minutes of Tocsin's clock: each is dated when it is made,
// not when the file was loaded (this file runs for minutes on a loaded machine, both dialects after it).
const jobFaulted = (eventId: string, key = crypto.randomUUID(), folder = 7) => ({
  Type: 'job.faulted',
  EventId: eventId,
  Timestamp: new Date().toISOString(),
  Job: {
    Id: 148671,
    Key: key,
    State: 'Faulted',
    Info: 'This workflow always fails\r\n   at InvalidOperationException …',
    Robot: { Id: 4778, Name: 'local', MachineName: 'PC-DOC' },
    Release: { Key: '8fad9c36', ProcessKey: 'FailingJob' },
  },
  TenantId: 1,
  OrganizationUnitId: folder,
});

const amPayload = (alerts: Record<string, unknown>[]) => ({
  version: '4',
  groupKey: '{}:{alertname="RobotHostDown"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'tocsin',
  groupLabels: { alertname: 'RobotHostDown' },
  commonLabels: {},
  externalURL: 'http://am:9093',
  alerts,
});
const amAlert = (overrides: Record<string, unknown> = {}) => ({
  status: 'firing',
  labels: { alertname: 'RobotHostDown', instance: 'vm1', severity: 'critical' },
  annotations: { summary: 'vm1 down' },
  startsAt: '2026-05-01T10:00:00Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prom/graph',
  fingerprint: 'a1b2c3d4e5f6a7b8',
  ...overrides,
});

describe('planOnce', () => {
  it('stores the alerts whose key is new, once each, and answers earlier ids for the others in their order', () => {
    const plan = planOnce(['a', 'b', 'a', 'c'], new Map([['b', { ids: ['old-b'] }]]));
    expect(plan.fresh).toEqual([0, 3]);
    expect(plan.answer(['new-a', 'new-c'])).toEqual(['new-a', 'old-b', 'new-a', 'new-c']);
  });
});

describeEachDialect('receiving from sources', (dialect) => {
  let t: TestApp;
  const h = harness(() => t);

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_PUBLIC_URL: 'https://tocsin.example.com' });
    await t.call('POST', '/api/v1/tenants', { name: TENANT });
  });
  afterAll(() => t.close());

  describe('orchestrator-webhook', () => {
    it('stores a signed job.faulted as a Jobs error with source, folder, message and the payload in data', async () => {
      const source = await h.create('orchestrator-webhook');
      const event = jobFaulted('ev-1');
      const res = await h.orchestrator(source, event);
      expect(res.statusCode, res.body).toBe(202);
      const [alert] = await h.alerts(res.json().ids);
      expect(alert).toMatchObject({
        severity: 'Error',
        component: 'Jobs',
        event: 'Process.JobExecution.Faulted',
        message: 'Job FailingJob #148671 faulted on local (PC-DOC): This workflow always fails',
        source: { process: 'FailingJob', robot: 'local', machine: 'PC-DOC' },
        folder: '7',
        occurredAt: event.Timestamp,
      });
      expect(alert!.data.payload.EventId).toBe('ev-1');
      const stats = await h.stats(source);
      expect(stats).toMatchObject({ accepted: 1, rejected: 0, lastError: null });
      expect(stats.lastReceivedAt).not.toBeNull();
    });

    it('keeps what the API keeps (principals, tenants, readers) across a received event, which changes none of them', async () => {
      const source = await h.create('orchestrator-webhook');
      const forgotten = vi.spyOn(ReadCache.prototype, 'forget');
      const principals = vi.spyOn(t.tocsin.deps.authenticator, 'forget');
      try {
        expect((await h.orchestrator(source, jobFaulted('ev-kept'))).statusCode).toBe(202);
        expect(forgotten).not.toHaveBeenCalled();
        expect(principals).not.toHaveBeenCalled();
      } finally {
        forgotten.mockRestore();
        principals.mockRestore();
      }
    });

    it('accepts sha256=hex, refuses a bad or missing signature with a bare 401 and counts it', async () => {
      const source = await h.create('orchestrator-webhook');
      const body = JSON.stringify(jobFaulted('ev-hex'));
      const hex = crypto.createHmac('sha256', source.secret).update(body).digest('hex');
      expect((await h.post(source, body, { 'x-uipath-signature': `sha256=${hex}` })).statusCode).toBe(202);
      const bad = await h.orchestrator(source, jobFaulted('ev-bad'), 'not the secret');
      expect(bad.statusCode).toBe(401);
      expect(bad.headers['content-type']).toContain('application/problem+json');
      expect(bad.body).not.toContain('signature');
      expect((await h.post(source, body)).statusCode).toBe(401);
      // A body changed after signing (here: re-serialised with spaces) is not the signed bytes.
      expect((await h.post(source, JSON.stringify(JSON.parse(body), null, 1), { 'x-uipath-signature': `sha256=${hex}` })).statusCode).toBe(401);
      const stats = await h.stats(source);
      expect(stats).toMatchObject({ accepted: 1, rejected: 3 });
      expect(stats.lastError).toMatch(/refused/);
    });

    it('refuses an event dated more than 5 minutes from now (stale, or a replay its delivery keys may have forgotten) with a bare 401, counted', async () => {
      const source = await h.create('orchestrator-webhook');
      const minutes = (n: number) => new Date(Date.now() + n * 60_000).toISOString();
      const old = await h.orchestrator(source, { ...jobFaulted('old'), Timestamp: minutes(-6) });
      expect(old.statusCode).toBe(401);
      expect(old.headers['content-type']).toContain('application/problem+json');
      expect(old.body).not.toMatch(/Timestamp/);
      expect((await h.orchestrator(source, { ...jobFaulted('ahead'), Timestamp: minutes(6) })).statusCode).toBe(401);
      expect(await h.stats(source)).toMatchObject({ accepted: 0, rejected: 2, lastError: expect.stringMatching(/^refused: Timestamp .* more than 5 minutes/) });
      // Late within the 5 minutes (a sender's clock or queue behind), or undated: stored.
      expect((await h.orchestrator(source, { ...jobFaulted('late'), Timestamp: minutes(-4) })).statusCode).toBe(202);
      const { Timestamp: _none, ...undated } = jobFaulted('undated');
      expect((await h.orchestrator(source, undated)).statusCode).toBe(202);
      expect(MAX_TIMESTAMP_SKEW_MS).toBeLessThan(DELIVERY_KEY_DAYS * 86_400_000);
    });

    it('refuses an event whose Timestamp, or the EventTime read without one, is no time with a 400 naming it, counted, and takes every form Orchestrator writes', async () => {
      // Read as no time, such an event was stored at its receipt time and never met the freshness check.
      const source = await h.create('orchestrator-webhook');
      const { Timestamp: _none, ...undated } = jobFaulted('undated');
      const refused: [Record<string, unknown>, string][] = [
        [{ ...jobFaulted('words'), Timestamp: 'yesterday' }, 'Timestamp'],
        [{ ...jobFaulted('empty'), Timestamp: '' }, 'Timestamp'],
        [{ ...jobFaulted('number'), Timestamp: 12 }, 'Timestamp'],
        [{ ...jobFaulted('words-first'), Timestamp: 'yesterday', EventTime: new Date().toISOString() }, 'Timestamp'],
        [{ ...undated, EventId: 'event-time', EventTime: 'now' }, 'EventTime'],
      ];
      for (const [event, path] of refused) {
        const res = await h.orchestrator(source, event);
        expect(res.statusCode, `${event.EventId}: ${res.body}`).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json(), String(event.EventId)).toMatchObject({ errors: [{ path, message: expect.stringMatching(/^must be a date and time/) }] });
      }
      expect(await h.stats(source)).toMatchObject({
        accepted: 0,
        rejected: refused.length,
        lastError: expect.stringMatching(/^EventTime: must be a date and time/),
      });
      const [reception] = (await t.call('GET', `${base}/${source.id}/receptions`)).json().items;
      expect(reception).toMatchObject({ outcome: 'invalid', status: 400 });

      const now = new Date();
      const ahead = new Date(now.getTime() + 2 * 3_600_000).toISOString().slice(0, 19);
      const written = {
        utc: now.toISOString(),
        offset: `${ahead}+02:00`,
        dotNet: now.toISOString().replace('Z', '1234Z'),
        whole: now.toISOString().replace(/\.\d+Z$/, 'Z'),
        zoneless: now.toISOString().replace('Z', ''),
      };
      for (const [form, Timestamp] of Object.entries(written)) {
        const res = await h.orchestrator(source, { ...jobFaulted(`form-${form}`), Timestamp });
        expect(res.statusCode, `${form} ${Timestamp}: ${res.body}`).toBe(202);
        const [alert] = await h.alerts(res.json().ids);
        expect(Math.abs(Date.parse(alert!.occurredAt) - now.getTime()), form).toBeLessThan(1_000);
      }
      const eventTime = await h.orchestrator(source, { ...undated, EventId: 'event-time-read', EventTime: written.whole });
      expect(eventTime.statusCode, eventTime.body).toBe(202);
      expect((await h.orchestrator(source, { ...undated, EventId: 'undated-null', Timestamp: null })).statusCode).toBe(202);
    });

    it('accepts the previous secret until the next rotation', async () => {
      const source = await h.create('orchestrator-webhook');
      const second = (await t.call('POST', `${base}/${source.id}/rotate-secret`)).json().secret;
      expect((await h.orchestrator(source, jobFaulted('rot-1'))).statusCode).toBe(202);
      expect((await h.orchestrator(source, jobFaulted('rot-2'), second)).statusCode).toBe(202);
      await t.call('POST', `${base}/${source.id}/rotate-secret`);
      expect((await h.orchestrator(source, jobFaulted('rot-3'))).statusCode).toBe(401);
      expect((await h.orchestrator(source, jobFaulted('rot-4'), second)).statusCode).toBe(202);
    });

    it('accepts both secrets that two rotations made at the same time answered, until the next rotation', async () => {
      // One rotation deleted "all but the two newest" as it had read them, so a secret another had just
      // added (and answered with 200) was gone: the sender set up with it got 401.
      for (let round = 0; round < 5; round++) {
        const source = await h.create('orchestrator-webhook');
        const rotated = await Promise.all([0, 1].map(() => t.call('POST', `${base}/${source.id}/rotate-secret`)));
        for (const [i, answer] of rotated.entries()) {
          expect(answer.statusCode).toBe(200);
          expect((await h.orchestrator(source, jobFaulted(`race-${round}-${i}`), answer.json().secret)).statusCode, `round ${round}, rotation ${i}`).toBe(202);
        }
      }
    });

    it('takes every event signed with the current secret while a rotation runs: the previous secret never fails, even for a moment', async () => {
      // A rotation added the new secret and retired the oldest in two commits: an event whose source
      // was read between them found the source changed again when it stored, and got a 503.
      const source = await h.create('orchestrator-webhook');
      let secret = source.secret;
      const refused: string[] = [];
      for (let round = 0; round < 20; round++) {
        const [rotated, ...events] = await Promise.all([
          t.call('POST', `${base}/${source.id}/rotate-secret`),
          ...Array.from({ length: 8 }, (_, i) => h.orchestrator(source, jobFaulted(`rotating-${round}-${i}`), secret)),
        ]);
        expect(rotated!.statusCode).toBe(200);
        for (const event of events) if (event.statusCode !== 202) refused.push(`round ${round}: ${event.statusCode} ${event.body}`);
        secret = rotated!.json().secret;
      }
      expect(refused).toEqual([]);
    });

    it('accepts a secret rotated by another process at once, although this one holds the source for a second', async () => {
      const source = await h.create('orchestrator-webhook');
      expect((await h.orchestrator(source, jobFaulted('cache-1'))).statusCode).toBe(202);
      const { storage, secretBox, clock } = t.tocsin.deps;
      const row = await requireSource(storage.db, (await t.call('GET', `/api/v1/tenants/${TENANT}`)).json().id, source.id);
      const rotated = await rotateSecret(storage.db, secretBox, clock, row);
      expect((await h.orchestrator(source, jobFaulted('cache-2'), rotated)).statusCode).toBe(202);
    });

    it('refuses at once the secret that two rotations through another process retired, although this one holds the source for a second', async () => {
      const source = await h.create('orchestrator-webhook');
      expect((await h.orchestrator(source, jobFaulted('retired-1'))).statusCode).toBe(202);
      const { storage, secretBox, clock } = t.tocsin.deps;
      const row = await requireSource(storage.db, (await t.call('GET', `/api/v1/tenants/${TENANT}`)).json().id, source.id);
      await rotateSecret(storage.db, secretBox, clock, row);
      const newest = await rotateSecret(storage.db, secretBox, clock, row);
      const refused = await h.orchestrator(source, jobFaulted('retired-2'));
      expect(refused.statusCode).toBe(401);
      expect((await h.orchestrator(source, jobFaulted('retired-3'), newest)).statusCode).toBe(202);
      // The refused event stored nothing: its EventId is new to the source.
      const again = await h.orchestrator(source, jobFaulted('retired-2'), newest);
      expect(again.statusCode).toBe(202);
      expect(await h.alerts(again.json().ids)).toHaveLength(1);
    });

    it('refuses at once the events of a source disabled through another process, storing nothing of them, and takes them at once when enabled again there', async () => {
      const source = await h.create('orchestrator-webhook');
      expect((await h.orchestrator(source, jobFaulted('disabled-1'))).statusCode).toBe(202);
      const { storage } = t.tocsin.deps;
      await storage.db.updateTable('sources').set({ enabled: 0 }).where('id', '=', source.id).execute();
      expect((await h.orchestrator(source, jobFaulted('disabled-2'))).statusCode).toBe(404);
      expect(await h.stats(source)).toMatchObject({ accepted: 1 });
      const stored = await storage.db.selectFrom('source_deliveries').select('delivery_id').where('source_id', '=', source.id).execute();
      expect(stored.map((r) => r.delivery_id).filter((key) => key.includes('disabled-2'))).toEqual([]);
      // A sender such as Alertmanager drops what a 4xx answers: the event after the re-enabling is not refused from a cached copy.
      await storage.db.updateTable('sources').set({ enabled: 1 }).where('id', '=', source.id).execute();
      expect((await h.orchestrator(source, jobFaulted('disabled-3'))).statusCode).toBe(202);
    });

    it('counts every bad signature of a flood sent at once in a few writes, not one each, and still takes the good one', async () => {
      const source = await h.create('alertmanager');
      const payload = amPayload([amAlert({ fingerprint: crypto.randomBytes(8).toString('hex') })]);
      const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => h.alertmanager(source, payload, `Bearer not-the-secret-${i}`)));
      expect(answers.map((a) => a.statusCode)).toEqual(Array(60).fill(401));
      expect(await h.stats(source)).toMatchObject({ accepted: 0, rejected: 60, lastError: expect.stringMatching(/^refused/) });
      // Each write of the log is one entry: 60 requests written one by one would fill its 20 slots.
      const log = (await t.call('GET', `${base}/${source.id}/receptions`)).json().items;
      expect(log.length).toBeLessThan(10);
      expect((await h.alertmanager(source, payload)).statusCode).toBe(202);
      expect(await h.stats(source)).toMatchObject({ accepted: 1, rejected: 60 });
    });

    it('answers a redelivered event (same EventId) with the same ids and stores it once, also when concurrent', async () => {
      const source = await h.create('orchestrator-webhook');
      const dup = jobFaulted('dup-1');
      const first = await h.orchestrator(source, dup);
      const again = await h.orchestrator(source, dup);
      expect(again.statusCode).toBe(202);
      expect(again.json().ids).toEqual(first.json().ids);

      const key = crypto.randomUUID();
      const concurrent = jobFaulted('dup-2', key);
      const answers = await Promise.all(Array.from({ length: 6 }, () => h.orchestrator(source, concurrent)));
      expect(answers.map((a) => a.statusCode)).toEqual(Array(6).fill(202));
      const ids = new Set(answers.map((a) => a.json().ids.join()));
      expect(ids.size).toBe(1);
      const stored = await t.tocsin.deps.storage.db.selectFrom('alerts').select('id').where('dedup_key', '=', `job.faulted:${key}`).execute();
      expect(stored).toHaveLength(1);
    });

    it('answers an EventId seen before with its first ids even when the body names another job: the event id keys a redelivery (API.md)', async () => {
      const source = await h.create('orchestrator-webhook');
      const first = await h.orchestrator(source, jobFaulted('same-id'));
      const other = crypto.randomUUID();
      const again = await h.orchestrator(source, jobFaulted('same-id', other));
      expect(again.statusCode, again.body).toBe(202);
      expect(again.json().ids).toEqual(first.json().ids);
      const stored = await t.tocsin.deps.storage.db.selectFrom('alerts').select('id').where('dedup_key', '=', `job.faulted:${other}`).execute();
      expect(stored).toEqual([]);
    });

    it('answers a redelivery with its first ids after the mapping silenced its type meanwhile, storing nothing', async () => {
      const source = await h.create('orchestrator-webhook');
      const event = jobFaulted('silenced-later');
      const first = await h.orchestrator(source, event);
      expect(first.json().ids).toHaveLength(1);
      const res = await t.call('PATCH', `${base}/${source.id}`, { mapping: { events: { 'job.faulted': { alert: false } } } });
      expect(res.statusCode, res.body).toBe(200);
      const again = await h.orchestrator(source, event);
      expect(again.statusCode, again.body).toBe(202);
      expect(again.json().ids).toEqual(first.json().ids);
    });

    it('collapses the per-folder copies of one event (other EventId, same job) into the first', async () => {
      const source = await h.create('orchestrator-webhook');
      const key = crypto.randomUUID();
      const first = await h.orchestrator(source, jobFaulted('folder-a', key, 1));
      const copy = await h.orchestrator(source, jobFaulted('folder-b', key, 2));
      expect(copy.json().ids).toEqual(first.json().ids);
    });

    it('maps robot.status per session, job.stopped per job and abandoned items per item', async () => {
      const source = await h.create('orchestrator-webhook');
      const robots = await h.orchestrator(source, {
        Type: 'robot.status',
        EventId: 'rs-1',
        Sessions: [
          { RobotId: 1, RobotName: 'r1', HostMachineName: 'M1', State: 'Disconnected', IsUnresponsive: false },
          { RobotId: 2, RobotName: 'r2', HostMachineName: 'M2', State: 'Busy', IsUnresponsive: true },
          { RobotId: 3, HostMachineName: 'M3', State: 'Busy', IsUnresponsive: false },
        ],
      });
      const robotAlerts = await h.alerts(robots.json().ids);
      expect(robotAlerts.map((a) => [a.event, a.severity]).sort()).toEqual([
        ['Robot.StatusChanged.NotResponding', 'Error'],
        ['Robot.StatusChanged.Offline', 'Fatal'],
      ]);
      const stopped = await h.orchestrator(source, {
        Type: 'job.stopped',
        EventId: 'js-1',
        Jobs: [
          { Id: 1, Key: 'k1', Info: 'Job canceled' },
          { Id: 2, Key: 'k2' },
        ],
      });
      expect(stopped.json().ids).toHaveLength(2);
      const abandoned = await h.orchestrator(source, {
        Type: 'queueItem.transactionAbandoned',
        EventId: 'qa-1',
        Queue: { Id: 1, Name: 'invoices' },
        QueueItems: [
          { Id: 10, Key: 'q10' },
          { Id: 11, Key: 'q11' },
          { Id: 12, Key: 'q12' },
        ],
      });
      const items = await h.alerts(abandoned.json().ids);
      expect(items).toHaveLength(3);
      expect(items.every((a) => a.event === 'Queue.TransactionStatus.Abandoned' && a.source.queue === 'invoices')).toBe(true);
    });

    it("stores the first 1,000 alerts of an event listing more, counting the others in each one's data, instead of a 503 for ever", async () => {
      // 14,000 stopped jobs: PostgreSQL could not take a flood lock per dedup key in one transaction
      // (out of shared memory, max_locks_per_transaction 64), so every retry was a 503.
      // A tenant of its own: each of the 1,000 alerts carries 14 KB of the event in data, and the
      // later tests' h.alerts read their tenant's newest 1,000 alerts (14.6 MB, 14 s a test in a
      // loaded CI against the 30 s timeout, where it takes 50 ms without them).
      const many = harness(() => t, `${TENANT}-many`);
      await t.call('POST', '/api/v1/tenants', { name: `${TENANT}-many` });
      const source = await many.create('orchestrator-webhook');
      const jobs = Array.from({ length: 14_000 }, (_, i) => ({ Id: 500_000 + i }));
      const event = { Type: 'job.stopped', EventId: 'js-many', Timestamp: new Date().toISOString(), Jobs: jobs };
      const res = await many.orchestrator(source, event);
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json().ids).toHaveLength(1_000);
      const [last] = await many.alerts(res.json().ids.slice(-1));
      expect(last).toMatchObject({ dedupKey: 'job.stopped:500999', data: { truncatedAlerts: 13_000 } });
      const again = await many.orchestrator(source, event);
      expect(again.json().ids).toEqual(res.json().ids);
      // 1,000 alerts of 14 KB each (the event's 14,000 jobs are what once ran PostgreSQL out of locks): 18 s in a
      // CI run beside other work, and past the default 30 s on PostgreSQL when the machine was busier still.
    }, 90_000);
    it('acknowledges quiet types without an alert unless the mapping opts in, and keeps unknown types as Info', async () => {
      const source = await h.create('orchestrator-webhook');
      const ping = await h.orchestrator(source, { Type: 'ping', EventId: 'p-1' });
      expect(ping.statusCode).toBe(202);
      expect(ping.json().ids).toEqual([]);
      expect((await h.stats(source)).accepted).toBe(1);

      await t.call('PATCH', `${base}/${source.id}`, { mapping: { events: { 'queueItem.added': { alert: true }, 'job.faulted': { severity: 'Fatal' } } } });
      const added = await h.orchestrator(source, { Type: 'queueItem.added', EventId: 'qa-2', QueueItem: { Id: 1 } });
      expect((await h.alerts(added.json().ids))[0]).toMatchObject({ severity: 'Info', component: 'Transactions', event: 'queueItem.added' });
      const faulted = await h.orchestrator(source, jobFaulted('override'));
      expect((await h.alerts(faulted.json().ids))[0]!.severity).toBe('Fatal');

      const future = await h.orchestrator(source, { Type: 'robot.teleported', EventId: 'u-1' });
      expect((await h.alerts(future.json().ids))[0]).toMatchObject({ severity: 'Info', component: 'Robots', event: 'robot.teleported' });
    });

    it('keeps an unknown type named like a property of every object (constructor, toString.x) as an Info alert, not a 500', async () => {
      const source = await h.create('orchestrator-webhook');
      for (const Type of ['constructor', 'toString.changed', '__proto__.x', 'hasOwnProperty.y']) {
        const res = await h.orchestrator(source, { Type, EventId: `proto-${Type}` });
        expect(res.statusCode, `${Type}: ${res.body}`).toBe(202);
        expect((await h.alerts(res.json().ids))[0], Type).toMatchObject({ severity: 'Info', component: 'Process' });
      }
    });

    it('answers 400 to malformed JSON from an authenticated sender, 404 to an unknown or disabled source, 413 over 1 MB', async () => {
      const source = await h.create('orchestrator-webhook');
      const bad = '{"Type": "job.faulted",';
      const malformed = await h.post(source, bad, { 'x-uipath-signature': signOrchestrator(Buffer.from(source.secret), bad) });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json()).toMatchObject({ detail: expect.stringMatching(/JSON/), errors: [{ path: '(root)', message: 'is not valid JSON' }] });
      const noType = await h.orchestrator(source, { EventId: 'x' });
      expect(noType.json()).toMatchObject({ detail: expect.stringMatching(/^Type/), errors: [{ path: 'Type' }] });
      const numbered = await h.orchestrator(source, { Type: 1, EventId: 'numbered' });
      expect(numbered.statusCode, numbered.body).toBe(400);
      expect(numbered.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(numbered.json()).toMatchObject({ status: 400, errors: [{ path: 'Type' }] });

      const unknown = await h.post({ ...source, url: source.url.replace(source.id, crypto.randomUUID()) }, '{}');
      expect(unknown.statusCode).toBe(404);
      await t.call('PATCH', `${base}/${source.id}`, { enabled: false });
      expect((await h.orchestrator(source, jobFaulted('off'))).statusCode).toBe(404);
      await t.call('PATCH', `${base}/${source.id}`, { enabled: true });

      const huge = JSON.stringify({ ...jobFaulted('big'), padding: 'x'.repeat(1024 * 1024) });
      const tooLarge = await h.post(source, huge, { 'x-uipath-signature': signOrchestrator(Buffer.from(source.secret), huge) });
      expect(tooLarge.statusCode).toBe(413);
      // The payload kept in data is capped; the alert itself is stored.
      const large = JSON.stringify({ ...jobFaulted('large'), padding: 'x'.repeat(100_000) });
      const kept = await h.post(source, large, { 'x-uipath-signature': signOrchestrator(Buffer.from(source.secret), large) });
      expect(kept.statusCode).toBe(202);
      expect((await h.alerts(kept.json().ids))[0]!.data.payloadTruncated).toBeDefined();
    });
  });

  describe('alertmanager', () => {
    it('maps each alert: severity from the label, fingerprint as dedupKey, summary as message; resolved is Success for the same key', async () => {
      const source = await h.create('alertmanager');
      const res = await h.alertmanager(
        source,
        amPayload([
          amAlert(),
          amAlert({
            labels: { alertname: 'DiskFull', severity: 'warning', component: 'robots' },
            fingerprint: 'ffff',
            annotations: { description: 'disk 95%' },
          }),
        ]),
      );
      expect(res.statusCode, res.body).toBe(202);
      const stored = await h.alerts(res.json().ids);
      expect(stored.map((a) => [a.event, a.severity, a.component, a.dedupKey, a.message]).sort()).toEqual([
        ['DiskFull', 'Warn', 'Robots', 'ffff', 'disk 95%'],
        ['RobotHostDown', 'Fatal', 'Process', 'a1b2c3d4e5f6a7b8', 'vm1 down'],
      ]);
      const resolved = await h.alertmanager(source, amPayload([amAlert({ status: 'resolved', endsAt: '2026-05-01T10:05:00Z' })]));
      expect((await h.alerts(resolved.json().ids))[0]).toMatchObject({ severity: 'Success', dedupKey: 'a1b2c3d4e5f6a7b8', message: 'Resolved: vm1 down' });
    });

    it('keeps the receive time for a startsAt or endsAt beyond the year 9999, so that every answer writes occurredAt as ISO-8601', async () => {
      const source = await h.create('alertmanager');
      const res = await h.alertmanager(
        source,
        amPayload([
          amAlert({ fingerprint: 'far-start', startsAt: '+275760-09-13T00:00:00Z' }),
          amAlert({ fingerprint: 'far-end', status: 'resolved', endsAt: '+010000-01-01T00:00:00Z' }),
        ]),
      );
      expect(res.statusCode, res.body).toBe(202);
      const stored = await h.alerts(res.json().ids);
      expect(stored).toHaveLength(2);
      for (const alert of stored) {
        expect(alert.occurredAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
        expect(Math.abs(Date.parse(alert.occurredAt) - Date.now())).toBeLessThan(60_000);
      }
    });

    it('takes Basic with the secret as password, refuses others, and answers a retried notification with the same ids', async () => {
      const source = await h.create('alertmanager');
      const basic = `Basic ${Buffer.from(`alertmanager:${source.secret}`).toString('base64')}`;
      const payload = amPayload([amAlert({ fingerprint: 'basic1' })]);
      const first = await h.alertmanager(source, payload, basic);
      expect(first.statusCode).toBe(202);
      expect((await h.alertmanager(source, payload)).json().ids).toEqual(first.json().ids);
      expect((await h.alertmanager(source, payload, 'Bearer wrong')).statusCode).toBe(401);
      expect((await h.alertmanager(source, payload, '')).statusCode).toBe(401);
    });

    it('stores an alert once when Alertmanager re-sends its group with another alert joined or resolved, answering its first id', async () => {
      const source = await h.create('alertmanager');
      const vm = (name: string, overrides: Record<string, unknown> = {}) =>
        amAlert({ labels: { alertname: 'RobotHostDown', instance: name, severity: 'critical' }, fingerprint: `fp-${name}`, ...overrides });
      const first = await h.alertmanager(source, amPayload([vm('vm1')]));
      const [vm1] = first.json().ids;
      const grown = await h.alertmanager(source, amPayload([vm('vm1'), vm('vm2')]));
      expect(grown.statusCode).toBe(202);
      expect(grown.json().ids[0]).toBe(vm1);
      const vm2 = grown.json().ids[1];
      expect(vm2).not.toBe(vm1);
      const resolved = await h.alertmanager(source, amPayload([vm('vm2'), vm('vm1', { status: 'resolved', endsAt: '2026-05-01T10:05:00Z' })]));
      const [again, success] = resolved.json().ids;
      expect(again).toBe(vm2);
      expect((await h.alerts([success])).map((a) => [a.severity, a.source.machine])).toEqual([['Success', 'vm1']]);
      // A retry of the last one stores nothing: every alert answers its id.
      expect((await h.alertmanager(source, amPayload([vm('vm2'), vm('vm1', { status: 'resolved', endsAt: '2026-05-01T10:05:00Z' })]))).json().ids).toEqual([
        vm2,
        success,
      ]);
      const stored = await t.tocsin.deps.storage.db
        .selectFrom('alerts')
        .select('id')
        .where('event', '=', 'RobotHostDown')
        .where('dedup_key', 'in', ['fp-vm1', 'fp-vm2'])
        .execute();
      expect(stored).toHaveLength(3);
      const log = (await t.call('GET', `${base}/${source.id}/receptions`)).json().items;
      expect(log.map((r: { outcome: string }) => r.outcome)).toEqual(['duplicate', 'accepted', 'accepted', 'accepted']);
    });

    it('stores each alert once when an HA pair and a grown group deliver it at the same time', async () => {
      const source = await h.create('alertmanager');
      const vm = (name: string) => amAlert({ labels: { alertname: 'PairDown', instance: name, severity: 'critical' }, fingerprint: `pair-${name}` });
      const bodies = [[vm('a')], [vm('a')], [vm('a'), vm('b')], [vm('a'), vm('b')], [vm('b'), vm('c')], [vm('a'), vm('b'), vm('c')]];
      const answers = await Promise.all(bodies.map((alerts) => h.alertmanager(source, amPayload(alerts))));
      expect(answers.map((a) => a.statusCode)).toEqual(Array(bodies.length).fill(202));
      const idsOf = new Map<string, Set<string>>();
      for (const [i, alerts] of bodies.entries()) {
        for (const [j, alert] of alerts.entries()) {
          const name = (alert.labels as Record<string, string>).instance!;
          idsOf.set(name, (idsOf.get(name) ?? new Set()).add(answers[i]!.json().ids[j]));
        }
      }
      expect([...idsOf.values()].map((ids) => ids.size)).toEqual([1, 1, 1]);
      const stored = await t.tocsin.deps.storage.db.selectFrom('alerts').select('id').where('event', '=', 'PairDown').execute();
      expect(stored).toHaveLength(3);
    });

    it('stores the first 1,000 alerts of a larger group instead of refusing it (Alertmanager would drop the whole group)', async () => {
      const source = await h.create('alertmanager');
      const many = Array.from({ length: 1_100 }, (_, i) => amAlert({ labels: { alertname: 'NodeDown', instance: `n${i}` }, fingerprint: `big-${i}` }));
      const res = await h.alertmanager(source, amPayload(many));
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json().ids).toHaveLength(1_000);
      expect((await h.alerts(res.json().ids.slice(-1)))[0]!.data.truncatedAlerts).toBe(100);
    });

    it('stores the alerts a larger group had cut when Alertmanager re-sends it (repeat_interval, a change in the group), once', async () => {
      const source = await h.create('alertmanager');
      const many = Array.from({ length: 1_100 }, (_, i) => amAlert({ labels: { alertname: 'FleetDown', instance: `n${i}` }, fingerprint: `fleet-${i}` }));
      const stored = async () =>
        (await t.tocsin.deps.storage.db.selectFrom('alerts').select('id').where('event', '=', 'FleetDown').execute()).map((row) => row.id);
      const first = await h.alertmanager(source, amPayload(many));
      expect(first.statusCode, first.body).toBe(202);
      expect(await stored()).toHaveLength(1_000);
      // The same group again, its order unchanged: the 100 cut the first time are stored now.
      const again = await h.alertmanager(source, amPayload(many));
      expect(again.statusCode, again.body).toBe(202);
      expect(new Set(await stored()).size).toBe(1_100);
      expect(new Set([...first.json().ids, ...again.json().ids]).size).toBe(1_100);
      // And nothing more at the next re-send.
      expect((await h.alertmanager(source, amPayload(many))).statusCode).toBe(202);
      expect(await stored()).toHaveLength(1_100);
    });

    // A group of 20,000 short alerts fits in the 1 MB body: the lookup of which were received before
    // asked for all their keys at once, past SQLite's 32,766 bound on a statement's variables (a 503
    // at every re-send, where the first 1,000 had been stored).
    it('stores the first 1,000 of a group of 20,000 short alerts, and the next 1,000 when it is sent again', async () => {
      const source = await h.create('alertmanager');
      const many = Array.from({ length: 20_000 }, (_, i) => ({ status: 'firing', labels: { i: `${i}` } }));
      const first = await h.alertmanager(source, amPayload(many));
      expect(first.statusCode, first.body).toBe(202);
      expect(first.json().ids).toHaveLength(1_000);
      const again = await h.alertmanager(source, amPayload(many));
      expect(again.statusCode, again.body).toBe(202);
      expect(new Set([...first.json().ids, ...again.json().ids]).size).toBe(2_000);
    });

    it('follows the mapping labels and refuses a version other than 4 with a 400 naming it', async () => {
      const source = await h.create('alertmanager', {
        mapping: { severityLabel: 'priority', severities: { p1: 'Error' }, componentLabel: 'area', eventLabel: 'rule' },
      });
      const res = await h.alertmanager(source, amPayload([amAlert({ labels: { rule: 'QueueStuck', priority: 'P1', area: 'Queues' } })]));
      expect((await h.alerts(res.json().ids))[0]).toMatchObject({ event: 'QueueStuck', severity: 'Error', component: 'Queues' });
      // A mapping label no alert carries, named like a property of every object: the defaults, not a 500.
      const odd = await h.create('alertmanager', { mapping: { severityLabel: 'constructor', componentLabel: 'toString', eventLabel: 'valueOf' } });
      const plain = await h.alertmanager(odd, amPayload([amAlert({ fingerprint: 'odd-labels' })]));
      expect(plain.statusCode, plain.body).toBe(202);
      expect((await h.alerts(plain.json().ids))[0]).toMatchObject({ event: 'Alertmanager.Alert', severity: 'Info', component: 'Process' });
      const v3 = await h.alertmanager(source, { ...amPayload([]), version: '3' });
      expect(v3.statusCode).toBe(400);
      expect(v3.json()).toMatchObject({ detail: expect.stringMatching(/^version/), errors: [{ path: 'version' }] });
    });
  });

  describe('webhook (Standard Webhooks)', () => {
    it('stores a signed AlertInput or batch, answers a replay with the same ids, refuses stale and foreign signatures', async () => {
      const source = await h.create('webhook');
      const one = await h.standard(source, { severity: 'Error', component: 'Jobs', message: 'nightly build failed' }, { id: 'msg_1' });
      expect(one.statusCode, one.body).toBe(202);
      expect((await h.alerts(one.json().ids))[0]).toMatchObject({ severity: 'Error', component: 'Jobs', message: 'nightly build failed' });
      const replay = await h.standard(source, { severity: 'Error', component: 'Jobs', message: 'nightly build failed' }, { id: 'msg_1' });
      expect(replay.json().ids).toEqual(one.json().ids);
      const batch = await h.standard(source, {
        alerts: [
          { severity: 'Warn', component: 'Jobs', message: 'a' },
          { severity: 'Info', component: 'Jobs', message: 'b' },
        ],
      });
      expect(batch.json().ids).toHaveLength(2);

      expect((await h.standard(source, { severity: 'Error', component: 'Jobs', message: 'old' }, { at: Date.now() - 6 * 60_000 })).statusCode).toBe(401);
      expect((await h.standard(source, { severity: 'Error', component: 'Jobs', message: 'future' }, { at: Date.now() + 6 * 60_000 })).statusCode).toBe(401);
      const foreign = `whsec_${crypto.randomBytes(32).toString('base64')}`;
      expect((await h.standard(source, { severity: 'Error', component: 'Jobs', message: 'x' }, { secret: foreign })).statusCode).toBe(401);
      // The secret's text as the key (the classic mistake) does not verify.
      const body = JSON.stringify({ severity: 'Error', component: 'Jobs', message: 'x' });
      const ts = String(Math.floor(Date.now() / 1000));
      const wrongKey = signStandardWebhook(Buffer.from(source.secret), 'msg_k', ts, body);
      expect((await h.post(source, body, { 'webhook-id': 'msg_k', 'webhook-timestamp': ts, 'webhook-signature': wrongKey })).statusCode).toBe(401);
    });

    it('takes the svix-id, svix-timestamp and svix-signature headers that Svix-powered senders send, replays included', async () => {
      const source = await h.create('webhook');
      const body = JSON.stringify({ severity: 'Error', component: 'Jobs', message: 'sent through Svix' });
      const ts = String(Math.floor(Date.now() / 1000));
      const signature = signStandardWebhook(signingKey('webhook', source.secret), 'msg_svix', ts, body);
      const svix = { 'svix-id': 'msg_svix', 'svix-timestamp': ts, 'svix-signature': signature };
      const first = await h.post(source, body, svix);
      expect(first.statusCode, first.body).toBe(202);
      expect((await h.alerts(first.json().ids))[0]).toMatchObject({ severity: 'Error', message: 'sent through Svix' });
      // Its redelivery (same svix-id) stores nothing new; a stale svix-timestamp is refused.
      expect((await h.post(source, body, svix)).json().ids).toEqual(first.json().ids);
      const old = String(Math.floor(Date.now() / 1000) - 6 * 60);
      const stale = signStandardWebhook(signingKey('webhook', source.secret), 'msg_svix_old', old, body);
      expect((await h.post(source, body, { 'svix-id': 'msg_svix_old', 'svix-timestamp': old, 'svix-signature': stale })).statusCode).toBe(401);
    });

    it('takes a message id of any length as its idempotency key', async () => {
      const source = await h.create('webhook');
      // Random, so that PostgreSQL cannot compress it into an index entry.
      const id = `msg_${crypto.randomBytes(3_000).toString('hex')}`;
      const first = await h.standard(source, { severity: 'Info', component: 'Jobs', message: 'long id' }, { id });
      expect(first.statusCode, first.body).toBe(202);
      expect((await h.standard(source, { severity: 'Info', component: 'Jobs', message: 'long id' }, { id })).json().ids).toEqual(first.json().ids);
      const other = await h.standard(source, { severity: 'Info', component: 'Jobs', message: 'long id' }, { id: `${id}y` });
      expect(other.json().ids).not.toEqual(first.json().ids);
    });

    it("keys a redelivery by its source: the same message id at another source, of this tenant or another, is that source's own alert", async () => {
      // Senders pick their ids alone (msg_1, a counter): were the key wider than the source, the second
      // sender's alert would be lost and its 202 would carry the first one's ids, another tenant's included.
      const other = 'acme-receive-other';
      await t.call('POST', '/api/v1/tenants', { name: other });
      const o = harness(() => t, other);
      const first = await h.create('webhook');
      const second = await h.create('webhook');
      const foreign = await o.create('webhook');
      const id = `msg_${crypto.randomUUID()}`;
      const send = (helper: typeof h, source: Created, message: string) => helper.standard(source, { severity: 'Error', component: 'Jobs', message }, { id });
      const answers = [await send(h, first, 'first'), await send(h, second, 'second'), await send(o, foreign, 'foreign')];
      expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202]);
      const [a, b, c] = answers.map((a) => a.json().ids as string[]);
      expect(new Set([...a!, ...b!, ...c!]).size).toBe(3);
      expect((await h.alerts([...a!, ...b!])).map((x) => x.message).sort()).toEqual(['first', 'second']);
      expect((await o.alerts(c!)).map((x) => x.message)).toEqual(['foreign']);
      // Each source still answers its own redelivery with its own ids.
      expect((await send(o, foreign, 'foreign')).json().ids).toEqual(c);
    });

    it('accepts a signature list with the rotated secret among others, and names the invalid fields in a 400 (errors, as every 400)', async () => {
      const source = await h.create('webhook');
      const next = (await t.call('POST', `${base}/${source.id}/rotate-secret`)).json().secret;
      const body = JSON.stringify({ severity: 'Error', component: 'Jobs', message: 'rotated' });
      const ts = String(Math.floor(Date.now() / 1000));
      const list = [`v1,${crypto.randomBytes(32).toString('base64')}`, signStandardWebhook(signingKey('webhook', next), 'msg_r', ts, body)].join(' ');
      expect((await h.post(source, body, { 'webhook-id': 'msg_r', 'webhook-timestamp': ts, 'webhook-signature': list })).statusCode).toBe(202);
      const invalid = await h.standard(source, { severity: 'Loud', component: 'Jobs', message: 'x' });
      expect(invalid.statusCode).toBe(400);
      expect(invalid.json()).toMatchObject({ detail: expect.stringMatching(/^severity/), errors: [{ path: 'severity', message: expect.any(String) }] });
      const batch = await h.standard(source, {
        alerts: [
          { severity: 'Info', component: 'Jobs', message: 'fine' },
          { severity: 'Info', component: 'Jobs' },
        ],
      });
      expect(batch.statusCode).toBe(400);
      expect(batch.json().errors).toEqual([{ path: 'alerts.1.message', message: expect.any(String) }]);
    });
  });

  it("applies a webhook source's overrides by the alert's event: severity, component, and alert false acknowledging it without storing", async () => {
    const source = await h.create('webhook', {
      mapping: { events: { 'Process.JobExecution.Faulted': { severity: 'Fatal', component: 'Robots' }, 'Job.Completed': { alert: false } } },
    });
    const res = await h.standard(source, {
      alerts: [
        { severity: 'Error', component: 'Jobs', event: 'Process.JobExecution.Faulted', message: 'raised' },
        { severity: 'Success', component: 'Jobs', event: 'Job.Completed', message: 'silenced' },
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    const ids = res.json().ids as string[];
    expect(ids).toHaveLength(1);
    expect(await h.alerts(ids)).toMatchObject([{ severity: 'Fatal', component: 'Robots', message: 'raised' }]);
  });

  it("answers 404 at a pull source's id, as at an unknown source: it has no receive URL", async () => {
    const pull = await t.call('POST', base, {
      name: `pull-${crypto.randomUUID().slice(0, 8)}`,
      kind: 'orchestrator-pull',
      pull: { baseUrl: 'https://orch.example.com', username: 'u', password: 'p' },
    });
    expect(pull.statusCode, pull.body).toBe(201);
    const id = pull.json().id as string;
    const answer = await h.alertmanager({ id, secret: 'x', url: `https://tocsin.example.com/api/v1/sources/${id}/receive` }, amPayload([amAlert()]));
    expect(answer.statusCode).toBe(404);
    expect(answer.headers['www-authenticate']).toBeUndefined();
  });

  it('challenges each 401 with a WWW-Authenticate naming how its kind authenticates (RFC 9110), the same whatever was wrong', async () => {
    const challenge = async (answer: Promise<LightMyRequestResponse>) => {
      const res = await answer;
      expect(res.statusCode, res.body).toBe(401);
      return res.headers['www-authenticate'];
    };
    const orchestrator = await h.create('orchestrator-webhook');
    const signedBadly = await challenge(h.orchestrator(orchestrator, jobFaulted('challenge-1'), 'not the secret'));
    expect(signedBadly).toMatch(/^X-UiPath-Signature realm="/);
    expect(await challenge(h.post(orchestrator, '{}'))).toBe(signedBadly);
    const stale = { ...jobFaulted('challenge-2'), Timestamp: new Date(Date.now() - 6 * 60_000).toISOString() };
    expect(await challenge(h.orchestrator(orchestrator, stale))).toBe(signedBadly);

    const alertmanager = await h.create('alertmanager');
    const bearer = await challenge(h.alertmanager(alertmanager, amPayload([amAlert()]), 'Bearer wrong'));
    // Alertmanager's http_config sends either: both are offered (Basic with its required realm).
    expect(bearer).toMatch(/^Bearer realm="[^"]+", Basic realm="[^"]+", charset="UTF-8"$/);
    expect(await challenge(h.alertmanager(alertmanager, amPayload([amAlert()]), ''))).toBe(bearer);

    const webhook = await h.create('webhook');
    const late = await challenge(h.standard(webhook, { severity: 'Error', component: 'Jobs', message: 'old' }, { at: Date.now() - 6 * 60_000 }));
    expect(late).toMatch(/^Standard-Webhooks realm="/);
    expect(await challenge(h.post(webhook, '{}'))).toBe(late);
  });

  it('takes a body that starts with a UTF-8 byte order mark (.NET and PowerShell senders), signed with its bytes as sent, as the REST API does', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const withBom = (payload: unknown) => Buffer.concat([bom, Buffer.from(JSON.stringify(payload))]);

    const orchestrator = await h.create('orchestrator-webhook');
    const event = withBom(jobFaulted(`bom-${crypto.randomUUID()}`));
    const fromOrchestrator = await h.post(orchestrator, event, { 'x-uipath-signature': signOrchestrator(Buffer.from(orchestrator.secret), event) });
    expect(fromOrchestrator.statusCode, fromOrchestrator.body).toBe(202);
    expect(await h.alerts(fromOrchestrator.json().ids)).toMatchObject([{ component: 'Jobs', event: 'Process.JobExecution.Faulted' }]);

    const alertmanager = await h.create('alertmanager');
    const notification = withBom(amPayload([amAlert({ fingerprint: crypto.randomBytes(8).toString('hex') })]));
    const fromAlertmanager = await h.post(alertmanager, notification, { authorization: `Bearer ${alertmanager.secret}` });
    expect(fromAlertmanager.statusCode, fromAlertmanager.body).toBe(202);
    expect(await h.alerts(fromAlertmanager.json().ids)).toMatchObject([{ severity: 'Fatal', message: 'vm1 down' }]);

    const webhook = await h.create('webhook');
    const body = withBom({ severity: 'Error', component: 'Jobs', message: 'sent with a BOM' });
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = signStandardWebhook(signingKey('webhook', webhook.secret), 'msg_bom', ts, body);
    const fromWebhook = await h.post(webhook, body, { 'webhook-id': 'msg_bom', 'webhook-timestamp': ts, 'webhook-signature': signature });
    expect(fromWebhook.statusCode, fromWebhook.body).toBe(202);
    expect(await h.alerts(fromWebhook.json().ids)).toMatchObject([{ message: 'sent with a BOM' }]);
    expect((await h.stats(webhook)).rejected).toBe(0);
  });

  it('reads a body whatever its Content-Type says, an empty or unreadable one included: never a 415, which a sender drops', async () => {
    const alertmanager = await h.create('alertmanager');
    for (const label of ['', 'garbage', 'application/json; charset', '/', 'text/plain', 'application/octet-stream']) {
      const notification = JSON.stringify(amPayload([amAlert({ fingerprint: crypto.randomBytes(8).toString('hex') })]));
      const res = await h.post(alertmanager, notification, { authorization: `Bearer ${alertmanager.secret}`, 'content-type': label });
      expect(res.statusCode, `${JSON.stringify(label)}: ${res.body}`).toBe(202);
    }
    // Unsigned, it is still refused for its signature, not for its label.
    const unsigned = await h.post(alertmanager, '{}', { 'content-type': 'garbage' });
    expect(unsigned.statusCode).toBe(401);
  });

  it('takes a body sent gzip-, deflate- or br-compressed, signed over what it compresses or as sent, as the REST API reads one', async () => {
    const webhook = await h.create('webhook');
    const body = JSON.stringify({ severity: 'Error', component: 'Jobs', message: 'sent gzipped' });
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = signStandardWebhook(signingKey('webhook', webhook.secret), 'msg_gzip', ts, body);
    const gzipped = await h.post(webhook, zlib.gzipSync(body), {
      'content-encoding': 'gzip',
      'webhook-id': 'msg_gzip',
      'webhook-timestamp': ts,
      'webhook-signature': signature,
    });
    expect(gzipped.statusCode, gzipped.body).toBe(202);
    expect(await h.alerts(gzipped.json().ids)).toMatchObject([{ message: 'sent gzipped' }]);

    const orchestrator = await h.create('orchestrator-webhook');
    const event = JSON.stringify(jobFaulted(`deflate-${crypto.randomUUID()}`));
    const deflated = zlib.deflateSync(event);
    // Signed over the compressed bytes, as a sender that signs what it puts on the wire does.
    const fromOrchestrator = await h.post(orchestrator, deflated, {
      'content-encoding': 'deflate',
      'x-uipath-signature': signOrchestrator(Buffer.from(orchestrator.secret), deflated),
    });
    expect(fromOrchestrator.statusCode, fromOrchestrator.body).toBe(202);
    expect(await h.alerts(fromOrchestrator.json().ids)).toMatchObject([{ event: 'Process.JobExecution.Faulted' }]);

    const alertmanager = await h.create('alertmanager');
    const notification = zlib.brotliCompressSync(JSON.stringify(amPayload([amAlert({ fingerprint: crypto.randomBytes(8).toString('hex') })])));
    const fromAlertmanager = await h.post(alertmanager, notification, { 'content-encoding': 'br', authorization: `Bearer ${alertmanager.secret}` });
    expect(fromAlertmanager.statusCode, fromAlertmanager.body).toBe(202);
    expect(await h.alerts(fromAlertmanager.json().ids)).toMatchObject([{ message: 'vm1 down' }]);

    // Inflating past 1 MB is a body over 1 MB: 413, counted; bytes that are not the coding named, a 400.
    const bomb = await h.post(alertmanager, zlib.gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20)), {
      'content-encoding': 'gzip',
      authorization: `Bearer ${alertmanager.secret}`,
    });
    expect(bomb.statusCode).toBe(413);
    expect(bomb.headers['content-type']).toContain('application/problem+json');
    expect(bomb.json()).toMatchObject({ status: 413, title: 'Content Too Large' });
    const notGzip = await h.post(alertmanager, Buffer.from('{}'), { 'content-encoding': 'gzip', authorization: `Bearer ${alertmanager.secret}` });
    expect(notGzip.statusCode).toBe(400);
    expect(await h.stats(alertmanager)).toMatchObject({ accepted: 1, rejected: 2 });
  });

  it('reads a body in the charset its Content-Type names (ISO-8859-1, UTF-16), signed on its bytes as sent, as the REST API reads one', async () => {
    // Read as UTF-8 whatever its label, an ISO-8859-1 "Échec" was stored as "\uFFFDchec" and a
    // UTF-16 body was "not valid JSON", where POST /alerts reads both.
    const webhook = await h.create('webhook');
    const latin1 = Buffer.from(JSON.stringify({ severity: 'Error', component: 'Jobs', message: 'Échec du café' }), 'latin1');
    const ts = String(Math.floor(Date.now() / 1000));
    const fromWebhook = await h.post(webhook, latin1, {
      'content-type': 'application/json; charset=ISO-8859-1',
      'webhook-id': 'msg_latin1',
      'webhook-timestamp': ts,
      'webhook-signature': signStandardWebhook(signingKey('webhook', webhook.secret), 'msg_latin1', ts, latin1),
    });
    expect(fromWebhook.statusCode, fromWebhook.body).toBe(202);
    expect(await h.alerts(fromWebhook.json().ids)).toMatchObject([{ message: 'Échec du café' }]);

    const orchestrator = await h.create('orchestrator-webhook');
    const utf16 = Buffer.from(JSON.stringify({ ...jobFaulted(`utf16-${crypto.randomUUID()}`), Job: { Id: 1, Info: 'Fehler: Überlauf' } }), 'utf16le');
    const fromOrchestrator = await h.post(orchestrator, utf16, {
      'content-type': 'application/json; charset=utf-16',
      'x-uipath-signature': signOrchestrator(Buffer.from(orchestrator.secret), utf16),
    });
    expect(fromOrchestrator.statusCode, fromOrchestrator.body).toBe(202);
    expect(await h.alerts(fromOrchestrator.json().ids)).toMatchObject([{ message: expect.stringContaining('Fehler: Überlauf') }]);

    // A charset Tocsin does not know is read as UTF-8, not refused with a 415 that the sender drops.
    const alertmanager = await h.create('alertmanager');
    const notification = JSON.stringify(amPayload([amAlert({ fingerprint: crypto.randomBytes(8).toString('hex') })]));
    const unknown = await h.alertmanager(alertmanager, JSON.parse(notification));
    expect(unknown.statusCode).toBe(202);
    const labelled = await h.post(alertmanager, notification.replace('vm1 down', 'vm1 à terre'), {
      authorization: `Bearer ${alertmanager.secret}`,
      'content-type': 'application/json; charset=x-unheard-of',
    });
    expect(labelled.statusCode, labelled.body).toBe(202);
  });

  it('refuses a body in a coding it cannot read with 401 when the request is not authenticated, a 400 only to its authenticated sender', async () => {
    // Anyone who knows a receive URL could send that: a 400 there told them their request was
    // authentic enough to be read, and its Content-Encoding became the source's lastError.
    const alertmanager = await h.create('alertmanager');
    for (const headers of [{ 'content-encoding': 'gzip' }, { 'content-encoding': 'x-mine', authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const res = await h.post(alertmanager, Buffer.from('{}'), headers);
      expect(res.statusCode, res.body).toBe(401);
    }
    const webhook = await h.create('webhook');
    const ts = String(Math.floor(Date.now() / 1000));
    const foreign = signStandardWebhook(crypto.randomBytes(32), 'msg_coding', ts, '{}');
    const res = await h.post(webhook, Buffer.from('{}'), {
      'content-encoding': 'br',
      'webhook-id': 'msg_coding',
      'webhook-timestamp': ts,
      'webhook-signature': foreign,
    });
    expect(res.statusCode, res.body).toBe(401);
    expect(await h.stats(alertmanager)).toMatchObject({ accepted: 0, rejected: 2, lastError: expect.stringMatching(/^refused: /) });
    expect(await h.stats(webhook)).toMatchObject({ accepted: 0, rejected: 1, lastError: expect.stringMatching(/^refused: /) });
    // Signed over the bytes as sent, the sender is told what is wrong with them.
    const signed = signStandardWebhook(signingKey('webhook', webhook.secret), 'msg_coding', ts, '{}');
    const authentic = await h.post(webhook, Buffer.from('{}'), {
      'content-encoding': 'br',
      'webhook-id': 'msg_coding',
      'webhook-timestamp': ts,
      'webhook-signature': signed,
    });
    expect(authentic.statusCode, authentic.body).toBe(400);
    expect(authentic.json().errors).toMatchObject([{ path: '(root)' }]);
  });

  it('keeps a lone UTF-16 surrogate of a received body as one U+FFFD on both dialects, as the REST API does', async () => {
    // SQLite stored the surrogate's three CESU-8 bytes and read back three U+FFFD; PostgreSQL one.
    const webhook = await h.create('webhook');
    const res = await h.standard(webhook, { severity: 'Error', component: 'Jobs', message: 'a\ud800b', data: { 'k\udc00': 'v\udfff' } });
    expect(res.statusCode, res.body).toBe(202);
    expect(await h.alerts(res.json().ids)).toMatchObject([{ message: 'a\ufffdb', data: { 'k\ufffd': 'v\ufffd' } }]);
  });

  it('stores an Alertmanager alert or an Orchestrator event holding a NUL with U+FFFD in its place, and refuses one in an AlertInput naming the field, on both dialects', async () => {
    // PostgreSQL cannot store NUL in text: it answered 503 to the first two, which their senders
    // retry for as long as the alert fires (its whole group with it), and stored them on SQLite.
    const alertmanager = await h.create('alertmanager');
    const notification = amPayload([
      amAlert({
        labels: { alertname: 'Disk\u0000Full', instance: 'vm\u00001', severity: 'critical' },
        annotations: { summary: 'vm1 \u0000 down' },
        fingerprint: `nul\u0000${crypto.randomBytes(4).toString('hex')}`,
      }),
      amAlert({ fingerprint: crypto.randomBytes(8).toString('hex'), annotations: { summary: 'vm2 down' }, labels: { alertname: 'DiskFull', instance: 'vm2' } }),
    ]);
    const fromAlertmanager = await h.alertmanager(alertmanager, notification);
    expect(fromAlertmanager.statusCode, fromAlertmanager.body).toBe(202);
    const [first, second] = fromAlertmanager.json().ids;
    expect(await h.alerts([first])).toMatchObject([
      { message: 'vm1 \ufffd down', source: { machine: 'vm\ufffd1' }, data: { labels: { alertname: 'Disk\ufffdFull' } } },
    ]);
    expect(await h.alerts([second])).toMatchObject([{ message: 'vm2 down' }]);
    expect((await h.alertmanager(alertmanager, notification)).json().ids).toEqual([first, second]);

    const orchestrator = await h.create('orchestrator-webhook');
    const event = jobFaulted(`nul\u0000${crypto.randomUUID()}`, `key\u0000${crypto.randomUUID()}`);
    (event.Job as Record<string, unknown>).Info = 'Read \u0000 past the end';
    const fromOrchestrator = await h.orchestrator(orchestrator, event);
    expect(fromOrchestrator.statusCode, fromOrchestrator.body).toBe(202);
    expect(await h.alerts(fromOrchestrator.json().ids)).toMatchObject([{ message: expect.stringContaining('Read \ufffd past the end') }]);
    expect((await h.orchestrator(orchestrator, event)).json().ids).toEqual(fromOrchestrator.json().ids);

    const webhook = await h.create('webhook');
    const refused = await h.standard(webhook, {
      alerts: [
        { severity: 'Error', component: 'Jobs', message: 'fine' },
        { severity: 'Error', component: 'Jobs', message: 'a\u0000b' },
      ],
    });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(refused.json().errors).toEqual([{ path: 'alerts.1.message', message: 'must not contain NUL characters' }]);
    expect(await h.stats(webhook)).toMatchObject({ accepted: 0, rejected: 1 });
  });

  it('says a received body nests too deep, not that it is not JSON, when it also holds a surrogate escape', async () => {
    const alertmanager = await h.create('alertmanager');
    const deep = (text: string) =>
      `{"version":"4","status":"firing","alerts":[{"labels":{"alertname":"X"},"annotations":{"d":${'['.repeat(100_000)}"${text}"${']'.repeat(100_000)}}}]}`;
    for (const text of ['plain', 'cut \\ud83d emoji']) {
      const res = await h.post(alertmanager, deep(text), { authorization: `Bearer ${alertmanager.secret}` });
      expect(res.statusCode, text).toBe(400);
      expect(res.json().detail, text).toContain('nests deeper than 64 levels');
    }
  });

  it('logs the last receptions with their outcome, and sends a signed test event of each kind', async () => {
    for (const kind of ['orchestrator-webhook', 'alertmanager', 'webhook']) {
      const source = await h.create(kind);
      const test = await t.call('POST', `${base}/${source.id}/test`);
      expect(test.statusCode).toBe(200);
      expect(test.json(), kind).toMatchObject({ ok: true, status: 202 });
      expect(test.json().alertIds).toHaveLength(1);
      await h.post(source, '{}');
      const log = (await t.call('GET', `${base}/${source.id}/receptions`)).json().items;
      expect(log.map((r: { outcome: string }) => r.outcome)).toEqual(['rejected', 'accepted']);
      expect(log[1].alertIds).toEqual(test.json().alertIds);
    }
  });

  it('answers 404, not 500, to a test of a source deleted while its test was prepared (its secrets went with it)', async () => {
    // A DELETE that commits between the test's read of the source and of its secrets leaves this.
    const source = await h.create('webhook');
    await t.tocsin.deps.storage.db.deleteFrom('source_secrets').where('source_id', '=', source.id).execute();
    const test = await t.call('POST', `${base}/${source.id}/test`);
    expect(`${test.statusCode} ${test.json().detail}`).toBe('404 Source not found.');
  });

  it('answers 404, not 401, to a correctly signed event for a source deleted while it was read (its secrets went with it)', async () => {
    // A DELETE (of the source or its tenant) that commits between the receiver's read of the source
    // and of its secrets leaves this: on PostgreSQL, events sent while a source was deleted got 401.
    const db = t.tocsin.deps.storage.db;
    const sources = await Promise.all(['webhook', 'alertmanager', 'orchestrator-webhook'].map((kind) => h.create(kind)));
    for (const source of sources) await db.deleteFrom('source_secrets').where('source_id', '=', source.id).execute();
    const [webhook, alertmanager, orchestrator] = sources;
    const answers = [
      await h.standard(webhook!, { severity: 'Error', component: 'Jobs', message: 'sent while deleted' }),
      await h.alertmanager(alertmanager!, amPayload([amAlert()])),
      await h.orchestrator(orchestrator!, jobFaulted('deleted-while-read')),
    ];
    expect(answers.map((a) => `${a.statusCode} ${a.json().detail}`)).toEqual(Array(3).fill('404 Source not found.'));
  });

  it('answers each event of a burst that shares commits by its own keys: redeliveries with their first ids, new events stored once', async () => {
    const source = await h.create('orchestrator-webhook');
    // Stored before the burst, in commits of their own.
    const earlier = [jobFaulted('burst-old-0'), jobFaulted('burst-old-1')];
    const earlierIds = await Promise.all(earlier.map(async (event) => (await h.orchestrator(source, event)).json().ids));
    const fresh = Array.from({ length: 10 }, (_, i) => jobFaulted(`burst-new-${i}`));
    // Sent at once, the redeliveries beside the new events: their keys are read and written with the others of the commit.
    const answers = await Promise.all([...earlier, ...fresh].map((event) => h.orchestrator(source, event)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(12).fill(202));
    expect(answers.slice(0, 2).map((a) => a.json().ids)).toEqual(earlierIds);
    const freshIds = answers.slice(2).map((a) => a.json().ids as string[]);
    expect(new Set(freshIds.flat()).size).toBe(10);
    expect(await h.alerts(freshIds.flat())).toHaveLength(10);
    // Each new event's keys were stored with its own ids: its redelivery, and a copy from another folder, answer them.
    const again = await Promise.all(fresh.map((event) => h.orchestrator(source, event)));
    expect(again.map((a) => a.json().ids)).toEqual(freshIds);
    const copies = await Promise.all(
      fresh.map((event) => h.orchestrator(source, { ...event, EventId: `${event.EventId}-other-folder`, OrganizationUnitId: 8 })),
    );
    expect(copies.map((a) => a.json().ids)).toEqual(freshIds);
  });

  it('keeps only the last 20 receptions', async () => {
    const source = await h.create('webhook');
    for (let i = 0; i < 23; i++) await h.post(source, '{}');
    const log = (await t.call('GET', `${base}/${source.id}/receptions`)).json().items;
    expect(log).toHaveLength(20);
    expect((await h.stats(source)).rejected).toBe(23);
  });

  it('counts and logs each of the events that one group commit stores together', async () => {
    const source = await h.create('orchestrator-webhook');
    // Sent at once, they share commits: the source's counters and log are written once per commit for all of them.
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => h.orchestrator(source, jobFaulted(`ev-together-${i}`))));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(25).fill(202));
    const ids = answers.map((a) => a.json().ids[0] as string);
    expect(await h.stats(source)).toMatchObject({ accepted: 25, rejected: 0 });
    const log = (await t.call('GET', `${base}/${source.id}/receptions`)).json().items as { outcome: string; alertIds: string[] }[];
    expect(log).toHaveLength(20);
    expect(log.every((r) => r.outcome === 'accepted')).toBe(true);
    const logged = log.map((r) => r.alertIds[0]!);
    expect(new Set(logged).size).toBe(20);
    expect(ids).toEqual(expect.arrayContaining(logged));
  });
});

describeEachDialect('counting what a source refuses', (dialect) => {
  let t: TestApp;
  const h = harness(() => t);
  beforeAll(async () => {
    t = await startTestApp(dialect);
    await t.call('POST', '/api/v1/tenants', { name: TENANT });
  });
  afterAll(() => t.close());

  it('counts a body refused with 400 as rejected, as a refused signature is: the sender drops it', async () => {
    const source = await h.create('alertmanager');
    // An Alertmanager whose receiver has a custom payload template, then Grafana's format: both lost for good.
    expect((await h.alertmanager(source, { text: 'RobotHostDown is firing' })).statusCode).toBe(400);
    expect((await h.alertmanager(source, { ...amPayload([amAlert()]), version: '1' })).statusCode).toBe(400);
    expect((await h.alertmanager(source, amPayload([amAlert()]))).statusCode).toBe(202);
    expect(await h.stats(source)).toMatchObject({ accepted: 1, rejected: 2, lastError: expect.stringMatching(/^version/) });
  });

  it('counts a body over 1 MB, refused with 413 before it is read, as rejected and says why', async () => {
    const source = await h.create('alertmanager');
    // A group of 2,000 alerts with long annotations, as a big outage makes.
    const alerts = Array.from({ length: 2_000 }, (_, i) =>
      amAlert({ fingerprint: `fp${i}`, annotations: { summary: 'vm down', description: 'x'.repeat(600) } }),
    );
    const res = await h.alertmanager(source, amPayload(alerts));
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(await h.stats(source)).toMatchObject({ accepted: 0, rejected: 1, lastError: 'the body is over 1 MB' });
    const [reception] = (await t.call('GET', `${base}/${source.id}/receptions`)).json().items;
    expect(reception).toMatchObject({ outcome: 'invalid', status: 413 });
  });

  it('counts nothing on a disabled source for a body over 1 MB sent to it: its sender is answered as at no source', async () => {
    const source = await h.create('alertmanager');
    await t.call('PATCH', `${base}/${source.id}`, { enabled: false });
    const alerts = Array.from({ length: 2_000 }, (_, i) =>
      amAlert({ fingerprint: `fp${i}`, annotations: { summary: 'vm down', description: 'x'.repeat(600) } }),
    );
    expect((await h.alertmanager(source, amPayload(alerts))).statusCode).toBe(413);
    expect(await h.stats(source)).toMatchObject({ accepted: 0, rejected: 0, lastError: null });
    expect((await t.call('GET', `${base}/${source.id}/receptions`)).json().items).toEqual([]);
  });

  it('logs an event that the mapping turns into no alert as ignored, not accepted', async () => {
    const source = await h.create('orchestrator-webhook');
    const ping = await h.orchestrator(source, { Type: 'ping', EventId: `ping-${crypto.randomUUID()}`, Timestamp: new Date().toISOString() });
    expect(ping.statusCode, ping.body).toBe(202);
    expect(ping.json().ids).toEqual([]);
    const [reception] = (await t.call('GET', `${base}/${source.id}/receptions`)).json().items;
    expect(reception).toMatchObject({ outcome: 'ignored', status: 202, alertIds: [] });
  });
});

describeEachDialect('purging old delivery keys', (dialect) => {
  it(`deletes every key older than ${DELIVERY_KEY_DAYS} days, batch after batch, and none younger`, async () => {
    const app = await startTestApp(dialect);
    try {
      const h = harness(() => app, 'acme-purge');
      await app.call('POST', '/api/v1/tenants', { name: 'acme-purge' });
      const source = await h.create('webhook');
      for (let i = 0; i < 5; i++) expect((await h.standard(source, { severity: 'Info', component: 'Jobs', message: `m${i}` })).statusCode).toBe(202);
      const db = app.tocsin.deps.storage.db;
      const keys = async () => (await db.selectFrom('source_deliveries').select('delivery_id').where('source_id', '=', source.id).execute()).length;
      expect(await keys()).toBe(5);
      expect(await purgeOldDeliveries(db, Date.now(), 2)).toBe(0);
      // Batches of 2: the third batch holds the last one.
      expect(await purgeOldDeliveries(db, Date.now() + (DELIVERY_KEY_DAYS * 86_400_000 + 60_000), 2)).toBe(5);
      expect(await keys()).toBe(0);
    } finally {
      await app.close().catch(() => undefined);
    }
  });
});

describeEachDialect('the log line of a refused source request', (dialect) => {
  let t: TestApp;
  const h = harness(() => t);
  const { log, text } = captureLog('info');
  beforeAll(async () => {
    t = await startTestApp(dialect, {}, { logger: log });
    await t.call('POST', '/api/v1/tenants', { name: TENANT });
  });
  afterAll(() => t.close());

  it('carries the id of the request it refused, as every line about a request does', async () => {
    // 'source request refused' was written by the process's logger, the one line about that request
    // without its reqId: an operator could not tie it to the request's other lines.
    const source = await h.create('alertmanager');
    expect((await h.alertmanager(source, amPayload([amAlert()]), 'Bearer wrong-secret')).statusCode).toBe(401);
    const refused = text()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((line) => line.msg === 'source request refused');
    expect(refused).toEqual([expect.objectContaining({ sourceId: source.id, reqId: expect.stringMatching(/^[0-9a-f]{32}$/) })]);
  });
});

describeEachDialect('an alert that fires for weeks', (dialect) => {
  it('stays one alert while Alertmanager re-sends it every repeat_interval, past the days delivery keys are kept', async () => {
    const clock = new FakeClock(Date.parse('2026-05-01T10:00:00Z'));
    const app = await startTestApp(dialect, {}, { clock });
    try {
      const h = harness(() => app);
      await app.call('POST', '/api/v1/tenants', { name: TENANT });
      const source = await h.create('alertmanager');
      const notify = async () => {
        const res = await h.alertmanager(source, amPayload([amAlert()]));
        expect(res.statusCode, res.body).toBe(202);
        return res.json().ids as string[];
      };
      const first = await notify();
      // Every 4 hours (Alertmanager's default repeat_interval) for three weeks, the nightly purge between.
      for (let hours = 4; hours <= 21 * 24; hours += 4) {
        clock.advance(4 * 3_600_000);
        if (hours % 24 === 0) await purgeOldDeliveries(app.tocsin.deps.storage.db, clock.now());
        expect(await notify(), `after ${hours} hours`).toEqual(first);
      }
      expect(DELIVERY_KEY_DAYS).toBeLessThan(21);
    } finally {
      await app.close();
    }
  });
});

describeEachDialect('receptions received in the same millisecond', (dialect) => {
  it('lists them newest first past the end of the ring of 20, not by the slot each took in it', async () => {
    // A clock that stands still: every reception has the same receivedAt, as those of one group commit do.
    const clock = new FakeClock(Date.parse('2026-05-01T10:00:00Z'));
    const app = await startTestApp(dialect, {}, { clock });
    try {
      const h = harness(() => app, 'acme-same-ms');
      await app.call('POST', '/api/v1/tenants', { name: 'acme-same-ms' });
      const source = await h.create('alertmanager');
      const ids: string[] = [];
      for (let i = 0; i < 23; i++) {
        const res = await h.alertmanager(source, amPayload([amAlert({ fingerprint: `fp-${i}`, labels: { alertname: `Down${i}` } })]));
        expect(res.statusCode, res.body).toBe(202);
        ids.push(res.json().ids[0]);
      }
      const log = (await app.call('GET', `/api/v1/tenants/acme-same-ms/sources/${source.id}/receptions`)).json().items as { alertIds: string[] }[];
      // The 21st to 23rd took the ring's first slots again; they are still the newest.
      expect(log.map((r) => r.alertIds[0])).toEqual(ids.slice(3).reverse());
    } finally {
      await app.close();
    }
  });
});

describeEachDialect('an Orchestrator event delivered again after its Timestamp is 5 minutes old', (dialect) => {
  it('answers the redelivery (or a folder copy) 202 with the first ids, storing nothing, and still refuses an unknown stale event', async () => {
    const clock = new FakeClock(Date.now());
    const app = await startTestApp(dialect, {}, { clock });
    try {
      const h = harness(() => app, 'acme-redelivered-late');
      await app.call('POST', '/api/v1/tenants', { name: 'acme-redelivered-late' });
      const source = await h.create('orchestrator-webhook');
      const key = crypto.randomUUID();
      const event = { ...jobFaulted('late-1', key), Timestamp: new Date(clock.now()).toISOString() };
      const first = await h.orchestrator(source, event);
      expect(first.statusCode, first.body).toBe(202);
      // Orchestrator retries a delivery it counted as failed (a timeout, a lost answer) with the
      // same body, Timestamp included; a 401 now would open its circuit breaker for minutes.
      clock.advance(6 * 60_000);
      const again = await h.orchestrator(source, event);
      expect(again.statusCode, again.body).toBe(202);
      expect(again.json().ids).toEqual(first.json().ids);
      const copy = await h.orchestrator(source, { ...event, EventId: 'late-2', OrganizationUnitId: 8 });
      expect(copy.statusCode, copy.body).toBe(202);
      expect(copy.json().ids).toEqual(first.json().ids);
      // An event never received, dated as long ago, is still refused.
      expect((await h.orchestrator(source, { ...jobFaulted('late-3'), Timestamp: event.Timestamp })).statusCode).toBe(401);
      const all = await app.call('GET', '/api/v1/tenants/acme-redelivered-late/alerts');
      expect(all.json().items).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});

describeEachDialect('receiving when Tocsin cannot take more', (dialect) => {
  it('answers 503 with Retry-After when the source is over its rate, and when storage is down', async () => {
    const t = await startTestApp(dialect, { TOCSIN_SOURCE_REQUESTS_PER_MINUTE: '2' });
    const h = harness(() => t);
    try {
      await t.call('POST', '/api/v1/tenants', { name: TENANT });
      const source = await h.create('webhook');
      const send = () => h.standard(source, { severity: 'Info', component: 'Jobs', message: 'm' });
      expect((await send()).statusCode).toBe(202);
      expect((await send()).statusCode).toBe(202);
      const over = await send();
      expect(over.statusCode).toBe(503);
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);

      await t.tocsin.deps.storage.close();
      const down = await h.post(source, '{}');
      expect(down.statusCode).toBe(503);
      expect(down.headers['retry-after']).toBeDefined();
    } finally {
      await t.close().catch(() => undefined);
    }
  });
});

describeEachDialect('a source over its rate', (dialect) => {
  it('asks its sender to wait the rest of the minute rounded up to a whole second, never 0', async () => {
    const clock = new FakeClock(Date.now());
    const app = await startTestApp(dialect, { TOCSIN_SOURCE_REQUESTS_PER_MINUTE: '1' }, { clock });
    try {
      const h = harness(() => app, 'acme-over-rate');
      await app.call('POST', '/api/v1/tenants', { name: 'acme-over-rate' });
      const source = await h.create('webhook');
      const send = () => h.standard(source, { severity: 'Info', component: 'Jobs', message: 'm' }, { at: clock.now() });
      expect((await send()).statusCode).toBe(202);
      clock.advance(59_600);
      const over = await send();
      expect(over.statusCode).toBe(503);
      expect(over.headers['retry-after']).toBe('1');
    } finally {
      await app.close().catch(() => undefined);
    }
  });
});

describeEachDialect('receivers under fuzzing', (dialect) => {
  let t: TestApp;
  const h = harness(() => t);
  const RUNS = Number(process.env.TOCSIN_FUZZ_RUNS ?? 40);
  const ORCHESTRATOR_TYPES = [
    ...['job.faulted', 'job.stopped', 'job.completed', 'robot.status', 'queueItem.transactionFailed', 'queueItem.transactionAbandoned'],
    ...['schedule.failed', 'task.assignmentChanged', 'custom', 'ping', 'queueItem.added'],
  ];

  beforeAll(async () => {
    t = await startTestApp(dialect);
    await t.call('POST', '/api/v1/tenants', { name: TENANT });
  });
  afterAll(() => t.close());

  /** Any JSON, or a sender's shape with any field replaced by any JSON value. */
  const shaped = (base: Record<string, unknown>, keys: string[]) =>
    fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.array(fc.tuple(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 })), { maxLength: 4 }).map((changes) => {
        const out: Record<string, unknown> = structuredClone(base);
        for (const [key, value] of changes) out[key] = value;
        return out;
      }),
    );
  const orchestratorBody = fc
    .constantFrom(...ORCHESTRATOR_TYPES)
    .chain((type) =>
      shaped({ ...jobFaulted('f'), Type: type, Sessions: [{ State: 'Disconnected' }], Jobs: [{}], QueueItems: [{}], EventData: {} }, [
        'Type',
        'EventId',
        'Job',
        'Jobs',
        'Sessions',
        'QueueItem',
        'QueueItems',
        'Queue',
        'EventData',
        'Timestamp',
        'OrganizationUnitId',
        'Reason',
        'ProcessSchedule',
      ]),
    );
  const amBody = shaped(amPayload([amAlert()]), ['version', 'alerts', 'status', 'receiver', 'groupKey']).chain((payload) =>
    fc.oneof(
      fc.constant(payload),
      fc
        .array(shaped(amAlert(), ['status', 'labels', 'annotations', 'startsAt', 'endsAt', 'fingerprint']), { maxLength: 3 })
        .map((alerts) => amPayload(alerts as Record<string, unknown>[])),
    ),
  );
  const webhookBody = shaped({ severity: 'Error', component: 'Jobs', message: 'm', data: { a: 1 }, source: { robot: 'r' }, dedupKey: 'k' }, [
    'severity',
    'component',
    'event',
    'message',
    'data',
    'source',
    'folder',
    'dedupKey',
    'occurredAt',
    'alerts',
  ]);

  const expectWellFormed = (res: LightMyRequestResponse, what: string) => {
    expect(res.statusCode < 500 || res.statusCode === 503, `${what}: ${res.statusCode} ${res.body.slice(0, 300)}`).toBe(true);
    if (res.statusCode !== 202) expect(res.headers['content-type'], what).toContain('application/problem+json');
  };

  it(
    'answers every signed body, and every unsigned one, with 202, a 4xx or 503, never another 5xx',
    async () => {
      const orch = await h.create('orchestrator-webhook');
      const am = await h.create('alertmanager');
      const wh = await h.create('webhook');
      await fc.assert(
        fc.asyncProperty(orchestratorBody, async (body) =>
          expectWellFormed(await h.orchestrator(orch, body as Record<string, unknown>), JSON.stringify(body).slice(0, 200)),
        ),
        { numRuns: RUNS },
      );
      await fc.assert(
        fc.asyncProperty(amBody, async (body) => expectWellFormed(await h.alertmanager(am, body), JSON.stringify(body).slice(0, 200))),
        { numRuns: RUNS },
      );
      await fc.assert(
        fc.asyncProperty(webhookBody, async (body) => expectWellFormed(await h.standard(wh, body), JSON.stringify(body).slice(0, 200))),
        { numRuns: RUNS },
      );
      // Raw bytes and headers of any kind, signed or not.
      const raw = fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
        fc.string({ maxLength: 200 }),
      );
      const headers = fc.dictionary(
        fc.constantFrom('x-uipath-signature', 'authorization', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type'),
        fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(orch, am, wh), raw, headers, async (source, payload, extra) => {
          expectWellFormed(await h.post(source, payload, extra), `raw to ${source.id}`);
          const signed = typeof payload === 'string' ? payload : payload.toString('latin1');
          expectWellFormed(await h.post(orch, signed, { 'x-uipath-signature': signOrchestrator(Buffer.from(orch.secret), signed) }), 'signed raw');
        }),
        { numRuns: RUNS },
      );
    },
    Math.max(120_000, RUNS * 3_000),
  );
});
