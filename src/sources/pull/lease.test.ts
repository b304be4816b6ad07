import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { expect, it, onTestFinished, vi } from 'vitest';
import { afterUpdates } from '../../../test/support/between-reads.js';
import { type TestApp, startTestApp } from '../../../test/support/http.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { FakeClock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import { type PullConnector, startPullConnector } from './connector.js';
import { LEASE_MS } from './odata.js';

const WAIT = { timeout: 30_000, interval: 50 };

/**
 * A stub Orchestrator with one alert: it counts sign-ins and reads, and holds the first read
 * until `release` (a slow upstream) when asked to.
 */
async function stubUpstream(createdAt: number, { holdFirstRead, revokeFirstToken = false }: { holdFirstRead: boolean; revokeFirstToken?: boolean }) {
  const counts = { signIns: 0, reads: 0 };
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      if (req.method === 'POST') {
        counts.signIns += 1;
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: `token-${counts.signIns}` }));
      }
      counts.reads += 1;
      // A token revoked upstream (or expired early): the first one given is refused.
      if (revokeFirstToken && req.headers.authorization === 'Bearer token-1') return res.writeHead(401).end();
      if (holdFirstRead && counts.reads === 1) await held;
      const alert = {
        Id: 'upstream-1',
        NotificationName: 'Process.JobExecution.Faulted',
        Component: 'Jobs',
        Severity: 'Error',
        CreationTime: new Date(createdAt).toISOString(),
        Data: JSON.stringify({ Message: 'faulted upstream' }),
        DeepLinkRelativeUrl: null,
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: [alert] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    release();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, counts, release };
}

describeEachDialect('orchestrator-pull: the lease on a poll', (dialect) => {
  /** An api-only app (no connector of its own) with a pull source on `origin`, polled hourly. */
  const withSource = async (origin: string, clock: FakeClock): Promise<{ t: TestApp; sourceId: string }> => {
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    onTestFinished(() => t.close());
    await t.call('POST', '/api/v1/tenants', { name: 'leased' });
    const pull = { baseUrl: origin, username: 'poller', password: 'pw', intervalSeconds: 3600, since: new Date(clock.now() - 3_600_000).toISOString() };
    const res = await t.call('POST', '/api/v1/tenants/leased/sources', { name: 'Plant', kind: 'orchestrator-pull', pull });
    expect(res.statusCode, res.body).toBe(201);
    return { t, sourceId: res.json().id };
  };
  const connector = (t: TestApp, db: Db, clock: FakeClock): PullConnector => {
    const started = startPullConnector({
      db,
      secretBox: t.tocsin.deps.secretBox,
      clock,
      logger: pino({ level: 'silent' }),
      floodWindowMs: 600_000,
      tickMs: 3_600_000,
    });
    onTestFinished(() => started.stop());
    return started;
  };
  const stateOf = async (t: TestApp, sourceId: string) => {
    const row = await t.tocsin.deps.storage.db.selectFrom('sources').select('pull_state').where('id', '=', sourceId).executeTakeFirstOrThrow();
    return JSON.parse(row.pull_state!) as { imported: number; nextPollAt: number; failures: number };
  };

  it('lets one of two workers that found the same source due poll it: the other, claiming after it, polls nothing', async () => {
    const clock = new FakeClock(Date.now());
    const upstream = await stubUpstream(clock.now() - 60_000, { holdFirstRead: false });
    const { t, sourceId } = await withSource(upstream.origin, clock);
    const db = t.tocsin.deps.storage.db;
    // Its first poll (no state stored yet), then one due an interval later (a state to compare with).
    for (const round of [1, 2]) {
      let second: PullConnector | undefined;
      // The first worker has read the source as due; before its claim lands, the second claims and polls it.
      const first = connector(
        t,
        afterUpdates(db, 'sources', 0, async () => {
          second = connector(t, db, clock);
          await second.pollDue();
        }),
        clock,
      );
      await vi.waitFor(() => expect(second).toBeDefined(), WAIT);
      await first.pollDue();
      expect(upstream.counts, `round ${round}`).toEqual({ signIns: round, reads: round });
      expect((await stateOf(t, sourceId)).imported).toBe(1);
      clock.advance(3_600_000);
    }
  });

  it('keeps the state written by the worker that took over an expired lease, not the late result of the one that lost it', async () => {
    const clock = new FakeClock(Date.now());
    const upstream = await stubUpstream(clock.now() - 60_000, { holdFirstRead: true });
    const { t, sourceId } = await withSource(upstream.origin, clock);
    const db = t.tocsin.deps.storage.db;
    // The first worker's read hangs past its lease; the second takes the poll over and imports the alert.
    const slow = connector(t, db, clock);
    await vi.waitFor(() => expect(upstream.counts.reads).toBe(1), WAIT);
    clock.advance(LEASE_MS + 1);
    const takeover = connector(t, db, clock);
    await takeover.pollDue();
    expect(await stateOf(t, sourceId)).toMatchObject({ imported: 1 });
    const written = await stateOf(t, sourceId);
    // The slow read then ends: it finds the alert imported, and its result is not written over the other's.
    upstream.release();
    await slow.pollDue();
    expect(await stateOf(t, sourceId)).toEqual(written);
  });

  it('signs in again once when the upstream refuses its token with 401, and imports', async () => {
    const clock = new FakeClock(Date.now());
    const upstream = await stubUpstream(clock.now() - 60_000, { holdFirstRead: false, revokeFirstToken: true });
    const { t, sourceId } = await withSource(upstream.origin, clock);
    await connector(t, t.tocsin.deps.storage.db, clock).pollDue();
    expect(upstream.counts).toEqual({ signIns: 2, reads: 2 });
    expect(await stateOf(t, sourceId)).toMatchObject({ imported: 1, failures: 0 });
  });

  it('drops an upstream token from memory once it expires, though its source is not due again yet', async () => {
    const clock = new FakeClock(Date.now());
    const upstream = await stubUpstream(clock.now() - 60_000, { holdFirstRead: false });
    const { t } = await withSource(upstream.origin, clock);
    const worker = connector(t, t.tocsin.deps.storage.db, clock);
    await worker.pollDue();
    expect(worker.tokensKept()).toBe(1);
    // An Account/Authenticate token is reused for 20 minutes; the source is polled hourly.
    clock.advance(20 * 60_000 + 1);
    await worker.pollDue();
    expect(worker.tokensKept()).toBe(0);
    expect(upstream.counts.signIns).toBe(1);
  });

  it('looks for due sources each tick without building the look again', async () => {
    const clock = new FakeClock(Date.now());
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    onTestFinished(() => t.close());
    const db = t.tocsin.deps.storage.db;
    const worker = connector(t, db, clock);
    await worker.pollDue();
    // Every worker looks every tick, with or without a source: its query is built once, not per look.
    const compiles = vi.spyOn(db.getExecutor(), 'compileQuery');
    onTestFinished(() => compiles.mockRestore());
    await worker.pollDue();
    await worker.pollDue();
    expect(compiles).not.toHaveBeenCalled();
  });
});
