import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Credentials, MAX_ANSWER_BYTES, UpstreamError, fetchAlertsPage, signIn } from './upstream.js';

/** endless is an upstream whose answers never end (a hostile or broken server): it counts what it managed to send. */
async function endless(status = 200) {
  let sent = 0;
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  const server = http.createServer((req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.write(req.url?.includes('/odata/') ? '{"value": [{"Id": "1", "CreationTime": "2026-03-01T08:00:00Z", "Data": "' : '{"result": "');
    const more = () => {
      while (!res.destroyed && sent < 4 * MAX_ANSWER_BYTES) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end('"}]}');
    };
    res.on('close', () => res.destroy());
    more();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, sent: () => sent, close: () => new Promise((resolve) => server.close(resolve)) };
}

const credentialsAt = (baseUrl: string): Credentials => ({
  baseUrl,
  tenancyName: 'Default',
  username: 'poller',
  password: 'pw',
  clientId: null,
  clientSecret: null,
  identityUrl: null,
  scope: null,
  organizationUnitId: null,
  intervalSeconds: 60,
  since: '2026-01-01T00:00:00Z',
});

describe('upstream answers', () => {
  let upstream: Awaited<ReturnType<typeof endless>> | undefined;
  afterEach(async () => {
    await upstream?.close();
    upstream = undefined;
  });

  it('stops reading an alerts page larger than MAX_ANSWER_BYTES and says so, rather than holding it whole in memory', async () => {
    upstream = await endless();
    const now = Date.now();
    const failure = await fetchAlertsPage(
      credentialsAt(upstream.url),
      { token: 't', expiresAt: now + 60_000 },
      { cursorTime: now, continuing: false, skip: 0 },
      now,
    ).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).message).toBe(`/odata/Alerts answered more than ${MAX_ANSWER_BYTES / (1024 * 1024)} MB`);
    // Read up to the bound, then dropped: not the whole answer (sockets buffer a few MB beyond it).
    expect(upstream.sent()).toBeLessThan(MAX_ANSWER_BYTES + 16 * 1024 * 1024);
  }, 30_000);

  it('stops reading a sign-in answer larger than MAX_ANSWER_BYTES', async () => {
    upstream = await endless();
    const failure = await signIn(credentialsAt(upstream.url), Date.now()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((failure as UpstreamError).message).toBe(`Account/Authenticate answered more than ${MAX_ANSWER_BYTES / (1024 * 1024)} MB`);
    expect(upstream.sent()).toBeLessThan(MAX_ANSWER_BYTES + 16 * 1024 * 1024);
  }, 30_000);
});

/**
 * closingKeptAlive is an upstream that closes a kept-alive connection as the next request reaches
 * it (its idle timeout firing just then: Node's 5 s, IIS's 120 s), or every connection when
 * `always`: it answers only a connection's first request.
 */
async function closingKeptAlive({ always = false } = {}) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const socket = req.socket as typeof req.socket & { served?: boolean };
    const drop = always || socket.served === true;
    requests.push(drop ? 'dropped' : 'answered');
    if (drop) return void socket.destroy();
    socket.served = true;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

describe('connections the upstream closes', () => {
  const page = (url: string) => {
    const now = Date.now();
    return fetchAlertsPage(credentialsAt(url), { token: 't', expiresAt: now + 60_000 }, { cursorTime: now, continuing: false, skip: 0 }, now);
  };

  it('asks again on a fresh connection when the kept-alive one is closed as the request goes out, rather than failing the poll for a whole interval', async () => {
    const upstream = await closingKeptAlive();
    try {
      await page(upstream.url);
      // The connection goes back to the pool once the answer's end has been handled.
      await new Promise((resolve) => setImmediate(resolve));
      await expect(page(upstream.url)).resolves.toMatchObject({ alerts: [], more: false });
      expect(upstream.requests).toEqual(['answered', 'dropped', 'answered']);
    } finally {
      await upstream.close();
    }
  });

  it('asks once more, not again and again, of an upstream that closes every connection, and says what happened', async () => {
    const upstream = await closingKeptAlive({ always: true });
    try {
      const failure = await page(upstream.url).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(UpstreamError);
      expect((failure as UpstreamError).message).toMatch(/^127\.0\.0\.1:\d+: (other side closed|.*ECONNRESET.*|socket hang up)$/);
      expect(upstream.requests).toEqual(['dropped', 'dropped']);
    } finally {
      await upstream.close();
    }
  });
});

describe('an upstream that lists its alerts without applying $filter', () => {
  it('keeps those created at since or after it, the one created exactly at since included (API.md: the import starts there)', async () => {
    const since = Date.parse('2026-01-01T00:00:00Z');
    const row = (id: string, at: number) => ({
      Id: id,
      NotificationName: 'Process.RaiseAlert',
      Component: 'Jobs',
      Severity: 'Info',
      CreationTime: new Date(at).toISOString(),
    });
    const server = http.createServer((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ value: [row('before', since - 1), row('at', since), row('after', since + 1)] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const now = Date.now();
      const page = await fetchAlertsPage(
        credentialsAt(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        { token: 't', expiresAt: now + 60_000 },
        { cursorTime: since, continuing: false, skip: 0 },
        now,
      );
      expect(page.alerts.map((a) => a.Id)).toEqual(['at', 'after']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
